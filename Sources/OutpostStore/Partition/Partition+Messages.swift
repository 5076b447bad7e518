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
        return Array(lhs.messageID.utf8).lexicographicallyPrecedes(Array(rhs.messageID.utf8))
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
            var outcomes: [InboundOutcome] = []
            outcomes.reserveCapacity(messages.count)
            var activity: [String: ConversationActivity] = [:]
            for message in messages {
                let hash = Sodium.blake2b(message.payload)
                // The id is remembered first: a repeated push of it is caught here, and a
                // content duplicate below is remembered under its own id too.
                try db.statement("""
                    INSERT OR IGNORE INTO inbound_dedup (message_id, conversation_id, sender_id, payload_hash, seen_at_us)
                    VALUES (?, ?, ?, ?, ?)
                    """).bind(.text(message.messageID), .text(message.conversationID), .text(message.senderID),
                              .blob(hash), .integer(now.microseconds)).run()
                guard db.changes > 0 else {
                    outcomes.append(.duplicateMessageID)
                    continue
                }
                let sameContent = try db.statement("""
                    SELECT 1 FROM inbound_dedup
                    WHERE conversation_id = ? AND sender_id = ? AND payload_hash = ? AND message_id != ? LIMIT 1
                    """).bind(.text(message.conversationID), .text(message.senderID), .blob(hash), .text(message.messageID))
                if try sameContent.firstRow({ _ in true }) != nil {
                    outcomes.append(.duplicateContent)
                    continue
                }
                try db.statement("""
                    INSERT OR IGNORE INTO messages (message_id, conversation_id, sender_id, server_timestamp_us, sequence,
                                                    message_type, payload, payload_hash, client_message_id, received_at_us)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """).bind(.text(message.messageID), .text(message.conversationID), .text(message.senderID),
                              .integer(message.serverTimestamp.microseconds), .optional(message.sequence.map { Int64(bitPattern: $0) }),
                              .text(message.messageType), .blob(message.payload), .blob(hash),
                              .optional(message.clientMessageID), .integer(now.microseconds)).run()
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
        try db.statement("""
            UPDATE conversations SET last_activity_us = ?, last_message_id = ?, unread_count = unread_count + ?
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
            return partition.messages.changes
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
