import OutpostStore

/// Something that happened to one server's session. The driver delivers events one at a time,
/// each with the time it happened.
public enum SessionEvent: Hashable, Sendable {
    /// Connect now (app launch, server added). Ignored unless disconnected.
    case connectRequested
    case transportOpened(ConnectionID)
    /// The transport closed or failed; `code` is the WebSocket close code when there was one.
    case transportClosed(ConnectionID, code: UInt16?)
    /// One binary WebSocket message.
    case received(ConnectionID, [UInt8])
    case timerFired(SessionTimer)
    case appBackgrounded
    case appForegrounded
    case reachabilityLost
    case reachabilityRestored
    /// The front end queued a message (already committed to the partition).
    case enqueued(OutboxItem)
    /// The front end retried, cancelled or edited an item through the partition.
    case outboxItemUpdated(OutboxItem)
    /// The front end stored a new session token (after AuthFailed, or after signing in).
    case sessionTokenUpdated(String)
    /// The user removes the server.
    case removeRequested
    /// Fill open gaps now instead of in the background (a conversation is on screen).
    case fillGapsNow
}

/// What a session starts from after a (re)launch: the partition's persisted state.
public struct SessionSnapshot: Hashable, Sendable {
    public var pendingOutbox: [OutboxItem]
    public var cursor: SyncCursor
    public var gaps: [GapRecord]
    public var sessionToken: String?
    public var ownUserID: String?

    public init(pendingOutbox: [OutboxItem] = [], cursor: SyncCursor = .beginning, gaps: [GapRecord] = [],
                sessionToken: String? = nil, ownUserID: String? = nil) {
        self.pendingOutbox = pendingOutbox
        self.cursor = cursor
        self.gaps = gaps
        self.sessionToken = sessionToken
        self.ownUserID = ownUserID
    }
}

extension Partition {
    /// Reads what a ``ServerSession`` needs to start.
    public func sessionSnapshot() throws(StoreError) -> SessionSnapshot {
        SessionSnapshot(pendingOutbox: try pendingOutbox(), cursor: try syncCursor(), gaps: try allGaps(),
                        sessionToken: try credentials().sessionToken, ownUserID: try ownUserID())
    }
}
