import SwiftProtobuf

// Short names for the generated payload types (Schemas/proto/sovereign/v1/sovereign.proto).
public typealias AuthRequest = Sovereign_Protocol_V1_AuthRequest
public typealias AuthResponse = Sovereign_Protocol_V1_AuthResponse
public typealias AuthRegisterRequest = Sovereign_Protocol_V1_AuthRegisterRequest
public typealias AuthRegisterResponse = Sovereign_Protocol_V1_AuthRegisterResponse
public typealias HistoryRequest = Sovereign_Protocol_V1_HistoryRequest
public typealias MessageSend = Sovereign_Protocol_V1_MessageSend
public typealias MessageAck = Sovereign_Protocol_V1_MessageAck
public typealias GroupCreate = Sovereign_Protocol_V1_GroupCreate
public typealias GroupInvite = Sovereign_Protocol_V1_GroupInvite
public typealias GroupLeave = Sovereign_Protocol_V1_GroupLeave
public typealias MlsKeyPackageUpload = Sovereign_Protocol_V1_MlsKeyPackageUpload
public typealias MlsKeyPackageFetch = Sovereign_Protocol_V1_MlsKeyPackageFetch
public typealias MlsWelcome = Sovereign_Protocol_V1_MlsWelcome
public typealias MlsCommit = Sovereign_Protocol_V1_MlsCommit
public typealias PresenceUpdate = Sovereign_Protocol_V1_PresenceUpdate
public typealias Ping = Sovereign_Protocol_V1_Ping
public typealias AuthChallenge = Sovereign_Protocol_V1_AuthChallenge
public typealias AuthSuccess = Sovereign_Protocol_V1_AuthSuccess
public typealias AuthError = Sovereign_Protocol_V1_AuthError
public typealias AuthRegisterChallenge = Sovereign_Protocol_V1_AuthRegisterChallenge
public typealias AuthRegisterSuccess = Sovereign_Protocol_V1_AuthRegisterSuccess
public typealias HistoryResponse = Sovereign_Protocol_V1_HistoryResponse
public typealias MessageReceive = Sovereign_Protocol_V1_MessageReceive
public typealias MessageDelivered = Sovereign_Protocol_V1_MessageDelivered
public typealias GroupCreated = Sovereign_Protocol_V1_GroupCreated
public typealias GroupMemberAdded = Sovereign_Protocol_V1_GroupMemberAdded
public typealias GroupMemberRemoved = Sovereign_Protocol_V1_GroupMemberRemoved
public typealias MlsKeyPackageResponse = Sovereign_Protocol_V1_MlsKeyPackageResponse
public typealias MlsWelcomeReceive = Sovereign_Protocol_V1_MlsWelcomeReceive
public typealias MlsCommitBroadcast = Sovereign_Protocol_V1_MlsCommitBroadcast
public typealias PresenceNotify = Sovereign_Protocol_V1_PresenceNotify
public typealias Pong = Sovereign_Protocol_V1_Pong
public typealias ErrorPayload = Sovereign_Protocol_V1_Error
public typealias GroupMember = Sovereign_Protocol_V1_GroupMember
public typealias MessageType = Sovereign_Protocol_V1_MessageType
public typealias Envelope = Sovereign_Protocol_V1_Envelope

/// A frame a client sends (C→S).
public enum ClientFrame: Hashable, Sendable {
    case authRequest(AuthRequest)
    case authResponse(AuthResponse)
    case authRegisterRequest(AuthRegisterRequest)
    case authRegisterResponse(AuthRegisterResponse)
    case historyRequest(HistoryRequest)
    case messageSend(MessageSend)
    case messageAck(MessageAck)
    case groupCreate(GroupCreate)
    case groupInvite(GroupInvite)
    case groupLeave(GroupLeave)
    case mlsKeyPackageUpload(MlsKeyPackageUpload)
    case mlsKeyPackageFetch(MlsKeyPackageFetch)
    case mlsWelcome(MlsWelcome)
    case mlsCommit(MlsCommit)
    case presenceUpdate(PresenceUpdate)
    case ping(Ping)

    /// The envelope type number of this frame.
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

    /// Decodes `payload` as the message of `type`; `nil` when `type` is not of this direction.
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

/// A frame a server sends (S→C).
public enum ServerFrame: Hashable, Sendable {
    case authChallenge(AuthChallenge)
    case authSuccess(AuthSuccess)
    case authError(AuthError)
    case authRegisterChallenge(AuthRegisterChallenge)
    case authRegisterSuccess(AuthRegisterSuccess)
    case historyResponse(HistoryResponse)
    case messageReceive(MessageReceive)
    case messageDelivered(MessageDelivered)
    case groupCreated(GroupCreated)
    case groupMemberAdded(GroupMemberAdded)
    case groupMemberRemoved(GroupMemberRemoved)
    case mlsKeyPackageResponse(MlsKeyPackageResponse)
    case mlsWelcomeReceive(MlsWelcomeReceive)
    case mlsCommitBroadcast(MlsCommitBroadcast)
    case presenceNotify(PresenceNotify)
    case pong(Pong)
    case error(ErrorPayload)

    /// The envelope type number of this frame.
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

    /// Decodes `payload` as the message of `type`; `nil` when `type` is not of this direction.
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

/// A client frame with its request id.
public struct ClientEnvelope: Hashable, Sendable {
    public var requestID: String
    public var frame: ClientFrame

    public init(requestID: String, frame: ClientFrame) {
        self.requestID = requestID
        self.frame = frame
    }
}

/// A server frame with its request id (empty on server-initiated frames).
public struct ServerEnvelope: Hashable, Sendable {
    public var requestID: String
    public var frame: ServerFrame

    public init(requestID: String, frame: ServerFrame) {
        self.requestID = requestID
        self.frame = frame
    }
}
