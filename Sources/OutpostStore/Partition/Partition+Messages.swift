import CSodium

extension Partition {
    /// Stores inbound messages in one transaction, deduplicating each, and updates the
    /// conversation summaries. Acknowledge a message to the server only after this returns.
    public func storeInbound(_ messages: [Message], now: Timestamp) throws(StoreError) -> [InboundOutcome] {
        guard !messages.isEmpty else { return [] }
        return try write("storeInbound", changesConversations: true) { partition throws(StoreError) in
            let db = partition.messages
            let contentIndex = try InboundContentIndex.current(for: partition, cached: store.takeCachedContentIndex(id),
                                                               whenBuilt: store.noteContentIndexBuilt)
            // Looked up once per batch, not once per message: the statement cache is keyed by
            // the SQL text, and hashing it for every message showed in the profile. Every
            // parameter is bound again before each run.
            let rememberID = try db.statement("""
                INSERT OR IGNORE INTO inbound_dedup (message_id, conversation_id, sender_id, payload_hash, seen_at_us)
                VALUES (?, ?, ?, ?, ?)
                """)
            let insertMessage = try db.statement("""
                INSERT OR IGNORE INTO messages (message_id, conversation_id, sender_id, server_timestamp_us, sequence,
                                                message_type, payload, payload_hash, client_message_id, received_at_us)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            var outcomes: [InboundOutcome] = []
            outcomes.reserveCapacity(messages.count)
            var activity: [String: ConversationActivity] = [:]
            var recordsAdded = false
            for message in messages {
                let hash = Sodium.blake2b(message.payload)
                // The id is remembered first: a repeated push of it is caught here, and a
                // content duplicate below is remembered under its own id too.
                rememberID.resetForRebinding()
                rememberID.bind(text: message.messageID, at: 1)
                rememberID.bind(text: message.conversationID, at: 2)
                rememberID.bind(text: message.senderID, at: 3)
                rememberID.bind(blob: hash, at: 4)
                rememberID.bind(integer: now.microseconds, at: 5)
                try rememberID.run()
                guard db.changes > 0 else {
                    outcomes.append(.duplicateMessageID)
                    continue
                }
                recordsAdded = true
                // The record just written has a new id, so a record already holding its content
                // key has the same conversation, sender and ciphertext under another id.
                guard contentIndex.insert(conversationID: message.conversationID, senderID: message.senderID,
                                          payloadHash: hash) else {
                    outcomes.append(.duplicateContent)
                    continue
                }
                insertMessage.resetForRebinding()
                insertMessage.bind(text: message.messageID, at: 1)
                insertMessage.bind(text: message.conversationID, at: 2)
                insertMessage.bind(text: message.senderID, at: 3)
                insertMessage.bind(integer: message.serverTimestamp.microseconds, at: 4)
                insertMessage.bind(optionalInteger: message.sequence.map { Int64(bitPattern: $0) }, at: 5)
                insertMessage.bind(text: message.messageType, at: 6)
                insertMessage.bind(blob: message.payload, at: 7)
                insertMessage.bind(blob: hash, at: 8)
                insertMessage.bind(optionalText: message.clientMessageID, at: 9)
                insertMessage.bind(integer: now.microseconds, at: 10)
                try insertMessage.run()
                // A message pruned from the dedup records but still stored is a duplicate by id.
                guard db.changes > 0 else {
                    outcomes.append(.duplicateMessageID)
                    continue
                }
                activity[message.conversationID, default: ConversationActivity()].add(message, ownUserID: partition.ownUserID)
                outcomes.append(.stored)
            }
            // The records changed: a copy of the index kept across a reopen must know it.
            if recordsAdded { try contentIndex.recordedChange(in: db) }
            // One update per conversation, not per message; in a fixed order.
            for conversationID in activity.keys.sorted() {
                try Self.recordActivity(activity[conversationID]!, in: conversationID, partition: partition, now: now)
            }
            return outcomes
        }
    }

    /// What a batch of new messages does to one conversation's summary.
    private struct ConversationActivity {
        var newest = MessagePosition.beginning
        /// New messages from others: each one is unread.
        var fromOthers = 0

        mutating func add(_ message: Message, ownUserID: String?) {
            newest = max(newest, message.position)
            if message.senderID != ownUserID { fromOthers += 1 }
        }
    }

    /// Moves the conversation's last activity forward and counts as unread every new message
    /// from others: unread is what arrived since the last ``markRead(_:upTo:now:)``, wherever
    /// its server's clock placed it.
    private static func recordActivity(
        _ activity: ConversationActivity, in conversationID: String, partition: OpenPartition, now: Timestamp
    ) throws(StoreError) {
        let db = partition.messages
        try db.statement("INSERT OR IGNORE INTO conversations (conversation_id, created_at_us) VALUES (?, ?)")
            .bind(.text(conversationID), .integer(now.microseconds)).run()
        let current = try db.statement("""
            SELECT last_activity_us, last_message_id FROM conversations WHERE conversation_id = ?
            """).bind(.text(conversationID)).firstRow { row in
            MessagePosition(timestamp: Timestamp(microseconds: row.int64(0)), messageID: row.text(1))
        }
        guard let current else { return }
        let newest = max(current, activity.newest)
        let unread = activity.fromOthers
        // OR IGNORE keeps SQLite from opening a statement journal for this UPDATE (a plain
        // UPDATE may abort halfway, so SQLite saves each page it touches first, and SQLCipher
        // encrypts every saved page: two per conversation per batch in the profile). Nothing
        // here can fail a constraint: every value is non-NULL and no CHECKed column changes.
        try db.statement("""
            UPDATE OR IGNORE conversations SET last_activity_us = ?, last_message_id = ?, unread_count = unread_count + ?
            WHERE conversation_id = ?
            """).bind(.integer(newest.timestamp.microseconds), .text(newest.messageID), .integer(Int64(unread)),
                      .text(conversationID)).run()
    }

    /// Messages of one conversation in display order, newest last, paging backwards:
    /// up to `limit` messages strictly before `before` (or the newest when `nil`).
    public func messages(in conversationID: String, before: MessagePosition? = nil, limit: Int = 50) throws(StoreError) -> [Message] {
        let bound = before ?? MessagePosition(timestamp: Timestamp(microseconds: .max), messageID: "")
        return try read { partition throws(StoreError) in
            let rows = try partition.messages.statement("""
                SELECT \(Self.messageColumns) FROM messages
                WHERE conversation_id = ? AND (server_timestamp_us < ? OR (server_timestamp_us = ? AND message_id < ?))
                ORDER BY server_timestamp_us DESC, message_id DESC LIMIT ?
                """).bind(.text(conversationID), .integer(bound.timestamp.microseconds), .integer(bound.timestamp.microseconds),
                          .text(before == nil ? "\u{10FFFF}" : bound.messageID), .integer(Int64(limit))).rows(Self.message)
            return rows.reversed()
        }
    }

    /// Messages of one conversation strictly after `after`, oldest first.
    public func messages(in conversationID: String, after: MessagePosition, limit: Int = 50) throws(StoreError) -> [Message] {
        try read { partition throws(StoreError) in
            try partition.messages.statement("""
                SELECT \(Self.messageColumns) FROM messages
                WHERE conversation_id = ? AND (server_timestamp_us > ? OR (server_timestamp_us = ? AND message_id > ?))
                ORDER BY server_timestamp_us, message_id LIMIT ?
                """).bind(.text(conversationID), .integer(after.timestamp.microseconds), .integer(after.timestamp.microseconds),
                          .text(after.messageID), .integer(Int64(limit))).rows(Self.message)
        }
    }

    /// One message by id.
    public func message(_ messageID: String) throws(StoreError) -> Message? {
        try read { partition throws(StoreError) in
            let statement = try partition.messages.statement("SELECT \(Self.messageColumns) FROM messages WHERE message_id = ?")
                .bind(.text(messageID))
            return try statement.firstRow(Self.message)
        }
    }

    /// How many messages the partition holds.
    public func messageCount() throws(StoreError) -> Int {
        try read { partition throws(StoreError) in Int(try partition.messages.integer("SELECT count(*) FROM messages")) }
    }

    /// How long deduplication records are kept: as long as a session token lives (30 days,
    /// PROTOCOL.md §3), which is longer than any server keeps redelivering what it delivered
    /// (a legacy server's duplicate of a retried send arrives when its sender reconnects; a
    /// history server's pending push comes back at the next login). After that a message's own
    /// row still rejects its id; only a content duplicate under a new id would pass.
    public static let dedupRetentionSeconds: Int64 = 30 * 24 * 3600

    /// Deletes deduplication records older than `cutoff` and returns how many went. Stored
    /// messages still reject a repeated `message_id` after their record is pruned.
    @discardableResult
    public func pruneDedupRecords(olderThan cutoff: Timestamp) throws(StoreError) -> Int {
        try write("pruneDedup") { partition throws(StoreError) in
            try partition.messages.statement("DELETE FROM inbound_dedup WHERE seen_at_us < ?")
                .bind(.integer(cutoff.microseconds)).run()
            let pruned = partition.messages.changes
            if pruned > 0 {
                // A pruned record may have been the last one holding its content key.
                partition.inboundContentIndex = nil
                try InboundContentIndex.bumpVersion(in: partition.messages)
            }
            return pruned
        }
    }

    /// How many deduplication records the partition holds.
    public func dedupRecordCount() throws(StoreError) -> Int {
        try read { partition throws(StoreError) in Int(try partition.messages.integer("SELECT count(*) FROM inbound_dedup")) }
    }

    private static let messageColumns = """
        message_id, conversation_id, sender_id, server_timestamp_us, sequence, message_type, payload, client_message_id
        """

    private static func message(_ row: Statement) -> Message {
        Message(messageID: row.text(0), conversationID: row.text(1), senderID: row.text(2),
                serverTimestamp: Timestamp(microseconds: row.int64(3)),
                sequence: row.optionalInt64(4).map { UInt64(bitPattern: $0) }, messageType: row.text(5),
                payload: row.blob(6), clientMessageID: row.optionalText(7))
    }
}

/// Identifies what a content duplicate shares: (conversation, sender, ciphertext hash), as the
/// first 128 bits of a BLAKE2b of the three. A false match between different contents needs
/// about 2^64 records in one partition.
struct InboundContentKey: Hashable {
    var high: UInt64 = 0
    var low: UInt64 = 0
}

/// The content keys of every `inbound_dedup` record of one partition, in memory.
///
/// Content deduplication looks up (conversation, sender, payload hash): a hash, so an on-disk
/// index of it takes each new record into a random leaf, and a batch of 500 dirtied about as
/// many pages, each encrypted again at commit (migration 0002 drops that index). The table's
/// own columns stay the durable truth: this set is built from them on a partition's first
/// ingest, is dropped when records are pruned, and is rebuilt when the connection has rolled
/// anything back since it was built (so that it never holds a key whose record was undone) or
/// another connection has written the file. When the pool closes the partition the set is kept
/// by the store (``ContentIndexCache``) with the table's version (`dedup_version` in
/// `server_metadata`, moved by every change to the records in the same transaction), and taken
/// back on the next ingest if the version still matches: a reopened partition is not scanned.
/// It must be used inside the write transaction that adds the records.
final class InboundContentIndex {
    private var keys: Set<InboundContentKey> = []
    /// ``Database/rollbackGeneration`` when the set matched the table.
    private var generation: Int
    /// `PRAGMA data_version` when the set matched the table.
    private var dataVersion: Int64
    /// `dedup_version` when the set matched the table.
    private(set) var version: Int64

    private init(generation: Int, dataVersion: Int64, version: Int64) {
        self.generation = generation
        self.dataVersion = dataVersion
        self.version = version
    }

    var keyCount: Int { keys.count }

    static let versionKey = "dedup_version"

    static func storedVersion(in database: Database) throws(StoreError) -> Int64 {
        try Partition.readMetadata(versionKey, in: database).flatMap { Int64(String(decoding: $0, as: UTF8.self)) } ?? 0
    }

    /// Moves `dedup_version` on: any copy of the set made before is stale.
    static func bumpVersion(in database: Database) throws(StoreError) {
        try Partition.writeMetadata(versionKey, Array(String(try storedVersion(in: database) + 1).utf8), into: database)
    }

    /// Records in the database, inside the transaction that added records, that the table
    /// changed, and keeps this set in step with it.
    func recordedChange(in database: Database) throws(StoreError) {
        version += 1
        try Partition.writeMetadata(Self.versionKey, Array(String(version).utf8), into: database)
    }

    /// Whether the set still matches its connection's table (nothing rolled back since).
    func isCurrent(for database: Database) -> Bool {
        generation == database.rollbackGeneration
    }

    /// The partition's index: the one it has, or `cached` (kept by the store when the partition
    /// was last closed) when the table has not changed since, or one built from `inbound_dedup`.
    static func current(
        for partition: OpenPartition, cached: InboundContentIndex?, whenBuilt: () -> Void
    ) throws(StoreError) -> InboundContentIndex {
        let database = partition.messages
        // Moves when another connection (a second store on the same directory, another
        // process) has committed to the file since this connection last looked.
        let dataVersion = try database.integer("PRAGMA data_version")
        if let index = partition.inboundContentIndex, index.generation == database.rollbackGeneration,
           index.dataVersion == dataVersion {
            return index
        }
        partition.inboundContentIndex = nil
        let version = try storedVersion(in: database)
        if let cached, cached.version == version {
            cached.generation = database.rollbackGeneration
            cached.dataVersion = dataVersion
            partition.inboundContentIndex = cached
            return cached
        }
        whenBuilt()
        let index = InboundContentIndex(generation: database.rollbackGeneration, dataVersion: dataVersion, version: version)
        index.keys.reserveCapacity(Int(try database.integer("SELECT count(*) FROM inbound_dedup")))
        let records = try database.statement("SELECT conversation_id, sender_id, payload_hash FROM inbound_dedup")
        while try records.step() {
            // Hashed straight from SQLite's buffers: no strings or arrays per record.
            index.keys.insert(index.key(conversationID: records.bytes(0), senderID: records.bytes(1),
                                        payloadHash: records.bytes(2)))
        }
        partition.inboundContentIndex = index
        return index
    }

    /// Adds the content key of a record just written; `false` when a record already had it.
    func insert(conversationID: String, senderID: String, payloadHash: [UInt8]) -> Bool {
        // Text is bound NUL-terminated, so an id with an embedded NUL is stored (and read back
        // when the index is rebuilt) up to that NUL: the key is taken over the same bytes.
        keys.insert(key(conversationID: conversationID.utf8.prefix { $0 != 0 }, senderID: senderID.utf8.prefix { $0 != 0 },
                        payloadHash: payloadHash)).inserted
    }

    /// Reused for every key: building a fresh array per message showed in the profile.
    private var keyInput: [UInt8] = []

    private func key(
        conversationID: some Collection<UInt8>, senderID: some Collection<UInt8>, payloadHash: some Collection<UInt8>
    ) -> InboundContentKey {
        keyInput.removeAll(keepingCapacity: true)
        // Each id is length-prefixed so that ("ab", "c") and ("a", "bc") differ.
        appendLengthPrefixed(conversationID)
        appendLengthPrefixed(senderID)
        keyInput.append(contentsOf: payloadHash)
        var key = InboundContentKey()
        withUnsafeMutableBytes(of: &key) { digest in
            keyInput.withUnsafeBytes { input in
                _ = crypto_generichash(digest.baseAddress!.assumingMemoryBound(to: UInt8.self), digest.count,
                                       input.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(input.count), nil, 0)
            }
        }
        return key
    }

    private func appendLengthPrefixed(_ field: some Collection<UInt8>) {
        withUnsafeBytes(of: UInt64(field.count).littleEndian) { keyInput.append(contentsOf: $0) }
        keyInput.append(contentsOf: field)
    }
}
