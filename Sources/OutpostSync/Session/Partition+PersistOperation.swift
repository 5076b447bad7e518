import OutpostStore

extension Partition {
    /// Performs consecutive ``PersistOperation``s of one event in a single transaction, so that
    /// messages and the cursor that covers them are committed together.
    public func apply(_ operations: [PersistOperation], now: Timestamp) throws(StoreError) {
        guard operations.count > 1 else {
            if let operation = operations.first { try apply(operation, now: now) }
            return
        }
        try inOneTransaction { () throws(StoreError) in
            for operation in operations { try apply(operation, now: now) }
        }
    }

    /// Performs one ``PersistOperation`` of a ``ServerSession``. This is the driver's side of
    /// the sans-IO boundary, shared by the runtime and the simulator so that both persist the
    /// same way.
    public func apply(_ operation: PersistOperation, now: Timestamp) throws(StoreError) {
        switch operation {
        case .storeInbound(let messages):
            _ = try storeInbound(messages, now: now)
        case .markInFlight(let clientMessageID, let requestID):
            try markInFlight(clientMessageID, requestID: requestID, now: now)
        case .markSent(let clientMessageID, let serverMessageID, let serverTimestamp):
            try markSent(clientMessageID, serverMessageID: serverMessageID, serverTimestamp: serverTimestamp, now: now)
        case .markFailed(let clientMessageID, let code, let reason):
            try markFailed(clientMessageID, code: code, reason: reason, now: now)
        case .returnToQueue(let clientMessageID):
            try returnToQueue(clientMessageID, now: now)
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
        }
    }
}
