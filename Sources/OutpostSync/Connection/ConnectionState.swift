/// The connection states of RFC-0006, exactly; observable per server.
public enum ConnectionState: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// No active connection (gray: "Offline").
    case disconnected = "Disconnected"
    /// TCP/TLS/WebSocket handshake in progress (yellow: "Connecting…").
    case connecting = "Connecting"
    /// WebSocket open, authenticating with the stored session token (yellow: "Authenticating…").
    case authenticating = "Authenticating"
    /// Authenticated, ready for messaging (green: "Connected").
    case connected = "Connected"
    /// The server rejected the session (expired, revoked, account disabled). No retry until
    /// the front end supplies a new session token (red: "Auth Failed").
    case authFailed = "AuthFailed"
    /// Shutting down because the user removes the server (gray: "Disconnecting…").
    case disconnecting = "Disconnecting"

    public var description: String { rawValue }
}

/// Identifies one transport connection attempt. Events about an older attempt are stale and
/// ignored, so a late close or frame from a previous socket can never disturb the current one.
public struct ConnectionID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    public static func < (lhs: ConnectionID, rhs: ConnectionID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "#\(rawValue)" }
}

/// The timers a server session uses. Each kind has at most one instance armed at a time, except
/// request timeouts, which are per request.
public enum SessionTimer: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The transport did not open in time.
    case connectTimeout
    /// No answer to the session-token `AUTH_REQUEST` within the 10 s window.
    case authTimeout
    /// Backoff before the next connection attempt.
    case reconnect
    /// Time to send the next `PING` (every 30 s).
    case heartbeat
    /// No `PONG` within 10 s: the link is dead (black-holed).
    case pongTimeout
    /// A request (send or history) had no reply within 30 s.
    case request(String)
    /// Sends are paused after a rate-limit or transient server error.
    case sendPause
    /// The earliest lifespan of a queued message runs out.
    case outboxExpiry
    /// The next background page of an open gap.
    case gapFill

    public var description: String {
        switch self {
        case .connectTimeout: "connectTimeout"
        case .authTimeout: "authTimeout"
        case .reconnect: "reconnect"
        case .heartbeat: "heartbeat"
        case .pongTimeout: "pongTimeout"
        case .request(let id): "request(\(id))"
        case .sendPause: "sendPause"
        case .outboxExpiry: "outboxExpiry"
        case .gapFill: "gapFill"
        }
    }
}
