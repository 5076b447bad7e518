// The sync core's events and effects speak in the model's value types (`Timestamp`, `Message`,
// `OutboxItem`, `PersistOperation` …): a caller of `ServerSession` sees them with this module.
@_exported import OutpostModel
