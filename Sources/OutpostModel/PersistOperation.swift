/// One write a server's session asks for. The client core commits every write of one input in
/// a single transaction of the server's partition, before any frame of that input leaves.
public enum PersistOperation: Hashable, Sendable {
    /// Store inbound messages (deduplicated by id and by content).
    case storeInbound([Message])
    /// Queue a new outbound message (the session chose its queue position and lifespan).
    case enqueue(OutboxItem)
    /// The item went on the wire under `requestID`.
    case markInFlight(clientMessageID: String, requestID: String)
    /// The server stored the item.
    case markSent(clientMessageID: String, serverMessageID: String, serverTimestamp: Timestamp)
    /// The server refused the item for good.
    case markFailed(clientMessageID: String, code: Int32?, reason: String)
    /// An item in flight goes back to the queue (connection lost, transient error).
    case returnToQueue(clientMessageID: String)
    /// The user retries a failed or expired item: queued again with a new lifespan.
    case requeue(clientMessageID: String, expiresAt: Timestamp)
    /// The user cancels an item that was never on the wire.
    case cancel(clientMessageID: String)
    /// The user replaces the payload of an item that was never on the wire.
    case edit(clientMessageID: String, payload: [UInt8])
    /// Queued items whose lifespan has run out become expired.
    case expireOutbox
    case setSyncCursor(SyncCursor)
    case recordGap(id: Int64, after: SyncCursor, before: SyncCursor?)
    case updateGapProgress(id: Int64, filledUpTo: SyncCursor)
    case markGapFilled(id: Int64)
    case setOwnUserID(String)
    case setSessionToken(String)
    case recordGroup(conversationID: String, title: String, members: [ConversationMember])
    case recordMemberAdded(conversationID: String, member: ConversationMember)
    case recordMemberRemoved(conversationID: String, userID: String)
    case markNotMember(conversationID: String)
    case recordInboundMLS(InboundMLSFrame.Kind, conversationID: String, senderID: String, data: [UInt8])
    /// Forget deduplication records first seen before `cutoff` (stored messages still reject
    /// their own ids).
    case pruneDedupRecords(olderThan: Timestamp)

    /// Whether the write can change what the conversation list shows.
    public var changesConversations: Bool {
        switch self {
        case .storeInbound, .recordGroup, .recordMemberAdded, .recordMemberRemoved, .markNotMember: true
        default: false
        }
    }
}
