/// Where a queued outbound message is in its life.
public enum OutboxState: String, Hashable, Sendable, CaseIterable {
    /// Waiting to be sent (never sent, or returned after a disconnect or transient error).
    case queued
    /// Sent on the current connection; waiting for the echo.
    case inFlight = "in_flight"
    /// The server stored it: it has a server message id and timestamp.
    case sent
    /// A permanent error: visible to the user with its reason; retry or cancel.
    case failed
    /// The user cancelled it before it was stored.
    case cancelled
    /// Its lifespan ran out before it could be sent: never sent silently.
    case expired
}

/// Why an outbox item failed.
public struct OutboxFailure: Hashable, Sendable {
    /// The server's error code (PROTOCOL.md §6), when the server gave one.
    public var code: Int32?
    public var reason: String

    public init(code: Int32?, reason: String) {
        self.code = code
        self.reason = reason
    }
}

/// One message in a server's durable outbound queue.
public struct OutboxItem: Hashable, Sendable {
    /// FIFO position within the partition.
    public let queuePosition: Int64
    /// Fixed at enqueue time and reused on every retry.
    public let clientMessageID: String
    public let conversationID: String
    public var messageType: String
    public var payload: [UInt8]
    public var state: OutboxState
    public let enqueuedAt: Timestamp
    public var expiresAt: Timestamp
    /// How many times it has been put on the wire.
    public var attempts: Int
    /// The `request_id` of the latest attempt.
    public var lastRequestID: String?
    public var serverMessageID: String?
    public var serverTimestamp: Timestamp?
    public var failure: OutboxFailure?
    public var updatedAt: Timestamp

    public init(
        queuePosition: Int64, clientMessageID: String, conversationID: String, messageType: String, payload: [UInt8],
        state: OutboxState, enqueuedAt: Timestamp, expiresAt: Timestamp, attempts: Int = 0, lastRequestID: String? = nil,
        serverMessageID: String? = nil, serverTimestamp: Timestamp? = nil, failure: OutboxFailure? = nil,
        updatedAt: Timestamp
    ) {
        self.queuePosition = queuePosition
        self.clientMessageID = clientMessageID
        self.conversationID = conversationID
        self.messageType = messageType
        self.payload = payload
        self.state = state
        self.enqueuedAt = enqueuedAt
        self.expiresAt = expiresAt
        self.attempts = attempts
        self.lastRequestID = lastRequestID
        self.serverMessageID = serverMessageID
        self.serverTimestamp = serverTimestamp
        self.failure = failure
        self.updatedAt = updatedAt
    }
}
