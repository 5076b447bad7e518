/// What one batch of ``PersistOperation``s did, for the caller to report.
public struct PersistOutcome: Hashable, Sendable {
    /// The inbound messages that were new (stored now, not deduplicated), in the order given.
    public var storedMessages: [Message] = []
    /// Whether anything the conversation list shows may have changed.
    public var changedConversations = false

    public init() {}
}

extension Partition {
    /// Performs the ``PersistOperation``s of one input in a single transaction: all of them are
    /// committed together, or none is. This is the client core's side of the sans-IO boundary.
    @discardableResult
    public func apply(_ operations: [PersistOperation], now: Timestamp) throws(StoreError) -> PersistOutcome {
        var outcome = PersistOutcome()
        guard !operations.isEmpty else { return outcome }
        try inOneTransaction { () throws(StoreError) in
            for operation in operations { try apply(operation, now: now, into: &outcome) }
        }
        return outcome
    }

    private func apply(_ operation: PersistOperation, now: Timestamp, into outcome: inout PersistOutcome) throws(StoreError) {
        if operation.changesConversations { outcome.changedConversations = true }
        switch operation {
        case .storeInbound(let messages):
            let outcomes = try storeInbound(messages, now: now)
            for (message, result) in zip(messages, outcomes) where result == .stored {
                outcome.storedMessages.append(message)
            }
        case .enqueue(let item):
            try insertOutboxItem(item)
        case .markInFlight(let clientMessageID, let requestID):
            try markInFlight(clientMessageID, requestID: requestID, now: now)
        case .markSent(let clientMessageID, let serverMessageID, let serverTimestamp):
            try markSent(clientMessageID, serverMessageID: serverMessageID, serverTimestamp: serverTimestamp, now: now)
        case .markFailed(let clientMessageID, let code, let reason):
            try markFailed(clientMessageID, code: code, reason: reason, now: now)
        case .returnToQueue(let clientMessageID):
            try returnToQueue(clientMessageID, now: now)
        case .requeue(let clientMessageID, let expiresAt):
            try retry(clientMessageID, now: now, expiresAt: expiresAt)
        case .cancel(let clientMessageID):
            try cancel(clientMessageID, now: now)
        case .edit(let clientMessageID, let payload):
            try edit(clientMessageID, payload: payload, now: now)
        case .expireOutbox:
            try expireOutbox(now: now)
        case .setSyncCursor(let cursor):
            try setSyncCursor(cursor)
        case .recordGap(let id, let after, let before):
            try recordGap(id: id, after: after, before: before, now: now)
        case .updateGapProgress(let id, let filledUpTo):
            try updateGapProgress(id, filledUpTo: filledUpTo, now: now)
        case .markGapFilled(let id):
            try markGapFilled(id, now: now)
        case .setOwnUserID(let userID):
            try setOwnUserID(userID, now: now)
        case .setSessionToken(let token):
            try setSessionToken(token, now: now)
        case .recordGroup(let conversationID, let title, let members):
            try recordGroup(conversationID, title: title, members: members, now: now)
        case .recordMemberAdded(let conversationID, let member):
            try recordMemberAdded(conversationID, member: member, now: now)
        case .recordMemberRemoved(let conversationID, let userID):
            try recordMemberRemoved(conversationID, userID: userID, now: now)
        case .markNotMember(let conversationID):
            try markNotMember(conversationID, now: now)
        case .recordInboundMLS(let kind, let conversationID, let senderID, let data):
            try recordInboundMLS(kind, conversationID: conversationID, senderID: senderID, data: data, now: now)
        case .pruneDedupRecords(let cutoff):
            try pruneDedupRecords(olderThan: cutoff)
        }
    }

    /// Reads what a server's session needs to start.
    public func sessionSnapshot() throws(StoreError) -> SessionSnapshot {
        SessionSnapshot(pendingOutbox: try pendingOutbox(), nextQueuePosition: try nextQueuePosition(),
                        cursor: try syncCursor(), gaps: try allGaps(), sessionToken: try credentials().sessionToken,
                        ownUserID: try ownUserID(), expiredAfterSending: try expiredAfterSending())
    }
}
