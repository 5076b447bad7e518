import CSQLCipher

/// A prepared statement, finalised in `deinit`.
final class Statement {
    private let handle: OpaquePointer
    private unowned let database: Database

    init(database: Database, sql: String) throws(StoreError) {
        var statement: OpaquePointer?
        let result = sqlite3_prepare_v2(database.rawHandle, sql, -1, &statement, nil)
        guard result == SQLITE_OK, let statement else {
            throw Database.error(result, database.rawHandle, path: database.path, while: "prepare")
        }
        self.handle = statement
        self.database = database
    }

    deinit { sqlite3_finalize(handle) }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Resets without clearing the bindings, for a hot loop that binds every parameter again
    /// before each run (clearing them showed in the ingest profile).
    func resetForRebinding() {
        sqlite3_reset(handle)
    }

    // MARK: Binding (1-based, like SQLite)

    @discardableResult
    func bind(_ values: SQLValue...) -> Statement {
        for (offset, value) in values.enumerated() {
            bind(value, at: Int32(offset + 1))
        }
        return self
    }

    // Typed binds for hot loops: no `SQLValue` array to build and release per row.

    func bind(text: String, at index: Int32) {
        sqlite3_bind_text(handle, index, text, -1, outpost_sqlite_transient())
    }

    func bind(optionalText text: String?, at index: Int32) {
        if let text { bind(text: text, at: index) } else { sqlite3_bind_null(handle, index) }
    }

    func bind(integer: Int64, at index: Int32) {
        sqlite3_bind_int64(handle, index, integer)
    }

    func bind(optionalInteger integer: Int64?, at index: Int32) {
        if let integer { bind(integer: integer, at: index) } else { sqlite3_bind_null(handle, index) }
    }

    func bind(blob bytes: [UInt8], at index: Int32) {
        bytes.withUnsafeBytes { buffer in
            // A zero-length blob must still be a blob, not NULL.
            _ = sqlite3_bind_blob(handle, index, buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1),
                                  Int32(buffer.count), outpost_sqlite_transient())
        }
    }

    func bind(_ value: SQLValue, at index: Int32) {
        switch value {
        case .null:
            sqlite3_bind_null(handle, index)
        case .integer(let integer):
            bind(integer: integer, at: index)
        case .text(let text):
            bind(text: text, at: index)
        case .blob(let bytes):
            bind(blob: bytes, at: index)
        }
    }

    // MARK: Stepping

    /// Advances to the next row; `false` when done.
    func step() throws(StoreError) -> Bool {
        let result = sqlite3_step(handle)
        switch result {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = Database.error(result, database.rawHandle, path: database.path, while: "step")
            sqlite3_reset(handle)
            database.noteRollback()
            throw error
        }
    }

    /// Steps to completion, for statements that return no rows.
    func run() throws(StoreError) {
        while try step() {}
    }

    /// The first row through `row`, or `nil`; the statement is reset afterwards so that it
    /// holds no read transaction open.
    func firstRow<T>(_ row: (Statement) throws(StoreError) -> T) throws(StoreError) -> T? {
        defer { sqlite3_reset(handle) }
        return try step() ? try row(self) : nil
    }

    /// Collects every row through `row`.
    func rows<T>(_ row: (Statement) throws(StoreError) -> T) throws(StoreError) -> [T] {
        var result: [T] = []
        while try step() { result.append(try row(self)) }
        return result
    }

    // MARK: Columns (0-based, like SQLite)

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }

    func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(handle, column) else { return "" }
        return String(cString: pointer)
    }

    func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }

    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer = sqlite3_column_blob(handle, column) else { return [] }
        return [UInt8](UnsafeRawBufferPointer(start: pointer, count: count))
    }

    func optionalBlob(_ column: Int32) -> [UInt8]? { isNull(column) ? nil : blob(column) }

    /// The column's bytes (text as UTF-8) without copying them, valid until the next step or
    /// reset: for scans that only hash what they read.
    func bytes(_ column: Int32) -> UnsafeRawBufferPointer {
        // Asking for the blob first and the size second is SQLite's documented safe order.
        let pointer = sqlite3_column_blob(handle, column)
        let count = Int(sqlite3_column_bytes(handle, column))
        guard let pointer, count > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: pointer, count: count)
    }
}

/// A value bound to a statement parameter.
enum SQLValue {
    case null
    case integer(Int64)
    case text(String)
    case blob([UInt8])

    static func optional(_ text: String?) -> SQLValue { text.map(SQLValue.text) ?? .null }
    static func optional(_ integer: Int64?) -> SQLValue { integer.map(SQLValue.integer) ?? .null }
    static func optional(_ bytes: [UInt8]?) -> SQLValue { bytes.map(SQLValue.blob) ?? .null }
}
