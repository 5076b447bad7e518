import CSQLCipher

/// How a database is keyed. Only ``rawKey`` is used by apps; the others exist so that the
/// benchmarks can measure the same code against plain SQLite and SQLCipher's passphrase KDF.
@_spi(Benchmarks) public enum DatabaseKeying: Sendable {
    /// `x'<64 hex digits>'`: no key derivation on open.
    case rawKey
    /// The key's hex digits as a passphrase: SQLCipher's default PBKDF2 (64,000 iterations).
    case passphraseKDF
    /// No key at all: a plain, unencrypted SQLite file.
    case none
}

/// One SQLCipher connection.
///
/// Not `Sendable`: a connection is used from one serial executor at a time (the store's owner).
/// Prepared statements are cached by their SQL text and finalised when the connection closes.
final class Database {
    /// How hard a commit tries to reach stable storage.
    enum Durability: Sendable {
        /// `synchronous=NORMAL` in WAL mode: a commit survives a process kill.
        case processCrash
        /// `synchronous=FULL`: a commit also survives power loss.
        case powerLoss
    }

    /// The page size of every partition database.
    static let pageSize = 4096

    /// How long a write waits for another connection's lock before it fails as busy.
    static let busyTimeoutMilliseconds: Int32 = 5_000

    private var handle: OpaquePointer?
    private var statements: [String: Statement] = [:]
    /// The file path, for error messages.
    let path: String
    /// Bumped whenever writes made on this connection may have been undone: an explicit
    /// ROLLBACK, or any failed statement (on some errors SQLite rolls the whole transaction
    /// back by itself). In-memory state derived from the database (the inbound content index)
    /// remembers the value it was built at and is rebuilt when it has moved.
    private(set) var rollbackGeneration = 0

