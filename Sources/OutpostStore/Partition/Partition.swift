/// The handle of one server's partition: the only way to reach that server's data and
/// credentials.
///
/// A handle is cheap and can be kept: its databases are opened lazily through the store's
/// bounded pool and may be closed by eviction between calls. After the server is removed every
/// call fails with ``StoreError/Code/serverNotFound``.
public struct Partition: Sendable {
    let store: Store
    /// The server's id (the keyed hash of its origin).
    public let id: ServerID
    /// The server's canonical origin.
    public let origin: ServerOrigin

    init(store: Store, id: ServerID, origin: ServerOrigin) {
        self.store = store
        self.id = id
        self.origin = origin
    }

    // MARK: Access

    /// Runs `body` in a write transaction of `messages.db`, after giving the fault injector its
    /// chance to fail the write or kill the process.
    func write<T>(
        _ operation: String, changesConversations: Bool = false,
        _ body: (OpenPartition) throws(StoreError) -> T
    ) throws(StoreError) -> T {
        try store.withOpenPartition(id) { partition throws(StoreError) in
            if changesConversations { store.conversationsChanged(id) }
            if partition.isInBatch { return try body(partition) }
            try store.willWrite(.transaction(id, operation: operation))
            return try partition.messages.transaction { () throws(StoreError) in try body(partition) }
        }
    }

    /// Runs `body`, and every write it makes to `messages.db`, in one transaction: all of them
    /// are committed together or none is. No other thread uses the partition meanwhile.
    public func inOneTransaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try store.withOpenPartition(id) { partition throws(StoreError) in
            guard !partition.isInBatch else { return try body() }
            try store.willWrite(.transaction(id, operation: "batch"))
            partition.isInBatch = true
            defer { partition.isInBatch = false }
            return try partition.messages.transaction { () throws(StoreError) in try body() }
        }
    }

    /// Runs `body` against `messages.db` without a write transaction.
    func read<T>(_ body: (OpenPartition) throws(StoreError) -> T) throws(StoreError) -> T {
        try store.withOpenPartition(id, body)
    }

    /// Runs `body` in a write transaction of `mls_state.db`.
    func writeMLS<T>(_ operation: String, _ body: (Database) throws(StoreError) -> T) throws(StoreError) -> T {
        try store.withOpenPartition(id) { partition throws(StoreError) in
            let database = try partition.mls()
            try store.willWrite(.transaction(id, operation: operation))
            return try database.transaction { () throws(StoreError) in try body(database) }
        }
    }

    func readMLS<T>(_ body: (Database) throws(StoreError) -> T) throws(StoreError) -> T {
        try store.withOpenPartition(id) { partition throws(StoreError) in try body(partition.mls()) }
    }

    // MARK: Metadata

    static func readMetadata(_ key: String, in database: Database) throws(StoreError) -> [UInt8]? {
        let statement = try database.statement("SELECT value FROM server_metadata WHERE key = ?").bind(.text(key))
        return try statement.firstRow { $0.blob(0) }
    }

    /// The user id this client has on the server (from `AUTH_SUCCESS`), once known.
    public func ownUserID() throws(StoreError) -> String? {
        try read { $0.ownUserID }
    }

    /// Records the user id this client has on the server.
    public func setOwnUserID(_ userID: String, now: Timestamp) throws(StoreError) {
        try write("setOwnUserID") { partition throws(StoreError) in
            try Self.writeMetadata(ServerMetadataKey.userID, Array(userID.utf8), into: partition.messages)
            partition.ownUserID = userID
        }
    }

    static func writeMetadata(_ key: String, _ value: [UInt8], into database: Database) throws(StoreError) {
        try database.statement("INSERT OR REPLACE INTO server_metadata (key, value) VALUES (?, ?)")
            .bind(.text(key), .blob(value)).run()
    }
}

enum ServerMetadataKey {
    static let userID = "user_id"
}
