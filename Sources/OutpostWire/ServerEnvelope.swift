/// A server frame with its request id: what one WebSocket message from a server carries.
public struct ServerEnvelope: Hashable, Sendable {
    /// The request id of the request this frame answers; empty on server-initiated frames
    /// (pushes, broadcasts, notifications).
    public var requestID: String
    /// The typed payload.
    public var frame: ServerFrame

    /// A server envelope.
    public init(requestID: String, frame: ServerFrame) {
        self.requestID = requestID
        self.frame = frame
    }
}
