import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import OutpostWire

/// The WebSocket transport over swift-nio: TLS for `wss` URLs, the `sovereign.v1` subprotocol,
/// binary frames only, inbound messages up to 64 KiB and 1 KiB of headroom
/// (`WireCodec.maxInboundEnvelopeBytes`) and a deadline on the whole connect (TCP, TLS and
/// the HTTP upgrade).
///
/// Plain `ws` is accepted for loopback hosts only (IP literals in `127.0.0.0/8`, `::1`,
/// `localhost`; see `Endpoint.isLoopback`): the
/// protocol allows it for local tests, never across a network.
public struct NIOWebSocketTransport: WebSocketTransport {
    public struct Configuration: Sendable {
        /// The deadline of a connection attempt, handshakes included.
        public var connectTimeout: Duration = .seconds(10)
        /// The TLS settings for `wss`: system trust roots, TLS 1.2 at least (a lower minimum set
        /// here is raised to 1.2).
        public var tls: TLSConfiguration = .makeOutpostClientConfiguration()
        /// The largest inbound message; a larger one closes the connection (1009). The
        /// protocol's limit and 1 KiB of headroom (`WireCodec.maxInboundEnvelopeBytes`).
        public var maxMessageBytes = WireCodec.maxInboundEnvelopeBytes

        public init() {}
    }

    private let configuration: Configuration
    private let group: any EventLoopGroup

    public init(configuration: Configuration = Configuration(),
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = group
    }

    public func connect(to url: String) async throws -> any WebSocketConnection {
        let endpoint = try Endpoint(websocketURL: url)
        let sslContext = try endpoint.usesTLS ? NIOSSLContext(configuration: configuration.tls.withModernMinimum) : nil
        let maxMessageBytes = configuration.maxMessageBytes
        let deadline = ChannelDeadline(configuration.connectTimeout)
        let upgrade: EventLoopFuture<UpgradeResult>
        do {
            upgrade = try await ClientBootstrap(group: group)
                .connectTimeout(.nanoseconds(configuration.connectTimeout.nanoseconds))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: endpoint.host, port: endpoint.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let sslContext {
                            let handler = try NIOSSLClientHandler(context: sslContext, serverHostname: endpoint.serverNameIndication)
                            try channel.pipeline.syncOperations.addHandler(handler)
                        }
                        let result = try Self.configureUpgrade(channel, endpoint: endpoint, maxMessageBytes: maxMessageBytes)
                        deadline.arm(on: channel, until: result)
                        return result
                    }
                }
        } catch {
            throw OutpostError.connect(url, error)
        }
        do {
            switch try await upgrade.get() {
            case .websocket(let channel):
                return NIOWebSocketConnection(channel: channel)
            case .refused:
                throw OutpostError(.protocolViolation, "\(url): the server answered without upgrading to a WebSocket")
            }
        } catch let error as OutpostError {
            throw error
        } catch {
            throw deadline.expired
                ? OutpostError(.timedOut, "\(url): no WebSocket within \(configuration.connectTimeout)")
                : OutpostError.connect(url, error)
        }
    }

    // MARK: Handshake

    enum UpgradeResult: Sendable {
        case websocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>)
        case refused
    }

    private static func configureUpgrade(
        _ channel: any Channel, endpoint: Endpoint, maxMessageBytes: Int
    ) throws -> EventLoopFuture<UpgradeResult> {
        try configureUpgrade(channel, hostHeader: endpoint.hostHeader, path: endpoint.pathAndQuery, maxMessageBytes: maxMessageBytes,
                             upgraded: { .websocket(try NIOAsyncChannel(wrappingChannelSynchronously: $0)) },
                             refused: .refused)
    }

    /// The upgrade as every connection sets it up: the request, the frame size limit, the
    /// `sovereign.v1` check, the fragment aggregator, and frames read together with the 101
    /// answer handed on. `upgraded` makes the result of the channel once the WebSocket handlers
    /// are in place (the transport wraps it for async use; the fuzz target reads it directly).
    @_spi(Fuzzing) public static func configureUpgrade<Result: Sendable>(
        _ channel: any Channel, hostHeader: String, path: String, maxMessageBytes: Int,
        requestKey: String = NIOWebSocketClientUpgrader.randomRequestKey(),
        upgraded: @escaping @Sendable (any Channel) throws -> Result, refused: Result
    ) throws -> EventLoopFuture<Result> {
        let upgrader = NIOTypedWebSocketClientUpgrader<Result>(
            requestKey: requestKey,
            maxFrameSize: maxMessageBytes,
            upgradePipelineHandler: { channel, response in
                channel.eventLoop.makeCompletedFuture {
                    // A server that ignores the subprotocol would close with 1008 after the
                    // handshake; refuse it here with a clear error instead.
                    let agreed = response.headers["Sec-WebSocket-Protocol"].first?.trimmingCharacters(in: .whitespaces)
                    guard agreed == WireCodec.subprotocol else {
                        throw OutpostError(.protocolViolation,
                                           "the server did not agree to the \(WireCodec.subprotocol) subprotocol")
                    }
                    // Reassemble fragmented messages, up to the same limit as one frame.
                    try channel.pipeline.syncOperations.addHandler(NIOWebSocketFrameAggregator(
                        minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 64, maxAccumulatedFrameSize: maxMessageBytes))
                    return try upgraded(channel)
                }
            })
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: hostHeader)
        headers.add(name: "Sec-WebSocket-Protocol", value: WireCodec.subprotocol)
        headers.add(name: "Content-Length", value: "0")
        let configuration = NIOTypedHTTPClientUpgradeConfiguration(
            upgradeRequestHead: HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers),
            upgraders: [upgrader],
            notUpgradingCompletionHandler: { channel in
                channel.eventLoop.makeCompletedFuture { refused }
            })
        var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: configuration)
        // Frames the server sends in the same read as its 101 answer (a close at once, a push)
        // belong to the WebSocket: hand them on instead of dropping them with the HTTP decoder.
        pipeline.leftOverBytesStrategy = .forwardBytes
        return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: pipeline)
    }
}

