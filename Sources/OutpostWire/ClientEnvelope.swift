/// A client frame with its request id: what one WebSocket message from a client carries.
public struct ClientEnvelope: Hashable, Sendable {
    /// Set on every request; the server echoes it on its direct reply.
    public var requestID: String
    /// The typed payload.
    public var frame: ClientFrame

    /// A client envelope.
    public init(requestID: String, frame: ClientFrame) {
        self.requestID = requestID
        self.frame = frame
    }
}
