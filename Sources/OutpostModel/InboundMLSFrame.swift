/// An MLS frame received from the server, waiting for the front end's MLS engine.
public struct InboundMLSFrame: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        /// `MLS_WELCOME_RECEIVE`
        case welcome
        /// `MLS_COMMIT_BROADCAST`
        case commit
        /// `MLS_KEY_PACKAGE_RESPONSE` (the conversation id is empty; the sender is the key
        /// package's owner).
        case keyPackage = "key_package"
    }

    public var id: Int64
    public var kind: Kind
    public var conversationID: String
    public var senderID: String
    public var data: [UInt8]
    public var receivedAt: Timestamp

    public init(id: Int64, kind: Kind, conversationID: String, senderID: String, data: [UInt8], receivedAt: Timestamp) {
        self.id = id
        self.kind = kind
        self.conversationID = conversationID
        self.senderID = senderID
        self.data = data
        self.receivedAt = receivedAt
    }
}