/// A WebSocket connection opened by ``NIOWebSocketTransport``.
///
/// What waits to be written is bounded: a peer that stops reading while it keeps sending (and
/// pinging) would otherwise make the queue grow for ever. At most one pong waits (answering
/// the latest ping is enough, RFC 6455 §5.5.3), and when more than ``maxQueuedBytes`` of
/// messages wait, the connection is closed.
final class NIOWebSocketConnection: WebSocketConnection {
    private enum Outgoing: Sendable {
        case message([UInt8])
        case pong
        case close(UInt16)
    }

    /// The most message bytes that may wait to be written.
    static let maxQueuedBytes = 4 * 1024 * 1024

    /// How long a close waits for the server's close frame before the socket goes anyway.
    static let closeHandshakeTimeout: Duration = .seconds(2)

    private let channel: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>
    private let outgoing: AsyncStream<Outgoing>
    private let outgoingContinuation: AsyncStream<Outgoing>.Continuation
    private let queuedBytes = OutgoingBudget(limit: NIOWebSocketConnection.maxQueuedBytes)
    private let pendingPong = PendingPong()

    init(channel: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>) {
        self.channel = channel
        (outgoing, outgoingContinuation) = AsyncStream.makeStream()
    }

    func send(_ message: [UInt8]) {
        // The peer has not read for megabytes: it is not a healthy peer.
        if queuedBytes.reserve(message.count) { outgoingContinuation.yield(.message(message)) } else { close(code: 1008) }
    }

    func close(code: UInt16) {
        outgoingContinuation.yield(.close(code))
        outgoingContinuation.finish()
    }

