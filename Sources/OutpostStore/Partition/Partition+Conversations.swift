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

/// A member of a group conversation (from `GROUP_CREATED` and later membership frames).
public struct ConversationMember: Hashable, Sendable {
    public var userID: String
    public var username: String
    public var displayName: String
    public var role: String

    public init(userID: String, username: String = "", displayName: String = "", role: String = "member") {
        self.userID = userID
        self.username = username
        self.displayName = displayName
        self.role = role
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

    /// One conversation's summary.
    public func conversation(_ conversationID: String) throws(StoreError) -> ConversationSummary? {
        try read { partition throws(StoreError) in
            let statement = try partition.messages.statement(
                "SELECT \(Self.summaryColumns) FROM conversations WHERE conversation_id = ?").bind(.text(conversationID))
            return try statement.firstRow(Self.summary)
        }
    }

    /// Marks everything up to `position` (the newest message when `nil`) as read and recounts
    /// the unread messages after it.
    public func markRead(_ conversationID: String, upTo position: MessagePosition? = nil, now: Timestamp) throws(StoreError) {
        try write("markRead", changesConversations: true) { partition throws(StoreError) in
            let db = partition.messages
            let target: MessagePosition
            if let position {
                target = position
            } else {
                let newest = try db.statement("""
                    SELECT server_timestamp_us, message_id FROM messages WHERE conversation_id = ?
                    ORDER BY server_timestamp_us DESC, message_id DESC LIMIT 1
                    """).bind(.text(conversationID))
                guard let position = try newest.firstRow({ row in
                    MessagePosition(timestamp: Timestamp(microseconds: row.int64(0)), messageID: row.text(1))
                }) else { return }
                target = position
            }
            let ts = target.timestamp.microseconds
            // The read marker only moves forward.
            try db.statement("""
                UPDATE conversations SET read_up_to_us = ?, read_up_to_id = ?
                WHERE conversation_id = ? AND (read_up_to_us < ? OR (read_up_to_us = ? AND read_up_to_id < ?))
                """).bind(.integer(ts), .text(target.messageID), .text(conversationID), .integer(ts), .integer(ts),
                          .text(target.messageID)).run()
            try db.statement("""
                UPDATE conversations SET unread_count = (
                    SELECT count(*) FROM messages m
                    WHERE m.conversation_id = conversations.conversation_id AND m.sender_id != ?
                      AND (m.server_timestamp_us > conversations.read_up_to_us
                           OR (m.server_timestamp_us = conversations.read_up_to_us AND m.message_id > conversations.read_up_to_id)))
                WHERE conversation_id = ?
                """).bind(.text(partition.ownUserID ?? ""), .text(conversationID)).run()
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
