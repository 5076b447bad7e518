import OutpostStore
import OutpostSync

/// Something that happened to one server, for its ``ServerCore``: the network, a timer, the
/// app's lifecycle. (The front end's commands are ``ServerCore``'s methods.)
public enum ServerInput: Hashable, Sendable {
    /// Connect now (the client started, or the server was just added), in the app state given.
    case start(foreground: Bool, reachable: Bool)
    /// A connection ``ServerOutput/openConnection(_:url:)`` asked for is open (handshakes done).
    case connectionOpened(ConnectionHandle)
    /// The connection closed, or could not be opened; `code` is the WebSocket close code when
    /// there was one.
    case connectionClosed(ConnectionHandle, code: UInt16?)
    /// The connection could not be opened, or broke, for a reason the driver knows better than
    /// a close code (refused, TLS, no WebSocket upgrade …). Treated as a close, with the reason.
    case connectionFailed(ConnectionHandle, reason: DisconnectReason)
    /// One binary WebSocket message.
    case received(ConnectionHandle, [UInt8])
    /// A timer ``ServerOutput/setTimer(_:at:)`` armed is due.
    case timerFired(ServerTimer)
    case appBackgrounded
    case appForegrounded
    case reachabilityLost
    case reachabilityRestored
    /// Low-power mode on or off (RFC-0006 "Connection prioritization"): the heartbeat is
    /// stretched from 30 to 75 seconds while it is on; every connection stays.
    case lowPowerModeChanged(Bool)
    /// Fill open gaps now instead of in the background (a conversation is on screen).
    case fillGapsNow
    /// Drop the connection and connect again at once (a "reconnect" the user asked for).
    case reconnect
    /// The user removes the server: the connection closes and the timers stop for good. Then
    /// ``ClientCore/removeServer(_:)`` destroys the partition.
    case remove
}

/// What a ``ServerCore`` asks its driver (the runtime's sockets and tasks, or the simulator's
/// network and clock) to do. Every write of the input that produced these is already
/// committed: nothing here can get ahead of the data.
public enum ServerOutput: Hashable, Sendable {
    /// Open a WebSocket to `url` (subprotocol `sovereign.v1`), then report
    /// ``ServerInput/connectionOpened(_:)`` or ``ServerInput/connectionClosed(_:code:)``.
    case openConnection(ConnectionHandle, url: String)
    /// Close the connection with a WebSocket close code (or give up opening it), and report
    /// ``ServerInput/connectionClosed(_:code:)`` once the close handshake is over (the server's
    /// close frame came back, or a bounded wait passed) or the attempt ended.
    case closeConnection(ConnectionHandle, code: UInt16)
    /// Send one binary message on the connection.
    case send(ConnectionHandle, [UInt8])
    /// Arm the timer, replacing any armed timer of the same kind; report it with
    /// ``ServerInput/timerFired(_:)`` when due. A stale one reported anyway is ignored.
    case setTimer(ServerTimer, at: Timestamp)
    /// Disarm the timer (firing it anyway is harmless).
    case cancelTimer(ServerTimer)
    /// Tell the front end.
    case event(OutpostEvent.Kind)
    /// New messages from others, for a notification (each message reported once).
    case notify(MessageNotification)
    /// The server's conversations changed (messages, read marks, membership): a live
    /// conversation list should be built again.
    case conversationsChanged
}

/// One connection of one server's core. Unique across servers, across a server removed and
/// added again, and across the sessions a server's core goes through, so a late callback of an
/// old socket can never be taken for a new one.
public struct ConnectionHandle: Hashable, Sendable, CustomStringConvertible {
    public let server: ServerID
    /// Which ``ServerCore`` of the server (a server added again gets a new one).
    let incarnation: UInt64
    /// Which session of that core (a storage failure starts a new one).
    let session: UInt64
    let connection: ConnectionID

    public var description: String { "\(server)#\(incarnation).\(session).\(connection.rawValue)" }
}

/// A timer of one server's core. Re-arming a kind replaces the armed one.
public struct ServerTimer: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable, Comparable, CustomStringConvertible {
        /// A timer of the sync core (heartbeat, backoff, request timeout …).
        case session(SessionTimer)
        /// Time to start again after a storage failure.
        case storageRecovery
        /// The old connection's close was not confirmed in time: authenticate the new one.
        case closeWait
        /// Log in again, in case an old connection's late close deregistered this one.
        case loginRefresh

        public var description: String {
            switch self {
            case .session(let timer): timer.description
            case .storageRecovery: "storageRecovery"
            case .closeWait: "closeWait"
            case .loginRefresh: "loginRefresh"
            }
        }
    }

    public let kind: Kind
    /// Tells an armed timer from one re-armed or cancelled since.
    let generation: UInt64

    public var description: String { "\(kind)@\(generation)" }
}
