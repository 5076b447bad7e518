/// The encrypted data directory: one partition per server, the key hierarchy and the server list.
///
/// Safe to use from several threads: each partition's work is serialised by that partition's
/// own lock (one server's catch-up never waits for another server's send), and the server list,
/// the pool and the caches by the store's lock, held only for bookkeeping. Every method that
/// records a time takes it as an argument.
///
/// ```swift
/// let store = try Store.open(at: path, keyProvider: keyFile)
/// let family = try store.addServer(ServerOrigin(parsing: "family.example"), now: now)
/// try family.setSessionToken(token, now: now)
/// let item = try family.enqueue(conversationID: "c1", messageType: "text", payload: ciphertext,
///                               clientMessageID: id, now: now)
/// ```
///
/// Keys: the master key (from a ``KeyProvider``) seals a random directory key; subkeys of the
/// directory key seal the server list, name the partition directories (keyed BLAKE2b) and wrap
/// each database's own random key. SQLCipher receives the raw database key, so opening runs no
/// PBKDF2, and every key is wiped from memory when released.
public final class Store: @unchecked Sendable {
    /// Settings of an open store.
    public struct Options: Sendable {
        /// How many partitions may be open at once.
        public var partitionPoolCapacity: Int
        /// `.processCrash` (default) survives an app kill; `.powerLoss` also survives power loss.
        public var durability: Durability
        /// How long a queued message may wait before it expires instead of being sent.
        public var defaultOutboxLifespanSeconds: Int64
        /// How databases are keyed; anything but the raw key is for benchmarks only.
        @_spi(Benchmarks) public var keying: DatabaseKeying = .rawKey

        public init(partitionPoolCapacity: Int = 32, durability: Durability = .processCrash,
                    defaultOutboxLifespanSeconds: Int64 = 7 * 24 * 3600) {
            self.partitionPoolCapacity = partitionPoolCapacity
            self.durability = durability
            self.defaultOutboxLifespanSeconds = defaultOutboxLifespanSeconds
        }
    }

    /// How hard a commit tries to reach stable storage.
    public enum Durability: Sendable {
        /// WAL with `synchronous=NORMAL`: a committed write survives a process kill.
        case processCrash
        /// `synchronous=FULL`: a committed write also survives power loss.
        case powerLoss
    }

    let layout: DirectoryLayout
    public let options: Options
    private let directoryKey: SecretBytes
    private let registryKey: SecretBytes
    private let namingKey: SecretBytes
    let wrappingKey: SecretBytes

    /// Guards everything below it. Never held while waiting for a partition's own lock.
    let lock = StoreLock()
    private var registry: ServerRegistry
    var pool: PartitionPool
    private var crashed: StoreError?
    private var injector: StorageFaultInjector?
    /// The unified conversation list's per-server cache.
    var summaries = ConversationSummaryCache()
    /// Content indexes of closed partitions, until they are opened again.
    private var contentIndexes = ContentIndexCache(capacityInKeys: 1_000_000)
    /// Transactions committed (or attempted) in partitions, for tests and benchmarks.
    private var transactions = 0
    /// Content indexes built by scanning `inbound_dedup`, for tests.
    private var contentIndexScans = 0

    /// Called before every durable write; see ``StorageFaultInjector``.
    public var faultInjector: StorageFaultInjector? {
        get { lock.withLock { injector } }
        set { lock.withLock { injector = newValue } }
    }

    /// How many partition write transactions have begun since the store was opened.
    public var transactionCount: Int { lock.withLock { transactions } }

    /// Whether a simulated crash (``StorageFaultInjector``) has killed this store.
    public var hasCrashed: Bool { lock.withLock { crashed?.code == .simulatedCrash } }

    // MARK: Opening

    /// Opens the data directory at `path`, creating it if it does not exist.
    ///
    /// Unfinished removals are completed and unfinished additions rolled back before this
    /// returns. A wrong master key, a damaged file or a newer format is a typed error and
    /// leaves every file as it was.
    public static func open(
        at path: String, keyProvider: some KeyProvider, options: Options = Options()
    ) throws(StoreError) -> Store {
        try open(at: path, keyProvider: keyProvider, options: options, setupFaults: nil)
    }

