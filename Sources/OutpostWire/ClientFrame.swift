import SwiftProtobuf

/// A frame a client sends to a server (C→S), with its typed payload.
///
/// Every case maps to exactly one ``MessageType``; the types of ``ServerFrame`` are disjoint
/// from these, so a frame arriving in the wrong direction is a ``WireError/Code/wrongDirection``.
public enum ClientFrame: Hashable, Sendable {
    /// `AUTH_REQUEST` (1).
    case authRequest(AuthRequest)
    /// `AUTH_RESPONSE` (3).
    case authResponse(AuthResponse)
    /// `AUTH_REGISTER_REQUEST` (6).
    case authRegisterRequest(AuthRegisterRequest)
    /// `AUTH_REGISTER_RESPONSE` (8).
    case authRegisterResponse(AuthRegisterResponse)
    /// `HISTORY_REQUEST` (10), extension `history`.
    case historyRequest(HistoryRequest)
    /// `MESSAGE_SEND` (20).
    case messageSend(MessageSend)
    /// `MESSAGE_ACK` (22).
    case messageAck(MessageAck)
    /// `GROUP_CREATE` (30).
    case groupCreate(GroupCreate)
    /// `GROUP_INVITE` (32).
    case groupInvite(GroupInvite)
    /// `GROUP_LEAVE` (35).
    case groupLeave(GroupLeave)
    /// `MLS_KEY_PACKAGE_UPLOAD` (40).
    case mlsKeyPackageUpload(MlsKeyPackageUpload)
    /// `MLS_KEY_PACKAGE_FETCH` (41).
    case mlsKeyPackageFetch(MlsKeyPackageFetch)
    /// `MLS_WELCOME` (43).
    case mlsWelcome(MlsWelcome)
    /// `MLS_COMMIT` (45).
    case mlsCommit(MlsCommit)
    /// `PRESENCE_UPDATE` (50).
    case presenceUpdate(PresenceUpdate)
    /// `PING` (60).
    case ping(Ping)

    /// The envelope type of this frame.
    public var messageType: MessageType {
        switch self {
        case .authRequest: .authRequest
        case .authResponse: .authResponse
        case .authRegisterRequest: .authRegisterRequest
        case .authRegisterResponse: .authRegisterResponse
        case .historyRequest: .historyRequest
        case .messageSend: .messageSend
        case .messageAck: .messageAck
        case .groupCreate: .groupCreate
        case .groupInvite: .groupInvite
        case .groupLeave: .groupLeave
        case .mlsKeyPackageUpload: .mlsKeyPackageUpload
        case .mlsKeyPackageFetch: .mlsKeyPackageFetch
        case .mlsWelcome: .mlsWelcome
        case .mlsCommit: .mlsCommit
        case .presenceUpdate: .presenceUpdate
        case .ping: .ping
        }
    }

    /// The serialized payload message.
    func serializedPayload() throws -> [UInt8] {
        switch self {
        case .authRequest(let payload): try payload.serializedBytes()
        case .authResponse(let payload): try payload.serializedBytes()
        case .authRegisterRequest(let payload): try payload.serializedBytes()
        case .authRegisterResponse(let payload): try payload.serializedBytes()
        case .historyRequest(let payload): try payload.serializedBytes()
        case .messageSend(let payload): try payload.serializedBytes()
        case .messageAck(let payload): try payload.serializedBytes()
        case .groupCreate(let payload): try payload.serializedBytes()
        case .groupInvite(let payload): try payload.serializedBytes()
        case .groupLeave(let payload): try payload.serializedBytes()
        case .mlsKeyPackageUpload(let payload): try payload.serializedBytes()
        case .mlsKeyPackageFetch(let payload): try payload.serializedBytes()
        case .mlsWelcome(let payload): try payload.serializedBytes()
        case .mlsCommit(let payload): try payload.serializedBytes()
        case .presenceUpdate(let payload): try payload.serializedBytes()
        case .ping(let payload): try payload.serializedBytes()
        }
    }
}

extension ClientFrame: FrameDecoding {
    static func decode(_ type: MessageType, payload: [UInt8]) throws -> Self? {
        switch type {
        case .authRequest: .authRequest(try AuthRequest(serializedBytes: payload))
        case .authResponse: .authResponse(try AuthResponse(serializedBytes: payload))
        case .authRegisterRequest: .authRegisterRequest(try AuthRegisterRequest(serializedBytes: payload))
        case .authRegisterResponse: .authRegisterResponse(try AuthRegisterResponse(serializedBytes: payload))
        case .historyRequest: .historyRequest(try HistoryRequest(serializedBytes: payload))
        case .messageSend: .messageSend(try MessageSend(serializedBytes: payload))
        case .messageAck: .messageAck(try MessageAck(serializedBytes: payload))
        case .groupCreate: .groupCreate(try GroupCreate(serializedBytes: payload))
        case .groupInvite: .groupInvite(try GroupInvite(serializedBytes: payload))
        case .groupLeave: .groupLeave(try GroupLeave(serializedBytes: payload))
        case .mlsKeyPackageUpload: .mlsKeyPackageUpload(try MlsKeyPackageUpload(serializedBytes: payload))
        case .mlsKeyPackageFetch: .mlsKeyPackageFetch(try MlsKeyPackageFetch(serializedBytes: payload))
        case .mlsWelcome: .mlsWelcome(try MlsWelcome(serializedBytes: payload))
        case .mlsCommit: .mlsCommit(try MlsCommit(serializedBytes: payload))
        case .presenceUpdate: .presenceUpdate(try PresenceUpdate(serializedBytes: payload))
        case .ping: .ping(try Ping(serializedBytes: payload))
        default: nil
        }
    }
}
