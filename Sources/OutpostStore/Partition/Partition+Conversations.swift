/// A conversation as the unified list shows it.
public struct ConversationSummary: Hashable, Sendable {
    public var conversationID: String
    public var title: String?
    public var kind: Kind
    /// The newest message's position; the unified list sorts on it.
    public var lastActivity: MessagePosition
    public var unreadCount: Int
    /// `false` once this user left or was removed.
    public var isMember: Bool

    public enum Kind: String, Hashable, Sendable {
        case direct
        case group
    }
}

extension Partition {
    private static let summaryColumns = """
        conversation_id, title, kind, last_activity_us, last_message_id, unread_count, is_member
        """

    /// This partition's conversations, most recent activity first (ties: by id).
    public func conversations(limit: Int = .max) throws(StoreError) -> [ConversationSummary] {
        try read { partition throws(StoreError) in
            try partition.messages.statement("""
                SELECT \(Self.summaryColumns) FROM conversations
                ORDER BY last_activity_us DESC, last_message_id DESC, conversation_id LIMIT ?
                """).bind(.integer(Int64(min(limit, Int(Int64.max))))).rows(Self.summary)
        }
    }

    /// ``conversations(limit:)`` for the unified list's cache: read and cached while the
    /// partition's lock is held, so that no write can slip between the read and the caching.
    func conversationsForCache(limit: Int) throws(StoreError) -> [ConversationSummary] {
        try read { _ throws(StoreError) in
            let list = try conversations(limit: limit)
            store.cacheSummaries(id, depth: limit, list)
            return list
        }
    }

    /// One conversation's summary.
    public func conversation(_ conversationID: String) throws(StoreError) -> ConversationSummary? {
        try read { partition throws(StoreError) in
            let statement = try partition.messages.statement(
                "SELECT \(Self.summaryColumns) FROM conversations WHERE conversation_id = ?").bind(.text(conversationID))
            return try statement.firstRow(Self.summary)
        }
    }

    /// Marks a conversation read.
    ///
    /// Unread counts arrivals, not positions: a message from someone else that arrives after the
    /// last `markRead` is unread wherever its server stamped it (a server whose clock stepped
    /// back stamps new messages behind the read marker; they must still be counted).
    /// - `position == nil`: everything that has arrived is read.
    /// - `position` past the read marker: the marker moves there, and the messages positioned
    ///   after it are what stays unread. A position at or behind the marker changes nothing.
    public func markRead(_ conversationID: String, upTo position: MessagePosition? = nil, now: Timestamp) throws(StoreError) {
        try write("markRead", changesConversations: true) { partition throws(StoreError) in
            let db = partition.messages
            let marker = try db.statement("""
                SELECT read_up_to_us, read_up_to_id FROM conversations WHERE conversation_id = ?
                """).bind(.text(conversationID)).firstRow { row in
                MessagePosition(timestamp: Timestamp(microseconds: row.int64(0)), messageID: row.text(1))
            }
            guard let marker else { return }
            guard let position else {
                let newest = try db.statement("""
                    SELECT server_timestamp_us, message_id FROM messages WHERE conversation_id = ?
                    ORDER BY server_timestamp_us DESC, message_id DESC LIMIT 1
                    """).bind(.text(conversationID)).firstRow { row in
                    MessagePosition(timestamp: Timestamp(microseconds: row.int64(0)), messageID: row.text(1))
                }
                let target = max(marker, newest ?? marker)
                try db.statement("""
                    UPDATE conversations SET read_up_to_us = ?, read_up_to_id = ?, unread_count = 0 WHERE conversation_id = ?
                    """).bind(.integer(target.timestamp.microseconds), .text(target.messageID), .text(conversationID)).run()
                return
            }
            guard position > marker else { return }
            let ts = position.timestamp.microseconds
            try db.statement("""
                UPDATE conversations SET read_up_to_us = ?, read_up_to_id = ?, unread_count = (
                    SELECT count(*) FROM messages m
                    WHERE m.conversation_id = ? AND m.sender_id != ?
                      AND (m.server_timestamp_us > ? OR (m.server_timestamp_us = ? AND m.message_id > ?)))
                WHERE conversation_id = ?
                """).bind(.integer(ts), .text(position.messageID), .text(conversationID), .text(partition.ownUserID ?? ""),
                          .integer(ts), .integer(ts), .text(position.messageID), .text(conversationID)).run()
        }
    }