    /// ``open(at:keyProvider:options:)`` with `setupFaults` deciding each step of a first-run
    /// setup, so that tests can kill the process between them.
    static func open(
        at path: String, keyProvider: some KeyProvider, options: Options, setupFaults: StorageFaultInjector?
    ) throws(StoreError) -> Store {
        let layout = DirectoryLayout(root: path)
        let masterKey = try keyProvider.masterKey()
        let directoryKey: SecretBytes
        if FileSystem.fileExists(layout.header) {
            directoryKey = try DirectoryHeader.read(from: layout.header).openDirectoryKey(masterKey: masterKey)
            if !FileSystem.fileExists(layout.registry) {
                try finishSetUp(layout, directoryKey: directoryKey, faults: setupFaults)
            }
        } else {
            directoryKey = try setUp(layout, masterKey: masterKey, faults: setupFaults)
        }
        let store = try Store(layout: layout, directoryKey: directoryKey, options: options)
        try store.recoverInterruptedChanges()
        return store
    }

    /// First run: the header first (the file that makes a directory a data directory, and the
    /// only one that holds the directory key), then ``finishSetUp(_:directoryKey:faults:)``.
    /// A setup killed after any step opens: before the header it starts over, after it it is
    /// finished.
    private static func setUp(_ layout: DirectoryLayout, masterKey: SecretBytes,
                              faults: StorageFaultInjector?) throws(StoreError) -> SecretBytes {
        // Never initialise over an existing data directory. Without a header no server can
        // have been added, so partitions mean the header was lost, not a setup interrupted.
        if !FileSystem.contents(of: layout.servers).isEmpty {
            throw .corruptFile(layout.header, "the header is missing but the directory holds partitions")
        }
        try setUpStep(.setup(.createDirectory), faults)
        try FileSystem.createDirectory(layout.root)
        let directoryKey = SecretBytes.random(count: Sodium.keyBytes)
        try setUpStep(.header, faults)
        try DirectoryHeader.create(directoryKey: directoryKey, masterKey: masterKey).write(to: layout.header)
        // A server list left by a setup interrupted before its header (as written before the
        // header came first) is sealed under a key nobody has, and lists nothing: replace it.
        try finishSetUp(layout, directoryKey: directoryKey, faults: faults)
        return directoryKey
    }

    /// The rest of a setup once the header is written: the partition directory and an empty
    /// server list.
    private static func finishSetUp(_ layout: DirectoryLayout, directoryKey: SecretBytes,
                                    faults: StorageFaultInjector?) throws(StoreError) {
        if !FileSystem.contents(of: layout.servers).isEmpty {
            throw .corruptFile(layout.registry, "the server list is missing but the directory holds partitions")
        }
        try setUpStep(.setup(.createServersDirectory), faults)
        try FileSystem.createDirectory(layout.servers)
        try setUpStep(.registry, faults)
        try ServerRegistry().write(to: layout.registry, key: Sodium.deriveSubkey(.registrySealing, from: directoryKey))
    }

    private static func setUpStep(_ write: StorageWrite, _ faults: StorageFaultInjector?) throws(StoreError) {
        switch faults?.decide(write) {
        case .crash: throw .simulatedCrash(write)
        case .fail(let error): throw error
        case nil: return
        }
    }

    private init(layout: DirectoryLayout, directoryKey: SecretBytes, options: Options) throws(StoreError) {
        self.layout = layout
        self.options = options
        self.directoryKey = directoryKey
        registryKey = Sodium.deriveSubkey(.registrySealing, from: directoryKey)
        namingKey = Sodium.deriveSubkey(.partitionNaming, from: directoryKey)
        wrappingKey = Sodium.deriveSubkey(.databaseKeyWrapping, from: directoryKey)
        registry = try ServerRegistry.read(from: layout.registry, key: registryKey)
        pool = PartitionPool(capacity: options.partitionPoolCapacity)
    }

    deinit {
        for slot in pool.removeAll() { slot.close() }
    }

    /// Closes every open database. The store can no longer be used.
    public func close() {
        let slots = lock.withLock {
            if crashed == nil { crashed = StoreError(.database, "the store is closed") }
            return pool.removeAll()
        }
        for slot in slots { slot.close() }
    }

    /// The root of the data directory.
    public var path: String { layout.root }

    // MARK: Servers

    /// The servers in this data directory, sorted by origin.
    public func servers() -> [ServerRecord] {
        lock.withLock { registry }.entries
            .filter { $0.state == .active }
            .map { ServerRecord(id: $0.id, origin: $0.origin, addedAt: $0.addedAt) }
            .sorted { $0.origin < $1.origin }
    }

    /// The id `origin` has (or would have) in this data directory.
    public func serverID(for origin: ServerOrigin) -> ServerID {
        ServerID(hex: Sodium.blake2b(Array(origin.value.utf8), key: namingKey).map { byte in
            String(byte, radix: 16).leftPadded(to: 2)
        }.joined())
    }

