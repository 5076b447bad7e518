/// What a server's session starts from after a (re)launch: the partition's persisted state.
public struct SessionSnapshot: Hashable, Sendable {
    /// Queued and in-flight outbox items, in FIFO order.
    public var pendingOutbox: [OutboxItem]
    /// The queue position the next enqueued item takes (one past every position ever used).
    public var nextQueuePosition: Int64
    public var cursor: SyncCursor
    public var gaps: [GapRecord]
    public var sessionToken: String?
    public var ownUserID: String?
    /// Client message ids of expired items that had been put on the wire: the server may have
    /// stored one, and when it shows it the item is sent after all.
    public var expiredAfterSending: [String]

    public init(pendingOutbox: [OutboxItem] = [], nextQueuePosition: Int64? = nil, cursor: SyncCursor = .beginning,
                gaps: [GapRecord] = [], sessionToken: String? = nil, ownUserID: String? = nil,
                expiredAfterSending: [String] = []) {
        self.pendingOutbox = pendingOutbox
        self.nextQueuePosition = nextQueuePosition ?? ((pendingOutbox.map(\.queuePosition).max() ?? 0) + 1)
        self.cursor = cursor
        self.gaps = gaps
        self.sessionToken = sessionToken
        self.ownUserID = ownUserID
        self.expiredAfterSending = expiredAfterSending
    }
}
