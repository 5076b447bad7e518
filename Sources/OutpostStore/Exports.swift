// The store reads and writes the model's value types (`Message`, `OutboxItem`, `SyncCursor` …).
@_exported import OutpostModel
