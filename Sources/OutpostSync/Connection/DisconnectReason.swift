/// Why a server's connection ended, or why an attempt to open one failed: what a front end
/// shows next to "Disconnected" and what goes into a bug report.
///
/// ``kind`` and ``closeCode`` are safe to log anywhere; ``message`` may name the server's
/// address (a transport error quotes the URL it could not reach), so it is for the user's own
/// screen and for `.debug` logs only.
public struct DisconnectReason: Hashable, Sendable, CustomStringConvertible {
    /// The class of the reason. New kinds may be added: switch with a `default`.
    public struct Kind: Hashable, Sendable, Comparable, CustomStringConvertible {
        public let rawValue: String

        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// The server closed the connection with a close frame (``DisconnectReason/closeCode``).
        public static let closedByServer = Kind("closed_by_server")
        /// The connection ended without a close frame (reset, the peer vanished).
        public static let connectionLost = Kind("connection_lost")
        /// No connection could be opened: name resolution, refused, TLS, a proxy.
        public static let transportError = Kind("transport_error")
        /// The server broke the protocol (no WebSocket upgrade, no `sovereign.v1` subprotocol …).
        public static let protocolViolation = Kind("protocol_violation")
        /// A deadline passed: connect, authentication, a heartbeat, a request.
        public static let timeout = Kind("timeout")
        /// The server refused the session token; no retry until a new one is supplied.
        public static let authenticationFailed = Kind("authentication_failed")
        /// The server reported a fault of its own (a transient `AUTH_ERROR` 9001–9003).
        public static let serverError = Kind("server_error")
        /// A write to the server's partition failed; the client closed the connection so that
        /// nothing unstored is acknowledged.
        public static let storageFailure = Kind("storage_failure")
        /// The client closed it on purpose (a reconnect that was asked for, a login refresh).
        public static let closedByClient = Kind("closed_by_client")

        public static func < (lhs: Kind, rhs: Kind) -> Bool { lhs.rawValue < rhs.rawValue }
        public var description: String { rawValue }
    }

    public let kind: Kind
    /// The WebSocket close code, when the connection ended with a close frame.
    public let closeCode: UInt16?
    /// A sentence for the user: what happened, with the details at hand.
    public let message: String

    public init(_ kind: Kind, closeCode: UInt16? = nil, message: String) {
        self.kind = kind
        self.closeCode = closeCode
        self.message = message
    }

    /// Whether it counts as a failure (everything but ``Kind/closedByClient``).
    public var isFailure: Bool { kind != .closedByClient }

    public var description: String { message }

    /// The transport ended: with the server's close code, or without one.
    public static func closed(code: UInt16?) -> DisconnectReason {
        guard let code else { return DisconnectReason(.connectionLost, message: "the connection was lost") }
        return DisconnectReason(.closedByServer, closeCode: code, message: "the server closed the connection (close \(code))")
    }

    static func timedOut(_ what: String) -> DisconnectReason {
        DisconnectReason(.timeout, message: "no answer \(what)")
    }
}
