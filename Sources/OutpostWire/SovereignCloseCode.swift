/// A WebSocket close code a Sovereign server uses (PROTOCOL.md §1, §6, §9).
///
/// The client treats every close as a disconnect; only these codes change what it does next.
public struct SovereignCloseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The number in the close frame.
    public let rawValue: UInt16

    /// The close code with number `rawValue`, known or not.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    // MARK: Standard WebSocket codes

    /// 1000: a normal close.
    public static let normal = SovereignCloseCode(rawValue: 1000)
    /// 1001: going away; the server closes a connection silent for 90 s with it.
    public static let goingAway = SovereignCloseCode(rawValue: 1001)
    /// 1003: unsupported data; the answer to a text frame.
    public static let unsupportedData = SovereignCloseCode(rawValue: 1003)
    /// 1008: policy violation; the client did not ask for the `sovereign.v1` subprotocol.
    public static let policyViolation = SovereignCloseCode(rawValue: 1008)

    // MARK: Sovereign codes

    /// 4001: no authentication within 10 s of the socket opening.
    public static let authTimeout = SovereignCloseCode(rawValue: 4001)
    /// 4002: authentication failed (after `AUTH_ERROR` 1001).
    public static let authFailed = SovereignCloseCode(rawValue: 4002)
    /// 4003: a sixth connection of the user authenticated; this, the oldest, was closed.
    public static let tooManyConnections = SovereignCloseCode(rawValue: 4003)
    /// 4004: the session expired or was revoked (after `AUTH_ERROR` 1002 or 1005).
    public static let sessionExpired = SovereignCloseCode(rawValue: 4004)
    /// 4005: the account is disabled (after `AUTH_ERROR` 2004).
    public static let accountDisabled = SovereignCloseCode(rawValue: 4005)
    /// 4006: the server is shutting down.
    public static let serverShutdown = SovereignCloseCode(rawValue: 4006)
    /// 4007: a protocol error.
    public static let protocolError = SovereignCloseCode(rawValue: 4007)

    /// The number.
    public var description: String { "\(rawValue)" }
}
