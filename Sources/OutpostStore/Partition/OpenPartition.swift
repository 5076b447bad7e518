import OutpostSchemas

/// The open databases of one partition. Only the ``PartitionPool`` holds these; everything
/// else goes through a ``Partition`` handle, so eviction can close them at any time.
final class OpenPartition {
    let id: ServerID
    let messages: Database
    private var mlsDatabase: Database?
    private let openMLS: () throws(StoreError) -> Database
    /// The user id this client has on the server, cached from `server_metadata`.
    var ownUserID: String?
    /// Inside ``Partition/inOneTransaction(_:)``: writes join the open transaction.
    var isInBatch = false
    /// The content keys of `inbound_dedup`, built (or taken back from the store) on first
    /// ingest; see ``InboundContentIndex``.
    var inboundContentIndex: InboundContentIndex?

    init(id: ServerID, messages: Database, openMLS: @escaping () throws(StoreError) -> Database) {
        self.id = id
        self.messages = messages
        self.openMLS = openMLS
    }

    /// `mls_state.db`, opened on first use: most partitions never need it in a session.
    func mls() throws(StoreError) -> Database {
        if let mlsDatabase { return mlsDatabase }
        let database = try openMLS()
        mlsDatabase = database
        return database
    }

    /// Closes both databases, and hands back the inbound content index when it still matches
    /// the table, for the store to keep until the partition is opened again.
    func close() -> InboundContentIndex? {
        let index = inboundContentIndex.flatMap { $0.isCurrent(for: messages) ? $0 : nil }
        inboundContentIndex = nil
        messages.close()
        mlsDatabase?.close()
        mlsDatabase = nil
        return index
    }

    /// Opens (and, when `create`, creates) a partition database with the store's settings.
    static func openDatabase(
        path: String, key: SecretBytes, kind: SchemaCatalog.DatabaseKind, create: Bool,
        durability: Database.Durability, keying: DatabaseKeying
    ) throws(StoreError) -> Database {
        if create { try FileSystem.createPrivateFile(path) }
        else if !FileSystem.fileExists(path) { throw .corruptFile(path, "the database file is missing") }
        let database = try Database(path: path, key: key, keying: keying, create: create)
        let version = try SchemaMigrator.checkVersion(database, kind)
        // Temporary tables and sorts stay in memory: SQLCipher does not encrypt temp files.
        try database.execute("PRAGMA temp_store = MEMORY")
        try database.execute("PRAGMA journal_mode = WAL")
        try database.setDurability(durability)
        try SchemaMigrator.migrate(database, kind, from: version)
        return database
    }
}
