import OutpostStore
import OutpostSync

/// Every error the runtime throws: a ``Code`` to switch on and a message to show.
///
/// A struct with static codes rather than an enum, so that new codes never break a caller's
/// `switch`. Storage failures keep the store's own error as ``storeError``.
public struct OutpostError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The address is not a usable URL.
        public static let invalidURL = Code("invalidURL")
        /// Plain `ws`/`http` to a host that is not loopback.
        public static let insecureURL = Code("insecureURL")
        /// No TCP connection, TLS or HTTP exchange could be completed.
        public static let connectionFailed = Code("connectionFailed")
        /// The peer did not answer in time.
        public static let timedOut = Code("timedOut")
        /// The peer broke the protocol (no `sovereign.v1`, wrong status, oversized reply …).
        public static let protocolViolation = Code("protocolViolation")
        /// `/.well-known/sovereign.json` does not match its schema, or the server refused it
        /// (a 4xx other than 404 and 410, which mean a legacy server without a document).
        public static let invalidDiscoveryDocument = Code("invalidDiscoveryDocument")
        /// The server answered with an error of its own (HTTP 5xx).
        public static let serverError = Code("serverError")
        /// The server is already added.
        public static let serverAlreadyAdded = Code("serverAlreadyAdded")
        /// No server with this id (never added, or removed).
        public static let unknownServer = Code("unknownServer")
        /// No outbox item with this client message id.
        public static let unknownOutboxItem = Code("unknownOutboxItem")
        /// The client was closed.
        public static let closed = Code("closed")
        /// The encrypted store failed; see ``OutpostError/storeError``.
        public static let storage = Code("storage")
        /// An outbound payload over the 65,000-byte limit (PROTOCOL.md §9): never queued.
        public static let payloadTooLarge = Code("payloadTooLarge")
        /// A message lifespan of zero or less.
        public static let invalidLifespan = Code("invalidLifespan")
        /// The outbox refused a retry, cancel or edit in the item's state (in flight, sent
        /// before without an answer, already sent …); ``OutpostError/message`` says which.
        public static let outboxItemNotChangeable = Code("outboxItemNotChangeable")
        /// The server's partition cannot be opened (see ``ServerInfo/availability``); it can
        /// still be removed.
        public static let serverUnavailable = Code("serverUnavailable")
    }

    public let code: Code
    public let message: String
    /// The store's error, when ``code`` is ``Code/storage``.
    public let storeError: StoreError?

    public init(_ code: Code, _ message: String, storeError: StoreError? = nil) {
        self.code = code
        self.message = message
        self.storeError = storeError
    }

    public var description: String { "\(code): \(message)" }

    public static func storage(_ error: StoreError) -> OutpostError {
        OutpostError(.storage, "\(error)", storeError: error)
    }

    /// The outbox's refusal, under the code a front end switches on.
    public static func outbox(_ refusal: OutboxRefusal) -> OutpostError {
        switch refusal.code {
        case .payloadTooLarge: OutpostError(.payloadTooLarge, refusal.message)
        case .invalidLifespan: OutpostError(.invalidLifespan, refusal.message)
        default: OutpostError(.outboxItemNotChangeable, refusal.message)
        }
    }
}
