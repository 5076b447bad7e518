// The client core's API speaks in the store's and the sync core's value types (`ServerID`,
// `Message`, `OutboxItem`, `ConnectionState`, `UnifiedConversation` …).
@_exported import OutpostStore
@_exported import OutpostSync
