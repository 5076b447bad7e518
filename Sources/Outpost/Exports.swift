// A front end imports `Outpost` alone: the store's and the sync core's value types
// (`ServerID`, `Message`, `OutboxItem`, `ConnectionState` …) are part of this module's API.
@_exported import OutpostStore
@_exported import OutpostSync
