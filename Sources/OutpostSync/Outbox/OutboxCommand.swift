import OutpostModel
import OutpostWire

/// What the front end asks of a server's outbox. The session decides; the store's state
/// checks stay behind it as a guard.
public enum OutboxCommand: Hashable, Sendable {
    /// Queue a new message.
    case send(OutboxDraft)
    /// Queue a failed or expired item again, with a new lifespan of `lifespan` µs.
    case retry(OutboxItem, lifespan: Int64)
    /// Cancel an item that has never been on the wire.
    case cancel(OutboxItem)
    /// Replace the payload of an item that has never been on the wire.
    case edit(OutboxItem, payload: [UInt8])
}

/// A message to queue.
public struct OutboxDraft: Hashable, Sendable {
    /// The largest `encrypted_payload` accepted (PROTOCOL.md §9): the envelope limit less room
    /// for the server's echo.
    public static let maxPayloadBytes = WireCodec.maxOutboundPayloadBytes

    /// Unique, chosen once and reused on every retry.
    public var clientMessageID: String
    public var conversationID: String
    public var messageType: String
    public var payload: [UInt8]
    /// How long the message may wait to be sent, in µs (it expires after that, never sent late).
    public var lifespan: Int64

    public init(clientMessageID: String, conversationID: String, messageType: String = "text", payload: [UInt8],
                lifespan: Int64) {
        self.clientMessageID = clientMessageID
        self.conversationID = conversationID
        self.messageType = messageType
        self.payload = payload
        self.lifespan = lifespan
    }
}

/// Why the outbox refused a command. Nothing was written.
public struct OutboxRefusal: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The payload is over ``OutboxDraft/maxPayloadBytes``.
        public static let payloadTooLarge = Code("payloadTooLarge")
        /// A lifespan of zero or less.
        public static let invalidLifespan = Code("invalidLifespan")
        /// The item is on the wire right now.
        public static let inFlight = Code("inFlight")
        /// The item was sent at least once without an answer: the server may have stored it.
        public static let mayHaveBeenDelivered = Code("mayHaveBeenDelivered")
        /// The item's state does not allow the command (retrying a sent item …).
        public static let notAllowed = Code("notAllowed")
        /// An item with this client message id is already queued.
        public static let duplicateClientMessageID = Code("duplicateClientMessageID")
    }

    public let code: Code
    public let message: String

    public var description: String { "\(code): \(message)" }

    static func payloadTooLarge(_ size: Int) -> OutboxRefusal {
        OutboxRefusal(code: .payloadTooLarge,
                      message: "a payload of \(size) bytes is over the \(OutboxDraft.maxPayloadBytes)-byte limit")
    }
    static let invalidLifespan = OutboxRefusal(code: .invalidLifespan, message: "a message needs a lifespan above zero")
    static func inFlight(_ id: String) -> OutboxRefusal {
        OutboxRefusal(code: .inFlight, message: "outbox item \(id) is on the wire; wait for the server's answer")
    }
    static func mayHaveBeenDelivered(_ id: String) -> OutboxRefusal {
        OutboxRefusal(code: .mayHaveBeenDelivered,
                      message: "outbox item \(id) was sent before without an answer: the server may already have it")
    }
    static func notAllowed(_ item: OutboxItem, _ command: String) -> OutboxRefusal {
        OutboxRefusal(code: .notAllowed, message: "outbox item \(item.clientMessageID) is \(item.state.rawValue): cannot \(command) it")
    }
    static func duplicateClientMessageID(_ id: String) -> OutboxRefusal {
        OutboxRefusal(code: .duplicateClientMessageID, message: "an item with client message id \(id) is already queued")
    }
}