    /// Creates the partition of a new server and returns its handle.
    public func addServer(_ origin: ServerOrigin, now: Timestamp) throws(StoreError) -> Partition {
        try addServers([ServerSetup(origin: origin)], now: now)[0]
    }

    /// Creates the partition of a new server with its configuration and credentials, and
    /// returns its handle. All or nothing: until the server is listed its partition holds
    /// everything `setup` gives, and a failure or a crash at any step leaves no trace of it.
    public func addServer(_ setup: ServerSetup, now: Timestamp) throws(StoreError) -> Partition {
        try addServers([setup], now: now)[0]
    }

    /// Creates the partitions of several new servers, writing the server list twice in all
    /// (not twice per server), and returns their handles in the same order.
    public func addServers(_ origins: [ServerOrigin], now: Timestamp) throws(StoreError) -> [Partition] {
        try addServers(origins.map { ServerSetup(origin: $0) }, now: now)
    }

    /// Creates the partitions of several new servers, each with what its setup gives, writing
    /// the server list twice in all. All or nothing, as ``addServer(_:now:)-(ServerSetup,_)``.
    public func addServers(_ setups: [ServerSetup], now: Timestamp) throws(StoreError) -> [Partition] {
        try checkAlive()
        let origins = setups.map(\.origin)
        let ids = origins.map(serverID(for:))
        guard Set(ids).count == ids.count else { throw .invalidServerURL("\(origins)", "the same server twice") }
        for (id, origin) in zip(ids, origins) {
            if let existing = lock.withLock({ registry.entry(id) }) {
                // A removal, or a failed addition whose rollback failed too: finish it first.
                guard existing.state != .active else { throw .serverAlreadyAdded(origin) }
                try finishRemoval(id)
            }
        }
        // 1. Record the intent, so a crash before step 3 is rolled back on the next open.
        let entries = zip(ids, origins).map { ServerRegistry.Entry(id: $0, origin: $1, state: .adding, addedAt: now) }
        try saveRegistry { registry in entries.forEach { registry.upsert($0) } }
        do {
            // 2. Each partition: directory, wrapped keys, both databases, the setup inside.
            for (id, setup) in zip(ids, setups) {
                try FileSystem.createDirectory(layout.partition(id))
                try willWrite(.partitionKeys(id))
                let keys = PartitionKeys.generate(for: id, wrappingKey: wrappingKey)
                try keys.write(to: layout.keys(id))
                try willWrite(.transaction(id, operation: "createDatabases"))
                for file in DatabaseFile.allCases {
                    let key = try keys.unwrap(file, for: id, wrappingKey: wrappingKey, path: layout.keys(id))
                    let database = try OpenPartition.openDatabase(
                        path: layout.database(id, file), key: key, kind: file.schemaKind, create: true,
                        durability: options.durability.database, keying: options.keying)
                    defer { database.close() }
                    if file == .messages { try Partition.writeSetup(setup, into: database, now: now) }
                }
            }
            // 3. Publish them.
            try saveRegistry { registry in
                for var entry in entries {
                    entry.state = .active
                    registry.upsert(entry)
                }
            }
        } catch where error.code != .simulatedCrash {
            // A failed addition (not a killed process) is rolled back now, not at the next open.
            for id in ids { try? finishRemoval(id) }
            throw error
        }
        return zip(ids, origins).map { Partition(store: self, id: $0, origin: $1) }
    }

    /// The handle of server `id`. Credentials and data of a server are reachable only through it.
    public func partition(for id: ServerID) throws(StoreError) -> Partition {
        let entry = try lock.withLock { () throws(StoreError) in
            try checkAliveLocked()
            return registry.entry(id)
        }
        guard let entry, entry.state == .active else { throw .serverNotFound(id) }
        return Partition(store: self, id: id, origin: entry.origin)
    }

    /// Removes server `id`: closes its databases, destroys its wrapped keys, deletes every file
    /// of its partition and drops it from the server list.
    ///
    /// Crash-safe: once the first step is durable the server is never listed or opened again,
    /// and an interrupted removal is completed on the next ``open(at:keyProvider:options:)``.
    public func removeServer(_ id: ServerID) throws(StoreError) {
        try checkAlive()
        guard var entry = lock.withLock({ registry.entry(id) }) else { throw .serverNotFound(id) }
        // A removal that failed half way (a full disk) is finished when asked again.
        if entry.state == .removing { return try finishRemoval(id) }
        try willWrite(.removal(id, .markRemoving))
        entry.state = .removing
        try saveRegistry(write: .removal(id, .markRemoving)) { $0.upsert(entry) }
        try finishRemoval(id)
    }

