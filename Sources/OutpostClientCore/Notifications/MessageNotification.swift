import Foundation

/// New messages from other people on one server, grouped by conversation: what a push or local
/// notification needs (RFC-0006 "Notification handling": the server's identity, grouped by
/// server then by conversation, a tap opens that conversation on that server).
///
/// Each message is reported once, when it is first committed: a redelivered message, or one a
/// history page brings again, is not new. The user's own messages (sent from this device or
/// another) are never reported.
public struct MessageNotification: Hashable, Sendable {
    public let server: ServerID
    /// The server's display name (from its discovery document), so the user knows the context.
    public let serverName: String
    /// Newest activity first.
    public let conversations: [ConversationNotification]

    public init(server: ServerID, serverName: String, conversations: [ConversationNotification]) {
        self.server = server
        self.serverName = serverName
        self.conversations = conversations
    }

    /// Groups newly stored messages: drops the user's own, one entry per conversation.
    static func grouping(_ messages: [Message], server: ServerID, serverName: String, ownUserID: String?) -> MessageNotification? {
        var byConversation: [String: [Message]] = [:]
        var order: [String] = []
        for message in messages where message.senderID != ownUserID {
            if byConversation[message.conversationID] == nil { order.append(message.conversationID) }
            byConversation[message.conversationID, default: []].append(message)
        }
        guard !order.isEmpty else { return nil }
        let conversations = order.map { conversationID in
            let messages = byConversation[conversationID]!
            return ConversationNotification(target: NotificationTarget(server: server, conversationID: conversationID),
                                            messageIDs: messages.map(\.messageID),
                                            newestTimestamp: messages.map(\.serverTimestamp).max()!)
        }
        return MessageNotification(server: server, serverName: serverName,
                                   conversations: conversations.sorted(by: ConversationNotification.newestFirst))
    }
}

/// The new messages of one conversation.
public struct ConversationNotification: Hashable, Sendable {
    /// What a tap hands back to open exactly this conversation on exactly this server.
    public let target: NotificationTarget
    /// Their ids, in the order they were stored.
    public let messageIDs: [String]
    /// The newest server timestamp among them.
    public let newestTimestamp: Timestamp

    public init(target: NotificationTarget, messageIDs: [String], newestTimestamp: Timestamp) {
        self.target = target
        self.messageIDs = messageIDs
        self.newestTimestamp = newestTimestamp
    }

    public var conversationID: String { target.conversationID }
    public var count: Int { messageIDs.count }

    static func newestFirst(_ lhs: ConversationNotification, _ rhs: ConversationNotification) -> Bool {
        if lhs.newestTimestamp != rhs.newestTimestamp { return lhs.newestTimestamp > rhs.newestTimestamp }
        return lhs.conversationID < rhs.conversationID
    }
}

/// A server and a conversation, with a stable string form to put in a notification's
/// identifier or user info, and read back when the user taps it.
///
/// The form is `outpost:v1:<server id hex>:<conversation id, percent-encoded>`: the same for
/// the same conversation across launches, and free of the server's address.
public struct NotificationTarget: Hashable, Sendable, Codable, LosslessStringConvertible {
    public let server: ServerID
    public let conversationID: String

    public init(server: ServerID, conversationID: String) {
        self.server = server
        self.conversationID = conversationID
    }

    private static let prefix = "outpost:v1:"
    /// Everything but letters, digits, `-`, `_`, `.` and `~` is percent-encoded.
    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")

    /// The identifier a tap hands back.
    public var identifier: String {
        let conversation = conversationID.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? conversationID
        return Self.prefix + server.hex + ":" + conversation
    }

    /// Reads an ``identifier`` back; `nil` for anything else.
    public init?(identifier: String) {
        guard identifier.hasPrefix(Self.prefix) else { return nil }
        let rest = identifier.dropFirst(Self.prefix.count)
        guard let colon = rest.firstIndex(of: ":") else { return nil }
        let hex = rest[..<colon]
        guard !hex.isEmpty, hex.allSatisfy(\.isHexDigit),
              let conversation = String(rest[rest.index(after: colon)...]).removingPercentEncoding else { return nil }
        self.init(server: ServerID(hex: String(hex)), conversationID: conversation)
    }

    public init?(_ description: String) { self.init(identifier: description) }
    public var description: String { identifier }
}

/// The notifications not yet dealt with, grouped by server, then by conversation: what a
/// notification centre shows. Add what ``MessageNotification``s arrive; reading a conversation
/// withdraws its entry, so a message already read is never shown.
public struct NotificationDigest: Hashable, Sendable {
    public struct Server: Hashable, Sendable {
        public let server: ServerID
        public let serverName: String
        /// Newest activity first.
        public let conversations: [ConversationNotification]
    }

    private var names: [ServerID: String] = [:]
    private var entries: [NotificationTarget: ConversationNotification] = [:]
    private var seen: Set<String> = []

    public init() {}

    /// Servers with something new, the one with the newest message first.
    public var servers: [Server] {
        var byServer: [ServerID: [ConversationNotification]] = [:]
        for entry in entries.values { byServer[entry.target.server, default: []].append(entry) }
        return byServer.map { server, conversations in
            Server(server: server, serverName: names[server] ?? "", conversations: conversations.sorted(by: ConversationNotification.newestFirst))
        }
        .sorted { lhs, rhs in
            let left = lhs.conversations[0], right = rhs.conversations[0]
            if left.newestTimestamp != right.newestTimestamp { return left.newestTimestamp > right.newestTimestamp }
            return lhs.server < rhs.server
        }
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// Adds newly stored messages; a message id already added is not counted again.
    public mutating func add(_ notification: MessageNotification) {
        names[notification.server] = notification.serverName
        for conversation in notification.conversations {
            let new = conversation.messageIDs.filter { seen.insert(notification.server.hex + "/" + $0).inserted }
            guard !new.isEmpty else { continue }
            let previous = entries[conversation.target]
            entries[conversation.target] = ConversationNotification(
                target: conversation.target, messageIDs: (previous?.messageIDs ?? []) + new,
                newestTimestamp: max(previous?.newestTimestamp ?? conversation.newestTimestamp, conversation.newestTimestamp))
        }
    }

    /// The conversation was read (or opened from a tap): its entry goes.
    public mutating func markRead(_ target: NotificationTarget) {
        entries.removeValue(forKey: target)
    }

    /// The server was removed: everything of it goes.
    public mutating func removeServer(_ server: ServerID) {
        entries = entries.filter { $0.key.server != server }
        names.removeValue(forKey: server)
    }
}
