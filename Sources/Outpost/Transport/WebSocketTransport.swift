/// How the runtime reaches a Sovereign server: WebSocket connections carrying one serialized
/// `Envelope` per binary message.
///
/// ``NIOWebSocketTransport`` is the implementation that ships with Outpost (swift-nio, TLS for
/// `wss`). An Apple front end may plug in its own (for example over `URLSessionWebSocketTask`)
/// by conforming to this protocol; the sync core above it does not change.
public protocol WebSocketTransport: Sendable {
    /// Opens a WebSocket to `url`, asking for the subprotocol `sovereign.v1`, and returns once
    /// the handshake is complete and the server agreed to the subprotocol.
    ///
    /// - Throws: `OutpostError` (`OutpostError.Code.connectionFailed`,
    ///   `OutpostError.Code.timedOut`, `OutpostError.Code.insecureURL` …) when no connection
    ///   could be opened.
    func connect(to url: String) async throws -> any WebSocketConnection
}

/// One open WebSocket connection.
public protocol WebSocketConnection: Sendable {
    /// Queues one binary message. Never blocks; messages go out in the order they were queued.
    func send(_ message: [UInt8])

    /// Sends a close frame with `code` and closes the connection.
    func close(code: UInt16)

    /// Hands every inbound binary message to `onMessage`, one at a time (the next is read only
    /// after `onMessage` returns, which is what pushes back on a flooding server), until the
    /// connection closes. Returns the WebSocket close code the server sent, if any.
    func run(onMessage: @escaping @Sendable ([UInt8]) async -> Void) async -> UInt16?
}