    /// Starts a master-key rotation: the directory key is also sealed under the master key of
    /// `newKeyProvider`, and from now on either key opens the directory. One small file is
    /// rewritten atomically; no database is re-encrypted.
    ///
    /// The old key keeps working until ``confirmMasterKeyRotation()``: save the new key where
    /// the app keeps it (the Keychain, a key file), then confirm. An app killed in between
    /// still opens with the old key, and can rotate again. Rotating again before confirming
    /// replaces the new key; the confirmed one stays.
    public func rotateMasterKey(to newKeyProvider: some KeyProvider) throws(StoreError) {
        try checkAlive()
        let newMasterKey = try newKeyProvider.masterKey()
        var header = try DirectoryHeader.read(from: layout.header)
        header.pendingDirectoryKey = DirectoryHeader.seal(directoryKey, under: newMasterKey)
        try willWrite(.header)
        try header.write(to: layout.header)
    }

    /// Finishes a master-key rotation: only the new key opens the directory from now on. Call
    /// it once the new key is saved. Does nothing when no rotation is waiting.
    public func confirmMasterKeyRotation() throws(StoreError) {
        try checkAlive()
        let header = try DirectoryHeader.read(from: layout.header)
        guard let pending = header.pendingDirectoryKey else { return }
        try willWrite(.header)
        try DirectoryHeader(format: DirectoryHeader.currentFormat, directoryKey: pending).write(to: layout.header)
    }

    /// Whether a master-key rotation waits for ``confirmMasterKeyRotation()``.
    public var isMasterKeyRotationPending: Bool {
        get throws(StoreError) { try DirectoryHeader.read(from: layout.header).pendingDirectoryKey != nil }
    }

    /// How many partitions are open now.
    public var openPartitionCount: Int { lock.withLock { pool.openCount } }

    /// The most partitions that were ever open at once.
    public var peakOpenPartitionCount: Int { lock.withLock { pool.peakOpenCount } }

    // MARK: Internals

    func checkAlive() throws(StoreError) {
        try lock.withLock { () throws(StoreError) in try checkAliveLocked() }
    }

    private func checkAliveLocked() throws(StoreError) {
        if let crashed { throw crashed }
    }

    /// Consults the fault injector; after a simulated crash every call fails.
    func willWrite(_ write: StorageWrite) throws(StoreError) {
        let outcome: (error: StoreError, closing: [PartitionSlot])? = try lock.withLock { () throws(StoreError) in
            try checkAliveLocked()
            if case .transaction = write { transactions += 1 }
            guard let decision = injector?.decide(write) else { return nil }
            switch decision {
            case .crash:
                let error = StoreError.simulatedCrash(write)
                crashed = error
                return (error, pool.removeAll())
            case .fail(let error):
                return (error, [])
            }
        }
        guard let outcome else { return }
        for slot in outcome.closing { slot.close() }
        throw outcome.error
    }

    private func saveRegistry(write: StorageWrite = .registry, _ change: (inout ServerRegistry) -> Void) throws(StoreError) {
        if case .registry = write { try willWrite(.registry) }
        try lock.withLock { () throws(StoreError) in
            var updated = registry
            change(&updated)
            try updated.write(to: layout.registry, key: registryKey)
            registry = updated
        }
    }

    /// Runs `body` with the open databases of `id`, opening them if needed, while no other
    /// thread uses them. Calls nest on one thread (a transaction around other operations).
    func withOpenPartition<T>(_ id: ServerID, _ body: (OpenPartition) throws(StoreError) -> T) throws(StoreError) -> T {
        let (slot, evicted) = try lock.withLock { () throws(StoreError) in
            try checkAliveLocked()
            guard let entry = registry.entry(id), entry.state == .active else { throw StoreError.serverNotFound(id) }
            return pool.lease(id)
        }
        if let evicted, let index = evicted.close() {
            lock.withLock { contentIndexes.keep(index, for: evicted.id) }
        }
        defer { lock.withLock { pool.release(slot) } }
        return try slot.withDatabases(opener: { () throws(StoreError) in try openDatabases(id) }, body)
    }

    /// How many times a partition's content index was built by scanning its records.
    var contentIndexBuilds: Int { lock.withLock { contentIndexScans } }

