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
