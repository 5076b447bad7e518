import OutpostModel

/// What a ``ServerSession`` asks its driver to do. The driver (the client core) commits every
/// ``persist(_:)`` of one event in a single transaction before anything else of that event
/// happens: store, then acknowledge, whatever the order of the list.
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

/// News for the front end.
public enum SessionNotification: Hashable, Sendable {
    case connectionStateChanged(ConnectionState)
    /// The connection (or an attempt to open one) ended, and why.
    case disconnected(DisconnectReason)
    /// The session token no longer works; supply a new one to reconnect.
    case authFailed(reason: String)
    case outboxItemSent(clientMessageID: String, serverMessageID: String)
    case outboxItemFailed(clientMessageID: String, failure: OutboxFailure)
    case outboxItemExpired(clientMessageID: String)
    /// A frame that could not be decoded was skipped (a message's id, when it could be read;
    /// it was acknowledged so that the server stops sending it).
    case messageSetAside(messageID: String?, reason: String)
    case delivered(messageID: String, to: String)
    case presence(userID: String, status: String)
    case gapOpened(id: Int64)
    case gapFilled(id: Int64)
    /// Catch-up after this authentication is complete (or, on a legacy server, the pending push
    /// was requested: there is no gap guarantee).
    case caughtUp
    /// A history page arrived with this many entries; `hasMore` when another follows.
    case historyPageReceived(entries: Int, hasMore: Bool)
    /// A frame for the front end itself (passkey challenges, key package responses, …).
    case frame(type: Int, requestID: String, payload: [UInt8])
    /// The session is closed for good; the partition may be deleted.
    case readyForRemoval
}
