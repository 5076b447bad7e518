// A front end imports `Outpost` alone: the client core's, the store's and the sync core's value
// types (`ServerID`, `Message`, `OutboxItem`, `ConnectionState`, `OutpostEvent` …) are part of
// this module's API.
@_exported import OutpostClientCore
@_exported import OutpostStore
@_exported import OutpostSync