    /// Opens `path` and keys it with `key` (raw key: SQLCipher runs no KDF).
    ///
    /// The key is verified before anything is written: an unreadable first page gives
    /// ``StoreError/Code/corruptDatabase``. Because every key the store passes here has been
    /// authenticated when it was unwrapped, a failure at this point means the file, not the key,
    /// is damaged.
    init(path: String, key: SecretBytes, keying: DatabaseKeying = .rawKey, create: Bool) throws(StoreError) {
        self.path = path
        var flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE
        if create { flags |= SQLITE_OPEN_CREATE }
        var db: OpaquePointer?
        let openResult = sqlite3_open_v2(path, &db, flags, nil)
        handle = db
        guard openResult == SQLITE_OK else {
            let error = Database.error(openResult, db, path: path, while: "open")
            close()
            throw error
        }
        sqlite3_extended_result_codes(db, 1)
        // Another connection to the file (another process, a second store) may hold the write
        // lock for a moment: wait for it rather than fail the write at once.
        sqlite3_busy_timeout(db, Database.busyTimeoutMilliseconds)
        do {
            switch keying {
            case .rawKey: try Database.applyRawKey(key, to: db!, path: path)
            case .passphraseKDF: try Database.applyRawKey(key, to: db!, path: path, asPassphrase: true)
            case .none: break
            }
            if keying != .none {
                // 4 KiB pages, like plain SQLite's default: a quarter of the pages to encrypt and
                // authenticate than SQLCipher 3's 1 KiB default. Part of the file format: every
                // open must say it (the sqlcipher tool too: PRAGMA cipher_page_size = 4096).
                try execute("PRAGMA cipher_page_size = \(Database.pageSize)")
            }
            // Reading the schema forces the first page to be decrypted and its HMAC checked.
            try execute("SELECT count(*) FROM sqlite_master")
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// Finalises every statement and closes the connection. Safe to call twice.
    func close() {
        statements.removeAll()  // Statement.deinit finalises.
        if let handle {
            sqlite3_close_v2(handle)
            self.handle = nil
        }
    }

    var isOpen: Bool { handle != nil }

    // MARK: Keying

    /// Passes the key to SQLCipher as `x'<64 hex digits>'`, building the hex text in memory
    /// that is wiped straight after.
    private static func applyRawKey(_ key: SecretBytes, to db: OpaquePointer, path: String, asPassphrase: Bool = false) throws(StoreError) {
        let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
        // `x'…'` is a raw key; the bare hex digits are a passphrase that SQLCipher runs through
        // PBKDF2 (its default, measured by the benchmarks only).
        let prefix = asPassphrase ? 0 : 2
        let length = prefix + key.count * 2 + (asPassphrase ? 0 : 1)
        let text = SecretBytes(count: length) { buffer in
            key.withUnsafeBytes { raw in
                if !asPassphrase {
                    buffer[0] = UInt8(ascii: "x")
                    buffer[1] = UInt8(ascii: "'")
                    buffer[length - 1] = UInt8(ascii: "'")
                }
                for (index, byte) in raw.enumerated() {
                    buffer[prefix + index * 2] = hexDigits[Int(byte >> 4)]
                    buffer[prefix + 1 + index * 2] = hexDigits[Int(byte & 0x0F)]
                }
            }
        }
        let result = text.withUnsafeBytes { sqlite3_key(db, $0.baseAddress, Int32($0.count)) }
        guard result == SQLITE_OK else {
            throw Database.error(result, db, path: path, while: "key")
        }
    }

    // MARK: Statements

    /// A cached prepared statement for `sql`, reset and with its bindings cleared.
    func statement(_ sql: String) throws(StoreError) -> Statement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        let statement = try Statement(database: self, sql: sql)
        statements[sql] = statement
        return statement
    }

    /// Runs one or more statements that return no rows.
    func execute(_ sql: String) throws(StoreError) {
        guard let handle else { throw StoreError(.database, "\(path) is closed") }
        var message: UnsafeMutablePointer<CChar>?
        let result = sqlite3_exec(handle, sql, nil, nil, &message)
        if result != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(result))
            sqlite3_free(message)
            noteRollback()
            throw Database.error(result, handle, path: path, while: "execute", message: text)
        }
    }

    /// Runs `body` in an `IMMEDIATE` transaction, committing when it returns and rolling back
    /// when it throws.
    func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        // Prepared once and cached: a transaction is the unit of every durable write.
        try statement("BEGIN IMMEDIATE").run()
        do {
            let value = try body()
            try statement("COMMIT").run()
            return value
        } catch {
            try? statement("ROLLBACK").run()
            noteRollback()
            throw error
        }
    }

    /// The first column of the first row of `sql`, as an integer.
    func integer(_ sql: String) throws(StoreError) -> Int64 {
        try statement(sql).firstRow { $0.int64(0) } ?? 0
    }

    /// Records that changes may have been undone (see ``rollbackGeneration``).
    func noteRollback() {
        rollbackGeneration &+= 1
    }

    func setDurability(_ durability: Durability) throws(StoreError) {
        switch durability {
        case .processCrash: try execute("PRAGMA synchronous = NORMAL")
        case .powerLoss: try execute("PRAGMA synchronous = FULL")
        }
    }

    var rawHandle: OpaquePointer {
        guard let handle else { preconditionFailure("use of a closed database \(path)") }
        return handle
    }

    var changes: Int { Int(sqlite3_changes(rawHandle)) }
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(rawHandle) }

    // MARK: Errors

    /// Maps an SQLite result code to the store's typed error.
    static func error(
        _ result: Int32, _ db: OpaquePointer?, path: String, while operation: String, message: String? = nil
    ) -> StoreError {
        let text = message ?? db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(result))
        switch result & 0xFF {
        case SQLITE_FULL:
            return .diskFull("\(path): \(text)")
        case SQLITE_NOTADB, SQLITE_CORRUPT:
            return .corruptDatabase(path, sqliteResultCode: result)
        case SQLITE_BUSY, SQLITE_LOCKED:
            return StoreError(.busy, "\(operation) \(path): \(text) (SQLite \(result))", sqliteResultCode: result)
        case SQLITE_IOERR:
            return StoreError(.io, "\(operation) \(path): \(text) (SQLite \(result))", sqliteResultCode: result)
        default:
            return StoreError(.database, "\(operation) \(path): \(text) (SQLite \(result))", sqliteResultCode: result)
        }
    }
}
