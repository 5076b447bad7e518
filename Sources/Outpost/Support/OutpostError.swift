import OutpostStore

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
        /// `/.well-known/sovereign.json` is missing or does not match its schema.
        public static let invalidDiscoveryDocument = Code("invalidDiscoveryDocument")
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

    static func storage(_ error: StoreError) -> OutpostError {
        OutpostError(.storage, "\(error)", storeError: error)
    }
}
