/// The `ERROR` and `AUTH_ERROR` codes of PROTOCOL.md §6.
public struct SovereignErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let invalidCredential = SovereignErrorCode(rawValue: 1001)
    public static let expiredSession = SovereignErrorCode(rawValue: 1002)
    public static let registrationFailed = SovereignErrorCode(rawValue: 1003)
    public static let challengeFailed = SovereignErrorCode(rawValue: 1004)
    public static let sessionRevoked = SovereignErrorCode(rawValue: 1005)
    public static let notGroupAdmin = SovereignErrorCode(rawValue: 2001)
    public static let notGroupMember = SovereignErrorCode(rawValue: 2002)
    public static let notAdmin = SovereignErrorCode(rawValue: 2003)
    public static let accountDisabled = SovereignErrorCode(rawValue: 2004)
    public static let malformedMessage = SovereignErrorCode(rawValue: 3001)
    public static let unknownMessageType = SovereignErrorCode(rawValue: 3002)
    public static let messageTooLarge = SovereignErrorCode(rawValue: 3003)
    public static let rateLimited = SovereignErrorCode(rawValue: 3004)
    public static let invalidEnvelope = SovereignErrorCode(rawValue: 3005)
    public static let groupNotFound = SovereignErrorCode(rawValue: 4001)
    public static let alreadyMember = SovereignErrorCode(rawValue: 4002)
    public static let notMember = SovereignErrorCode(rawValue: 4003)
    public static let cannotRemoveSelf = SovereignErrorCode(rawValue: 4004)
    public static let groupFull = SovereignErrorCode(rawValue: 4005)
    public static let internalError = SovereignErrorCode(rawValue: 9001)
    public static let databaseError = SovereignErrorCode(rawValue: 9002)
    public static let serviceUnavailable = SovereignErrorCode(rawValue: 9003)

    /// Fatal codes: the server closes the connection after sending them.
    public var isFatal: Bool {
        [Self.expiredSession, .sessionRevoked, .accountDisabled, .serviceUnavailable].contains(self)
    }

    public var description: String { "\(rawValue)" }
}

/// WebSocket close codes that Sovereign servers use (PROTOCOL.md §1, §6).
public struct SovereignCloseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16

    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let normal = SovereignCloseCode(rawValue: 1000)
    /// An idle connection (90 s) closed by the server.
    public static let goingAway = SovereignCloseCode(rawValue: 1001)
    /// A text frame was sent.
    public static let unsupportedData = SovereignCloseCode(rawValue: 1003)
    /// The `sovereign.v1` subprotocol was not requested.
    public static let policyViolation = SovereignCloseCode(rawValue: 1008)
    public static let authTimeout = SovereignCloseCode(rawValue: 4001)
    public static let authFailed = SovereignCloseCode(rawValue: 4002)
    public static let tooManyConnections = SovereignCloseCode(rawValue: 4003)
    public static let sessionExpired = SovereignCloseCode(rawValue: 4004)
    public static let accountDisabled = SovereignCloseCode(rawValue: 4005)
    public static let serverShutdown = SovereignCloseCode(rawValue: 4006)
    public static let protocolError = SovereignCloseCode(rawValue: 4007)

    public var description: String { "\(rawValue)" }
}
