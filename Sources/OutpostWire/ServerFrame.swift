import SwiftProtobuf

/// A frame a server sends to a client (S→C), with its typed payload.
///
/// Every case maps to exactly one ``MessageType``; the types of ``ClientFrame`` are disjoint
/// from these, so a frame arriving in the wrong direction is a ``WireError/Code/wrongDirection``.
public enum ServerFrame: Hashable, Sendable {
    /// `AUTH_CHALLENGE` (2).
    case authChallenge(AuthChallenge)
    /// `AUTH_SUCCESS` (4).
    case authSuccess(AuthSuccess)
    /// `AUTH_ERROR` (5).
    case authError(AuthError)
    /// `AUTH_REGISTER_CHALLENGE` (7).
    case authRegisterChallenge(AuthRegisterChallenge)
    /// `AUTH_REGISTER_SUCCESS` (9).
    case authRegisterSuccess(AuthRegisterSuccess)
    /// `HISTORY_RESPONSE` (11), extension `history`.
    case historyResponse(HistoryResponse)
    /// `MESSAGE_RECEIVE` (21).
    case messageReceive(MessageReceive)
    /// `MESSAGE_DELIVERED` (23).
    case messageDelivered(MessageDelivered)
    /// `GROUP_CREATED` (31).
    case groupCreated(GroupCreated)
    /// `GROUP_MEMBER_ADDED` (33).
    case groupMemberAdded(GroupMemberAdded)
    /// `GROUP_MEMBER_REMOVED` (34).
    case groupMemberRemoved(GroupMemberRemoved)
    /// `MLS_KEY_PACKAGE_RESPONSE` (42).
    case mlsKeyPackageResponse(MlsKeyPackageResponse)
    /// `MLS_WELCOME_RECEIVE` (44).
    case mlsWelcomeReceive(MlsWelcomeReceive)
    /// `MLS_COMMIT_BROADCAST` (46).
    case mlsCommitBroadcast(MlsCommitBroadcast)
    /// `PRESENCE_NOTIFY` (51).
    case presenceNotify(PresenceNotify)
    /// `PONG` (61).
    case pong(Pong)
    /// `ERROR` (62).
    case error(ErrorPayload)

    /// The envelope type of this frame.
    public var messageType: MessageType {
        switch self {
        case .authChallenge: .authChallenge
        case .authSuccess: .authSuccess
        case .authError: .authError
        case .authRegisterChallenge: .authRegisterChallenge
        case .authRegisterSuccess: .authRegisterSuccess
        case .historyResponse: .historyResponse
        case .messageReceive: .messageReceive
        case .messageDelivered: .messageDelivered
        case .groupCreated: .groupCreated
        case .groupMemberAdded: .groupMemberAdded
        case .groupMemberRemoved: .groupMemberRemoved
        case .mlsKeyPackageResponse: .mlsKeyPackageResponse
        case .mlsWelcomeReceive: .mlsWelcomeReceive
        case .mlsCommitBroadcast: .mlsCommitBroadcast
        case .presenceNotify: .presenceNotify
        case .pong: .pong
        case .error: .error
        }
    }

    /// The serialized payload message.
    func serializedPayload() throws -> [UInt8] {
        switch self {
        case .authChallenge(let payload): try payload.serializedBytes()
        case .authSuccess(let payload): try payload.serializedBytes()
        case .authError(let payload): try payload.serializedBytes()
        case .authRegisterChallenge(let payload): try payload.serializedBytes()
        case .authRegisterSuccess(let payload): try payload.serializedBytes()
        case .historyResponse(let payload): try payload.serializedBytes()
        case .messageReceive(let payload): try payload.serializedBytes()
        case .messageDelivered(let payload): try payload.serializedBytes()
        case .groupCreated(let payload): try payload.serializedBytes()
        case .groupMemberAdded(let payload): try payload.serializedBytes()
        case .groupMemberRemoved(let payload): try payload.serializedBytes()
        case .mlsKeyPackageResponse(let payload): try payload.serializedBytes()
        case .mlsWelcomeReceive(let payload): try payload.serializedBytes()
        case .mlsCommitBroadcast(let payload): try payload.serializedBytes()
        case .presenceNotify(let payload): try payload.serializedBytes()
        case .pong(let payload): try payload.serializedBytes()
        case .error(let payload): try payload.serializedBytes()
        }
    }
}

extension ServerFrame: FrameDecoding {
    static func decode(_ type: MessageType, payload: [UInt8]) throws -> Self? {
        switch type {
        case .authChallenge: .authChallenge(try AuthChallenge(serializedBytes: payload))
        case .authSuccess: .authSuccess(try AuthSuccess(serializedBytes: payload))
        case .authError: .authError(try AuthError(serializedBytes: payload))
        case .authRegisterChallenge: .authRegisterChallenge(try AuthRegisterChallenge(serializedBytes: payload))
        case .authRegisterSuccess: .authRegisterSuccess(try AuthRegisterSuccess(serializedBytes: payload))
        case .historyResponse: .historyResponse(try HistoryResponse(serializedBytes: payload))
        case .messageReceive: .messageReceive(try MessageReceive(serializedBytes: payload))
        case .messageDelivered: .messageDelivered(try MessageDelivered(serializedBytes: payload))
        case .groupCreated: .groupCreated(try GroupCreated(serializedBytes: payload))
        case .groupMemberAdded: .groupMemberAdded(try GroupMemberAdded(serializedBytes: payload))
        case .groupMemberRemoved: .groupMemberRemoved(try GroupMemberRemoved(serializedBytes: payload))
        case .mlsKeyPackageResponse: .mlsKeyPackageResponse(try MlsKeyPackageResponse(serializedBytes: payload))
        case .mlsWelcomeReceive: .mlsWelcomeReceive(try MlsWelcomeReceive(serializedBytes: payload))
        case .mlsCommitBroadcast: .mlsCommitBroadcast(try MlsCommitBroadcast(serializedBytes: payload))
        case .presenceNotify: .presenceNotify(try PresenceNotify(serializedBytes: payload))
        case .pong: .pong(try Pong(serializedBytes: payload))
        case .error: .error(try ErrorPayload(serializedBytes: payload))
        default: nil
        }
    }
}