    func noteContentIndexBuilt() {
        lock.withLock { contentIndexScans += 1 }
    }

    /// Closes every open partition (they reopen on next use), as eviction would.
    func closeAllPartitions() {
        for slot in lock.withLock({ pool.removeAll() }) {
            if let index = slot.close() { lock.withLock { contentIndexes.keep(index, for: slot.id) } }
        }
    }

    /// The content index `id` had when the pool last closed it, if the store still keeps it.
    func takeCachedContentIndex(_ id: ServerID) -> InboundContentIndex? {
        lock.withLock { contentIndexes.take(id) }
    }

    private func openDatabases(_ id: ServerID) throws(StoreError) -> OpenPartition {
        let keysPath = layout.keys(id)
        let keys = try PartitionKeys.read(from: keysPath)
        let messagesKey = try keys.unwrap(.messages, for: id, wrappingKey: wrappingKey, path: keysPath)
        let messages = try OpenPartition.openDatabase(
            path: layout.database(id, .messages), key: messagesKey, kind: .messages, create: false,
            durability: options.durability.database, keying: options.keying)
        let partition = OpenPartition(id: id, messages: messages) { [layout, wrappingKey, options] () throws(StoreError) in
            let mlsKey = try keys.unwrap(.mlsState, for: id, wrappingKey: wrappingKey, path: keysPath)
            return try OpenPartition.openDatabase(
                path: layout.database(id, .mlsState), key: mlsKey, kind: .mls, create: false,
                durability: options.durability.database, keying: options.keying)
        }
        partition.ownUserID = try Partition.readMetadata(ServerMetadataKey.userID, in: messages).map { String(decoding: $0, as: UTF8.self) }
        return partition
    }

    /// Steps after ``RemovalStep/markRemoving``; each is idempotent so it can be re-run.
    private func finishRemoval(_ id: ServerID) throws(StoreError) {
        let slot = lock.withLock {
            summaries.drop(id)
            _ = contentIndexes.take(id)
            return pool.remove(id)
        }
        slot?.close()
        let directory = layout.partition(id)
        try willWrite(.removal(id, .destroyKeys))
        try FileSystem.removeFile(layout.keys(id))
        FileSystem.syncDirectory(containing: layout.keys(id))
        for name in FileSystem.contents(of: directory) {
            try willWrite(.removal(id, .deleteFile(name)))
            try FileSystem.removeFile(directory + "/" + name)
        }
        try willWrite(.removal(id, .removeDirectory))
        try FileSystem.removeDirectory(directory)
        FileSystem.syncDirectory(containing: directory)
        try willWrite(.removal(id, .dropFromRegistry))
        try saveRegistry(write: .removal(id, .dropFromRegistry)) { $0.remove(id) }
    }

    /// Completes removals and rolls back additions that a dead process left half done.
    private func recoverInterruptedChanges() throws(StoreError) {
        for entry in lock.withLock({ registry }).entries where entry.state != .active {
            // Both end the same way: the partition's files go and the entry is dropped. An
            // unfinished addition never returned to its caller, so it holds no user data.
            try finishRemoval(entry.id)
        }
    }
}

/// What a new server's partition starts with (``Store/addServer(_:now:)-(ServerSetup,_)``).
public struct ServerSetup: Hashable, Sendable {
    public var origin: ServerOrigin
    /// The server's configuration from discovery.
    public var config: ServerConfig?
    public var sessionToken: String?
    /// The user's id on the server, when known.
    public var ownUserID: String?
    public var passkeyCredentialID: [UInt8]?

    public init(origin: ServerOrigin, config: ServerConfig? = nil, sessionToken: String? = nil, ownUserID: String? = nil,
                passkeyCredentialID: [UInt8]? = nil) {
        self.origin = origin
        self.config = config
        self.sessionToken = sessionToken
        self.ownUserID = ownUserID
        self.passkeyCredentialID = passkeyCredentialID
    }
}

/// A server in the data directory, as ``Store/servers()`` lists it. Holds no credentials.
public struct ServerRecord: Hashable, Sendable {
    public let id: ServerID
    public let origin: ServerOrigin
    public let addedAt: Timestamp
}

extension Store.Durability {
    var database: Database.Durability {
        switch self {
        case .processCrash: .processCrash
        case .powerLoss: .powerLoss
        }
    }
}

extension DatabaseFile {
    var schemaKind: SchemaCatalog.DatabaseKind {
        switch self {
        case .messages: .messages
        case .mlsState: .mls
        }
    }
}

extension String {
    func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}

import OutpostSchemas