    func run(onMessage: @escaping @Sendable ([UInt8]) async -> Void) async -> UInt16? {
        let closeCode = NIOLockedValueBox<UInt16?>(nil)
        let outgoing = self.outgoing
        let channel = self.channel.channel
        let queuedBytes = self.queuedBytes
        let pendingPong = self.pendingPong
        try? await self.channel.executeThenClose { inbound, outbound in
            await withDiscardingTaskGroup { group in
                group.addTask {
                    for await item in outgoing {
                        switch item {
                        case .message(let bytes):
                            var buffer = channel.allocator.buffer(capacity: bytes.count)
                            buffer.writeBytes(bytes)
                            try? await outbound.write(WebSocketFrame(fin: true, opcode: .binary, maskKey: .random(), data: buffer))
                            queuedBytes.release(bytes.count)
                        case .pong:
                            guard let data = pendingPong.take() else { continue }
                            try? await outbound.write(WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: data))
                        case .close(let code):
                            var data = channel.allocator.buffer(capacity: 2)
                            data.writeInteger(code)
                            try? await outbound.write(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: data))
                            // The handshake is over when the server's close frame comes back (the
                            // reader closes the channel then); a server that never answers gets
                            // a bounded wait.
                            channel.eventLoop.scheduleTask(in: .nanoseconds(Self.closeHandshakeTimeout.nanoseconds)) {
                                channel.close(promise: nil)
                            }
                            return
                        }
                    }
                }
                do {
                    for try await frame in inbound {
                        switch frame.opcode {
                        case .binary:
                            await onMessage(Array(frame.unmaskedData.readableBytesView))
                        case .ping:
                            if pendingPong.offer(frame.unmaskedData) { outgoingContinuation.yield(.pong) }
                        case .connectionClose:
                            var data = frame.unmaskedData
                            closeCode.withLockedValue { $0 = data.readInteger(as: UInt16.self) }
                            try? await channel.close()
                        case .text:
                            // The protocol is binary only: answer as a server would (1003).
                            close(code: 1003)
                        default:
                            continue
                        }
                    }
                } catch {
                    // A transport error is a disconnect like any other.
                }
                outgoingContinuation.finish()
                group.cancelAll()
            }
        }
        try? await channel.close()
        return closeCode.withLockedValue { $0 }
    }
}

/// The pong owed to the peer: only the latest ping is answered (RFC 6455 §5.5.3), so however
/// many pings arrive while the writer waits, one pong waits with them.
final class PendingPong: Sendable {
    private let data = NIOLockedValueBox<ByteBuffer?>(nil)

    /// Records a ping's data; `true` when a pong must be queued (none was waiting).
    func offer(_ ping: ByteBuffer) -> Bool {
        data.withLockedValue { pending in
            defer { pending = ping }
            return pending == nil
        }
    }

    /// The data to answer with, if a pong is owed.
    func take() -> ByteBuffer? {
        data.withLockedValue { pending in
            defer { pending = nil }
            return pending
        }
    }
}

/// How many bytes may wait to be written.
final class OutgoingBudget: Sendable {
    let limit: Int
    private let queued = NIOLockedValueBox(0)

    init(limit: Int) { self.limit = limit }

    /// Takes `count` bytes of the budget; `false` (and nothing taken) when that would pass it.
    func reserve(_ count: Int) -> Bool {
        queued.withLockedValue { queued in
            guard queued + count <= limit else { return false }
            queued += count
            return true
        }
    }

    func release(_ count: Int) {
        queued.withLockedValue { $0 -= count }
    }

    var inUse: Int { queued.withLockedValue { $0 } }
}

/// Closes a channel whose handshakes have not finished by a deadline.
final class ChannelDeadline: Sendable {
    private let timeout: Duration
    private let fired = NIOLockedValueBox(false)

    init(_ timeout: Duration) { self.timeout = timeout }

    var expired: Bool { fired.withLockedValue { $0 } }

    func arm<T>(on channel: any Channel, until done: EventLoopFuture<T>) {
        let task = channel.eventLoop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) { [fired] in
            fired.withLockedValue { $0 = true }
            channel.close(promise: nil)
        }
        done.whenComplete { _ in task.cancel() }
    }
}

extension OutpostError {
    /// A failed connection attempt, with timeouts told apart.
    static func connect(_ url: String, _ error: any Error) -> OutpostError {
        if let error = error as? OutpostError { return error }
        if let error = error as? ChannelError, case .connectTimeout = error {
            return OutpostError(.timedOut, "\(url): connect timed out")
        }
        return OutpostError(.connectionFailed, "\(url): \(error)")
    }
}