    /// Records a group this user is in (`GROUP_CREATED`), with its members.
    public func recordGroup(
        _ conversationID: String, title: String, members: [ConversationMember], now: Timestamp
    ) throws(StoreError) {
        try write("recordGroup", changesConversations: true) { partition throws(StoreError) in
            let db = partition.messages
            try db.statement("INSERT OR IGNORE INTO conversations (conversation_id, created_at_us) VALUES (?, ?)")
                .bind(.text(conversationID), .integer(now.microseconds)).run()
            try db.statement("UPDATE conversations SET title = ?, kind = 'group', is_member = 1 WHERE conversation_id = ?")
                .bind(.text(title), .text(conversationID)).run()
            try db.statement("DELETE FROM conversation_members WHERE conversation_id = ?").bind(.text(conversationID)).run()
            for member in members {
                try Self.insertMember(member, conversationID, db)
            }
        }
    }

    /// A member joined a group (`GROUP_MEMBER_ADDED`).
    public func recordMemberAdded(_ conversationID: String, member: ConversationMember, now: Timestamp) throws(StoreError) {
        try write("memberAdded", changesConversations: true) { partition throws(StoreError) in
            let db = partition.messages
            try db.statement("INSERT OR IGNORE INTO conversations (conversation_id, kind, created_at_us) VALUES (?, 'group', ?)")
                .bind(.text(conversationID), .integer(now.microseconds)).run()
            try Self.insertMember(member, conversationID, db)
            if member.userID == partition.ownUserID {
                try db.statement("UPDATE conversations SET is_member = 1 WHERE conversation_id = ?").bind(.text(conversationID)).run()
            }
        }
    }

    /// A member left or was removed (`GROUP_MEMBER_REMOVED`). When it is this user, the
    /// conversation stays (with its history) but is marked as no longer joined.
    public func recordMemberRemoved(_ conversationID: String, userID: String, now: Timestamp) throws(StoreError) {
        try write("memberRemoved", changesConversations: true) { partition throws(StoreError) in
            let db = partition.messages
            try db.statement("DELETE FROM conversation_members WHERE conversation_id = ? AND user_id = ?")
                .bind(.text(conversationID), .text(userID)).run()
            if userID == partition.ownUserID {
                try db.statement("UPDATE conversations SET is_member = 0 WHERE conversation_id = ?").bind(.text(conversationID)).run()
            }
        }
    }

    /// This user can no longer post in `conversationID` (the server said not-a-member).
    public func markNotMember(_ conversationID: String, now: Timestamp) throws(StoreError) {
        try write("markNotMember", changesConversations: true) { partition throws(StoreError) in
            try partition.messages.statement("UPDATE conversations SET is_member = 0 WHERE conversation_id = ?")
                .bind(.text(conversationID)).run()
        }
    }

    /// The members of a group conversation, by user id.
    public func members(of conversationID: String) throws(StoreError) -> [ConversationMember] {
        try read { partition throws(StoreError) in
            try partition.messages.statement("""
                SELECT user_id, username, display_name, role FROM conversation_members WHERE conversation_id = ? ORDER BY user_id
                """).bind(.text(conversationID)).rows { row in
                ConversationMember(userID: row.text(0), username: row.text(1), displayName: row.text(2), role: row.text(3))
            }
        }
    }

    private static func insertMember(_ member: ConversationMember, _ conversationID: String, _ db: Database) throws(StoreError) {
        try db.statement("""
            INSERT OR REPLACE INTO conversation_members (conversation_id, user_id, username, display_name, role)
            VALUES (?, ?, ?, ?, ?)
            """).bind(.text(conversationID), .text(member.userID), .text(member.username), .text(member.displayName),
                      .text(member.role)).run()
    }

    private static func summary(_ row: Statement) -> ConversationSummary {
        ConversationSummary(
            conversationID: row.text(0), title: row.optionalText(1),
            kind: ConversationSummary.Kind(rawValue: row.text(2)) ?? .direct,
            lastActivity: MessagePosition(timestamp: Timestamp(microseconds: row.int64(3)), messageID: row.text(4)),
            unreadCount: Int(row.int64(5)), isMember: row.int64(6) != 0)
    }
}
