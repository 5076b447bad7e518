// Short names for the types generated from Schemas/proto/sovereign/v1/sovereign.proto.
// The generated names carry the proto package (`Sovereign_Protocol_V1_`); these aliases are the
// names the rest of Outpost uses.

/// One serialized envelope per WebSocket message: `type`, `request_id`, `payload`.
public typealias Envelope = Sovereign_Protocol_V1_Envelope
/// The envelope's payload type; `.unspecified` (0) is invalid, unknown numbers are `.UNRECOGNIZED(n)`.
public typealias MessageType = Sovereign_Protocol_V1_MessageType

// MARK: Client to server

/// `AUTH_REQUEST` (1): a username, or a stored session token to resume a session.
public typealias AuthRequest = Sovereign_Protocol_V1_AuthRequest
/// `AUTH_RESPONSE` (3): the platform authenticator's assertion.
public typealias AuthResponse = Sovereign_Protocol_V1_AuthResponse
/// `AUTH_REGISTER_REQUEST` (6): starts a passkey registration.
public typealias AuthRegisterRequest = Sovereign_Protocol_V1_AuthRegisterRequest
/// `AUTH_REGISTER_RESPONSE` (8): the platform authenticator's attestation.
public typealias AuthRegisterResponse = Sovereign_Protocol_V1_AuthRegisterResponse
/// `HISTORY_REQUEST` (10, extension `history`): a page of messages after a cursor.
public typealias HistoryRequest = Sovereign_Protocol_V1_HistoryRequest
/// `MESSAGE_SEND` (20): an encrypted message for a conversation.
public typealias MessageSend = Sovereign_Protocol_V1_MessageSend
/// `MESSAGE_ACK` (22): the recipient has a message.
public typealias MessageAck = Sovereign_Protocol_V1_MessageAck
/// `GROUP_CREATE` (30): creates a group conversation.
public typealias GroupCreate = Sovereign_Protocol_V1_GroupCreate
/// `GROUP_INVITE` (32): adds a user to a group conversation.
public typealias GroupInvite = Sovereign_Protocol_V1_GroupInvite
/// `GROUP_LEAVE` (35): leaves a group conversation.
public typealias GroupLeave = Sovereign_Protocol_V1_GroupLeave
/// `MLS_KEY_PACKAGE_UPLOAD` (40): publishes an opaque key package.
public typealias MlsKeyPackageUpload = Sovereign_Protocol_V1_MlsKeyPackageUpload
/// `MLS_KEY_PACKAGE_FETCH` (41): asks for a user's key package.
public typealias MlsKeyPackageFetch = Sovereign_Protocol_V1_MlsKeyPackageFetch
/// `MLS_WELCOME` (43): an opaque MLS Welcome for one recipient.
public typealias MlsWelcome = Sovereign_Protocol_V1_MlsWelcome
/// `MLS_COMMIT` (45): an opaque MLS Commit for a conversation.
public typealias MlsCommit = Sovereign_Protocol_V1_MlsCommit
/// `PRESENCE_UPDATE` (50): the user's own presence.
public typealias PresenceUpdate = Sovereign_Protocol_V1_PresenceUpdate
/// `PING` (60): a liveness probe with a µs timestamp.
public typealias Ping = Sovereign_Protocol_V1_Ping

// MARK: Server to client

/// `AUTH_CHALLENGE` (2): a passkey login challenge.
public typealias AuthChallenge = Sovereign_Protocol_V1_AuthChallenge
/// `AUTH_SUCCESS` (4): the connection is authenticated.
public typealias AuthSuccess = Sovereign_Protocol_V1_AuthSuccess
/// `AUTH_ERROR` (5): authentication failed, with an error code.
public typealias AuthError = Sovereign_Protocol_V1_AuthError
/// `AUTH_REGISTER_CHALLENGE` (7): a passkey registration challenge.
public typealias AuthRegisterChallenge = Sovereign_Protocol_V1_AuthRegisterChallenge
/// `AUTH_REGISTER_SUCCESS` (9): the account exists and the connection is authenticated.
public typealias AuthRegisterSuccess = Sovereign_Protocol_V1_AuthRegisterSuccess
/// `HISTORY_RESPONSE` (11, extension `history`): one page of messages.
public typealias HistoryResponse = Sovereign_Protocol_V1_HistoryResponse
/// `MESSAGE_RECEIVE` (21): a stored message (an echo, a push or a history entry).
public typealias MessageReceive = Sovereign_Protocol_V1_MessageReceive
/// `MESSAGE_DELIVERED` (23): a recipient acknowledged one of the user's messages.
public typealias MessageDelivered = Sovereign_Protocol_V1_MessageDelivered
/// `GROUP_CREATED` (31): a new group conversation and its members.
public typealias GroupCreated = Sovereign_Protocol_V1_GroupCreated
/// `GROUP_MEMBER_ADDED` (33): a user joined a conversation.
public typealias GroupMemberAdded = Sovereign_Protocol_V1_GroupMemberAdded
/// `GROUP_MEMBER_REMOVED` (34): a user left or was removed from a conversation.
public typealias GroupMemberRemoved = Sovereign_Protocol_V1_GroupMemberRemoved
/// `MLS_KEY_PACKAGE_RESPONSE` (42): a user's opaque key package.
public typealias MlsKeyPackageResponse = Sovereign_Protocol_V1_MlsKeyPackageResponse
/// `MLS_WELCOME_RECEIVE` (44): an opaque MLS Welcome from a sender.
public typealias MlsWelcomeReceive = Sovereign_Protocol_V1_MlsWelcomeReceive
/// `MLS_COMMIT_BROADCAST` (46): an opaque MLS Commit relayed to a conversation's members.
public typealias MlsCommitBroadcast = Sovereign_Protocol_V1_MlsCommitBroadcast
/// `PRESENCE_NOTIFY` (51): another user's presence.
public typealias PresenceNotify = Sovereign_Protocol_V1_PresenceNotify
/// `PONG` (61): the reply to a `PING`, echoing its timestamp and request id.
public typealias Pong = Sovereign_Protocol_V1_Pong
/// `ERROR` (62): a failed request or a failing connection. (Named `ErrorPayload` so it does not
/// shadow Swift's `Error` protocol.)
public typealias ErrorPayload = Sovereign_Protocol_V1_Error

// MARK: Nested

/// A member of a group conversation, inside `GROUP_CREATED`.
public typealias GroupMember = Sovereign_Protocol_V1_GroupMember
