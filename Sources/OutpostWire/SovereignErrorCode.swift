/// An error code of `ERROR.code` and `AUTH_ERROR.error_code` (PROTOCOL.md §6).
///
/// A struct rather than an enum, so codes a newer server sends still round-trip. Which codes are
/// permanent for a queued message and which are transient is decided by the sync layer.
public struct SovereignErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The number on the wire.
    public let rawValue: Int32

    /// The code with number `rawValue`, known or not.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    // MARK: Authentication (1xxx)

    /// 1001: the credential or session token is not valid. Followed by close 4002.
    public static let invalidCredential = SovereignErrorCode(rawValue: 1001)
    /// 1002 (fatal): the session token expired. Followed by close 4004.
    public static let expiredSession = SovereignErrorCode(rawValue: 1002)
    /// 1003: registration failed.
    public static let registrationFailed = SovereignErrorCode(rawValue: 1003)
    /// 1004: the passkey challenge failed.
    public static let challengeFailed = SovereignErrorCode(rawValue: 1004)
    /// 1005 (fatal): the session was revoked. Followed by close 4004.
    public static let sessionRevoked = SovereignErrorCode(rawValue: 1005)

    // MARK: Permissions (2xxx)

    /// 2001: the user is not an admin of the group.
    public static let notGroupAdmin = SovereignErrorCode(rawValue: 2001)
    /// 2002: the user is not a member of the conversation.
    public static let notGroupMember = SovereignErrorCode(rawValue: 2002)
    /// 2003: the user lacks admin rights.
    public static let notAdmin = SovereignErrorCode(rawValue: 2003)
    /// 2004 (fatal): the account is disabled. Followed by close 4005.
    public static let accountDisabled = SovereignErrorCode(rawValue: 2004)

    // MARK: Protocol (3xxx)

    /// 3001: a payload the server could not use.
    public static let malformedMessage = SovereignErrorCode(rawValue: 3001)
    /// 3002: an unknown type, or non-auth traffic before authentication.
    public static let unknownMessageType = SovereignErrorCode(rawValue: 3002)
    /// 3003: the envelope is over 65,536 bytes.
    public static let messageTooLarge = SovereignErrorCode(rawValue: 3003)
    /// 3004: rate limited (30 `MESSAGE_SEND`/s, burst 10); the send was dropped.
    public static let rateLimited = SovereignErrorCode(rawValue: 3004)
    /// 3005: an undecodable envelope.
    public static let invalidEnvelope = SovereignErrorCode(rawValue: 3005)

    // MARK: Groups (4xxx)

    /// 4001: the group does not exist (real servers also send it for "not a member").
    public static let groupNotFound = SovereignErrorCode(rawValue: 4001)
    /// 4002: the user is already a member.
    public static let alreadyMember = SovereignErrorCode(rawValue: 4002)
    /// 4003: the user is not a member.
    public static let notMember = SovereignErrorCode(rawValue: 4003)
    /// 4004: a user cannot remove themselves (they leave instead).
    public static let cannotRemoveSelf = SovereignErrorCode(rawValue: 4004)
    /// 4005: the group is full.
    public static let groupFull = SovereignErrorCode(rawValue: 4005)

    // MARK: Server (9xxx)

    /// 9001: an internal server error.
    public static let internalError = SovereignErrorCode(rawValue: 9001)
    /// 9002: a server database error.
    public static let databaseError = SovereignErrorCode(rawValue: 9002)
    /// 9003 (fatal): the service is unavailable.
    public static let serviceUnavailable = SovereignErrorCode(rawValue: 9003)

    /// Whether the protocol marks the code fatal: 1002, 1005, 2004 and 9003. The server gives up
    /// on the connection after sending one.
    public var isFatal: Bool {
        switch self {
        case .expiredSession, .sessionRevoked, .accountDisabled, .serviceUnavailable: true
        default: false
        }
    }

    /// The protocol's name of the code, `nil` for a number the protocol does not define.
    public var name: String? {
        switch rawValue {
        case 1001: "InvalidCredential"
        case 1002: "ExpiredSession"
        case 1003: "RegistrationFailed"
        case 1004: "ChallengeFailed"
        case 1005: "SessionRevoked"
        case 2001: "NotGroupAdmin"
        case 2002: "NotGroupMember"
        case 2003: "NotAdmin"
        case 2004: "AccountDisabled"
        case 3001: "MalformedMessage"
        case 3002: "UnknownMessageType"
        case 3003: "MessageTooLarge"
        case 3004: "RateLimited"
        case 3005: "InvalidEnvelope"
        case 4001: "GroupNotFound"
        case 4002: "AlreadyMember"
        case 4003: "NotMember"
        case 4004: "CannotRemoveSelf"
        case 4005: "GroupFull"
        case 9001: "InternalError"
        case 9002: "DatabaseError"
        case 9003: "ServiceUnavailable"
        default: nil
        }
    }

    /// `"1002 ExpiredSession"`, or just the number for an unknown code.
    public var description: String { name.map { "\(rawValue) \($0)" } ?? "\(rawValue)" }
}
