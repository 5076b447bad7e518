import CSodium

/// A position in a server's message stream. Display and sync order is
/// (`server_timestamp`, `message_id`): timestamps repeat and can step backwards, so the
/// message id (a byte-wise compared string, a ULID on real servers) breaks ties.
public struct MessagePosition: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var timestamp: Timestamp
    public var messageID: String

    public init(timestamp: Timestamp, messageID: String) {
        self.timestamp = timestamp
        self.messageID = messageID
    }

    /// Before every message: the empty cursor `(0, "")`.
    public static let beginning = MessagePosition(timestamp: .zero, messageID: "")

    public static func < (lhs: MessagePosition, rhs: MessagePosition) -> Bool {
        if lhs.timestamp != rhs.timestamp { return lhs.timestamp < rhs.timestamp }
        // Byte-wise on the UTF-8 views directly: no copies (ingest compares once per message).
        return lhs.messageID.utf8.lexicographicallyPrecedes(rhs.messageID.utf8)
    }

    public var description: String { "(\(timestamp.microseconds), \(messageID))" }
}

/// A message as the server stored it. The payload is the ciphertext: the data layer never
/// decrypts it.
public struct Message: Hashable, Sendable {
    public var messageID: String
    public var conversationID: String
    public var senderID: String
    public var serverTimestamp: Timestamp
    /// The per-user sequence number, from servers with the `sequence` extension.
    public var sequence: UInt64?
    public var messageType: String
    public var payload: [UInt8]
    /// Present on this client's own messages, from servers with `idempotent-send`.
    public var clientMessageID: String?

    public init(messageID: String, conversationID: String, senderID: String, serverTimestamp: Timestamp,
                sequence: UInt64? = nil, messageType: String = "text", payload: [UInt8], clientMessageID: String? = nil) {
        self.messageID = messageID
        self.conversationID = conversationID
        self.senderID = senderID
        self.serverTimestamp = serverTimestamp
        self.sequence = sequence
        self.messageType = messageType
        self.payload = payload
        self.clientMessageID = clientMessageID
    }

    public var position: MessagePosition { MessagePosition(timestamp: serverTimestamp, messageID: messageID) }
}

/// What happened to one inbound message.
public enum InboundOutcome: Hashable, Sendable {
    /// New: committed to the partition.
    case stored
    /// Seen before under the same `message_id`.
    case duplicateMessageID
    /// A different `message_id` with the same conversation, sender and ciphertext: a legacy
    /// server that stored one retried send twice.
    case duplicateContent
}

extension Partition {
    /// Stores inbound messages in one transaction, deduplicating each, and updates the
    /// conversation summaries. Acknowledge a message to the server only after this returns.
    public func storeInbound(_ messages: [Message], now: Timestamp) throws(StoreError) -> [InboundOutcome] {
        guard !messages.isEmpty else { return [] }
        return try write("storeInbound", changesConversations: true) { partition throws(StoreError) in
            let db = partition.messages
            let contentIndex = try InboundContentIndex.current(for: partition)
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
        /// Positions of messages from others, which may count as unread.
        var fromOthers: [MessagePosition] = []

        mutating func add(_ message: Message, ownUserID: String?) {
            newest = max(newest, message.position)
            if message.senderID != ownUserID { fromOthers.append(message.position) }
        }
    }

    /// Moves the conversation's last activity forward and counts as unread the messages from
    /// others that are newer than the read marker.
    private static func recordActivity(
        _ activity: ConversationActivity, in conversationID: String, partition: OpenPartition, now: Timestamp
    ) throws(StoreError) {
        let db = partition.messages
        try db.statement("INSERT OR IGNORE INTO conversations (conversation_id, created_at_us) VALUES (?, ?)")
            .bind(.text(conversationID), .integer(now.microseconds)).run()
        let current = try db.statement("""
            SELECT last_activity_us, last_message_id, read_up_to_us, read_up_to_id FROM conversations WHERE conversation_id = ?
            """).bind(.text(conversationID)).firstRow { row in
            (last: MessagePosition(timestamp: Timestamp(microseconds: row.int64(0)), messageID: row.text(1)),
             read: MessagePosition(timestamp: Timestamp(microseconds: row.int64(2)), messageID: row.text(3)))
        }
        guard let current else { return }
        let newest = max(current.last, activity.newest)
        let unread = activity.fromOthers.filter { $0 > current.read }.count
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

    /// Deletes deduplication records older than `cutoff` and returns how many went. Stored
    /// messages still reject a repeated `message_id` after their record is pruned.
    @discardableResult
    public func pruneDedupRecords(olderThan cutoff: Timestamp) throws(StoreError) -> Int {
        try write("pruneDedup") { partition throws(StoreError) in
            try partition.messages.statement("DELETE FROM inbound_dedup WHERE seen_at_us < ?")
                .bind(.integer(cutoff.microseconds)).run()
            let pruned = partition.messages.changes
            // A pruned record may have been the last one holding its content key.
            if pruned > 0 { partition.inboundContentIndex = nil }
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
/// ingest, goes when the pool closes the partition, is dropped when records are pruned, and
/// is rebuilt when the connection has rolled anything back since it was built (so that it
/// never holds a key whose record was undone) or another connection has written the file.
/// It must be used inside the write transaction that adds the records.
final class InboundContentIndex {
    private var keys: Set<InboundContentKey> = []
    /// ``Database/rollbackGeneration`` when the set matched the table.
    private let generation: Int
    /// `PRAGMA data_version` when the set matched the table.
    private let dataVersion: Int64

    private init(generation: Int, dataVersion: Int64) {
        self.generation = generation
        self.dataVersion = dataVersion
    }

    /// The partition's index, built (or rebuilt) from `inbound_dedup` when it is missing or stale.
    static func current(for partition: OpenPartition) throws(StoreError) -> InboundContentIndex {
        let database = partition.messages
        // Moves when another connection (a second store on the same directory, another
        // process) has committed to the file since this connection last looked.
        let dataVersion = try database.integer("PRAGMA data_version")
        if let index = partition.inboundContentIndex, index.generation == database.rollbackGeneration,
           index.dataVersion == dataVersion {
            return index
        }
        partition.inboundContentIndex = nil
        let index = InboundContentIndex(generation: database.rollbackGeneration, dataVersion: dataVersion)
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
