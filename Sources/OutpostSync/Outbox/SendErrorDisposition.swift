/// What the outbox does when the server answers a `MESSAGE_SEND` with `ERROR`.
///
/// The protocol leaves the classification to the client (PROTOCOL.md §6, §9). Outpost's:
///
/// | code | meaning | disposition |
/// | --- | --- | --- |
/// | 3004 | RateLimited | wait (1 s), then send again |
/// | 9001, 9002, 9003 | Internal, Database, ServiceUnavailable | wait (5 s), then send again |
/// | 3003 | MessageTooLarge | failed, never retried on its own |
/// | 2002, 4001, 4003 | not a member / group not found | failed; the conversation is marked left |
/// | any other code | a request the server will not accept | failed, with the server's message |
///
/// Connection loss and request timeouts are always transient: the item goes back to the queue
/// and keeps its client message id.
public enum SendErrorDisposition: Hashable, Sendable {
    case rateLimited
    case transient
    case permanent(notAMember: Bool)

    public static func classify(_ code: Int32) -> SendErrorDisposition {
        switch code {
        case 3004: .rateLimited
        case 9001, 9002, 9003: .transient
        case 2002, 4001, 4003: .permanent(notAMember: true)
        default: .permanent(notAMember: false)
        }
    }
}

/// What the session does with an `AUTH_ERROR`, by code (PROTOCOL.md §6 and §10):
///
/// | code | meaning | disposition |
/// | --- | --- | --- |
/// | 9001, 9002, 9003 | Internal, Database, ServiceUnavailable | close, and try again after the backoff |
/// | 1001, 1002, 1005, 2004, any other | bad, expired or revoked credential, disabled account | AuthFailed: wait for a new token |
///
/// The upstream server answers every credential problem with 1001 and its own faults with
/// 9001: a server hiccup must not force the user to sign in again. Either way the client closes
/// the socket itself rather than wait for the server's 10-second deadline.
public enum AuthErrorDisposition: Hashable, Sendable {
    case transient
    case rejected

    public static func classify(_ code: Int32) -> AuthErrorDisposition {
        switch code {
        case 9001, 9002, 9003: .transient
        default: .rejected
        }
    }
}
