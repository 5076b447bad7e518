/// How far a server's stream is known without holes: the newest position and, where the
/// server numbers messages (`sequence`), the newest sequence number.
public struct SyncCursor: Hashable, Sendable, CustomStringConvertible {
    public var position: MessagePosition
    /// 0 when the server has no `sequence` extension or nothing was received yet.
    public var sequence: UInt64

    public init(position: MessagePosition, sequence: UInt64 = 0) {
        self.position = position
        self.sequence = sequence
    }

    public static let beginning = SyncCursor(position: .beginning)

    public var description: String { sequence > 0 ? "\(position)#\(sequence)" : position.description }
}

/// A range of a server's stream known to be missing, filled in the background or on demand.
public struct GapRecord: Hashable, Sendable {
    public enum State: String, Hashable, Sendable {
        case open
        case filled
    }

    public let id: Int64
    /// `nil`: the whole stream of this user on the server.
    public let conversationID: String?
    /// Exclusive lower bound.
    public let after: SyncCursor
    /// Exclusive upper bound, when known.
    public let before: SyncCursor?
    /// How far filling has got (starts at `after`).
    public var filledUpTo: SyncCursor
    public var state: State
    public let createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(id: Int64, conversationID: String?, after: SyncCursor, before: SyncCursor?, filledUpTo: SyncCursor,
                state: State, createdAt: Timestamp, updatedAt: Timestamp) {
        self.id = id
        self.conversationID = conversationID
        self.after = after
        self.before = before
        self.filledUpTo = filledUpTo
        self.state = state
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
