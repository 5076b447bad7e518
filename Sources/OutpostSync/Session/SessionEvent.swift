import OutpostModel

/// Something that happened to one server's session. The driver delivers events one at a time,
/// each with the time it happened.
public enum SessionEvent: Hashable, Sendable {
    /// Connect now (app launch, server added). Ignored unless disconnected.
    case connectRequested
    case transportOpened(ConnectionID)
    /// The transport closed or failed; `code` is the WebSocket close code when there was one.
    case transportClosed(ConnectionID, code: UInt16?)
    /// The transport could not be opened, or broke, for a reason known better than a close code
    /// (a refused connection, a TLS failure, no WebSocket upgrade …).
    case transportFailed(ConnectionID, reason: DisconnectReason)
    /// One binary WebSocket message.
    case received(ConnectionID, [UInt8])
    case timerFired(SessionTimer)
    case appBackgrounded
    case appForegrounded
    case reachabilityLost
    case reachabilityRestored
    /// The front end has a new session token (after AuthFailed, or after signing in): the
    /// session stores it and reconnects with it.
    case sessionTokenUpdated(String)
    /// The user removes the server.
    case removeRequested
    /// Fill open gaps now instead of in the background (a conversation is on screen).
    case fillGapsNow
    /// Close the authenticated connection and connect again at once (the client core logs in
    /// again when an old connection's late close may have deregistered this one).
    case reconnectRequested
    /// Low-power mode on or off: the heartbeat is stretched while it is on; every connection stays.
    case lowPowerModeChanged(Bool)
}
