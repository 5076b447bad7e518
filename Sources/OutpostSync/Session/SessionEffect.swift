import OutpostStore

/// What a ``ServerSession`` asks its driver (the runtime or the simulator) to do. The driver
/// carries the effects out in order and stops at the first ``persist(_:)`` that fails: that
/// ordering is what makes "store, then acknowledge" hold.
public enum SessionEffect: Hashable, Sendable {
    /// Open the transport (WebSocket, subprotocol `sovereign.v1`) to the server.
    case openTransport(ConnectionID)
    /// Close the transport with a WebSocket close code.
    case closeTransport(ConnectionID, code: UInt16)
    /// Send one binary frame: an encoded `Envelope`.
    case send(ConnectionID, [UInt8])
    /// Arm (or re-arm) a timer.
    case setTimer(SessionTimer, at: Timestamp)
    /// Disarm a timer; firing it anyway is harmless.
    case cancelTimer(SessionTimer)
    /// Write to the server's partition.
    case persist(PersistOperation)
    /// Tell the front end.
    case notify(SessionNotification)
}

/// A write to the server's partition. ``OutpostStore/Partition/apply(_:now:)`` performs it.
public enum PersistOperation: Hashable, Sendable {
    case storeInbound([Message])
    case markInFlight(clientMessageID: String, requestID: String)
    case markSent(clientMessageID: String, serverMessageID: String, serverTimestamp: Timestamp)
    case markFailed(clientMessageID: String, code: Int32?, reason: String)
    case returnToQueue(clientMessageID: String)
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
}

/// News for the front end.
public enum SessionNotification: Hashable, Sendable {
    case connectionStateChanged(ConnectionState)
    /// The session token no longer works; supply a new one to reconnect.
    case authFailed(reason: String)
    case outboxItemSent(clientMessageID: String, serverMessageID: String)
    case outboxItemFailed(clientMessageID: String, failure: OutboxFailure)
    case outboxItemExpired(clientMessageID: String)
    /// New messages were stored (their ids), for live UI updates.
    case messagesStored([String])
    case delivered(messageID: String, to: String)
    case presence(userID: String, status: String)
    case gapOpened(id: Int64)
    case gapFilled(id: Int64)
    /// Catch-up after this authentication is complete (or, on a legacy server, the pending push
    /// was requested: there is no gap guarantee).
    case caughtUp
    /// A frame for the front end itself (passkey challenges, key package responses, …).
    case frame(type: Int, requestID: String, payload: [UInt8])
    /// The session is closed for good; the partition may be deleted.
    case readyForRemoval
}
