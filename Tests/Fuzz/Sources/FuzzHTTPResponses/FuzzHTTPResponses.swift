import Foundation
import FuzzSupport
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOWebSocket
@_spi(Fuzzing) import Outpost
import OutpostStore
import OutpostWire

/// The bytes a server answers with, fed to the real swift-nio handlers the transport installs,
/// on an `EmbeddedChannel` (no sockets), twice:
///
/// 1. as the answer to the discovery request: `addHTTPClientHandlers()` as
///    `HTTPDiscoveryClient` installs it, the answer assembled the way it assembles it (status,
///    body up to the size limit, end), and the result interpreted as `discover(_:)` does:
///    `DiscoveryDocument(json:source:)` on 200, `DiscoveryDocument.absent(for:)` on 404/410.
/// 2. as the answer to the WebSocket upgrade, set up by `NIOWebSocketTransport.configureUpgrade`
///    itself (frame size limit, the `sovereign.v1` check, the fragment aggregator); bytes after
///    the 101 are WebSocket frames, handled as the connection handles them (binary → `WireCodec`).
///
/// `HTTPDiscoveryClient` keeps its answer handling private, so that assembling is restated here
/// from `DiscoveryClient.swift`; keep the two in step.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = Fuzz.bytes(start, count)
    DiscoveryExchange.run(answer: bytes)
    UpgradeExchange.run(answer: bytes)
    return 0
}

// MARK: - Discovery

enum DiscoveryExchange {
    /// `HTTPDiscoveryClient.Configuration().maxDocumentBytes`.
    static let limit = 64 * 1024
    static let origin = try! ServerOrigin(parsing: "https://fuzz.example")
    static let url = origin.value + HTTPDiscoveryClient.path

    static func run(answer: [UInt8]) {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
        var parts: [HTTPClientResponsePart] = []
        do {
            try channel.pipeline.syncOperations.addHTTPClientHandlers()
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: "fuzz.example")
            headers.add(name: "Accept", value: "application/json")
            headers.add(name: "Connection", value: "close")
            // The response decoder pairs answers with requests, so the request goes out first.
            try channel.writeOutbound(HTTPClientRequestPart.head(
                HTTPRequestHead(version: .http1_1, method: .GET, uri: HTTPDiscoveryClient.path, headers: headers)))
            try channel.writeOutbound(HTTPClientRequestPart.end(nil))
            while try channel.readOutbound(as: ByteBuffer.self) != nil {}
            try channel.writeInbound(channel.allocator.buffer(bytes: answer))
            while let part = try channel.readInbound(as: HTTPClientResponsePart.self) { parts.append(part) }
            // The server closes: a body without a length ends here.
            channel.pipeline.fireChannelInactive()
            try channel.throwIfErrorCaught()
        } catch {
            // A parse error: the client fails the exchange (`connectionFailed`).
        }
        while let part = try? channel.readInbound(as: HTTPClientResponsePart.self) { parts.append(part) }

        guard let (status, body) = assemble(parts) else { return }
        interpret(status: status, body: body)
    }

    /// The answer as `HTTPDiscoveryClient.get` assembles it; `nil` where it fails.
    static func assemble(_ parts: [HTTPClientResponsePart]) -> (HTTPResponseStatus, [UInt8])? {
        var status: HTTPResponseStatus?
        var body: [UInt8] = []
        for part in parts {
            switch part {
            case .head(let head):
                status = head.status
            case .body(let buffer):
                body += buffer.readableBytesView
                guard body.count <= limit else { return nil }
            case .end:
                guard let status else { break }
                return (status, body)
            }
        }
        return nil
    }

    /// What `HTTPDiscoveryClient.discover` makes of an answer.
    static func interpret(status: HTTPResponseStatus, body: [UInt8]) {
        switch status {
        case .ok:
            _ = try? DiscoveryDocument(json: Data(body), source: url)
        case .notFound, .gone:
            let document = DiscoveryDocument.absent(for: origin)
            if document.isPublished || !document.websocketURL.hasPrefix("wss://") {
                Fuzz.fail("the stand-in for a server without a document is wrong: \(document)")
            }
        default:
            // An error carrying the status code and reason phrase, as text.
            _ = "HTTP \(status.code) \(status.reasonPhrase)"
        }
    }
}

// MARK: - WebSocket upgrade

enum UpgradeExchange {
    enum Result: Sendable {
        case websocket
        case refused
    }

    /// A fixed key, so the `Sec-WebSocket-Accept` that completes the handshake is one the corpus
    /// can hold (`s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`, the example of RFC 6455); the transport draws
    /// a random key.
    static let requestKey = "dGhlIHNhbXBsZSBub25jZQ=="
    /// `NIOWebSocketTransport.Configuration().maxMessageBytes`.
    static let maxMessageBytes = WireCodec.maxInboundEnvelopeBytes

    static func run(answer: [UInt8]) {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
        let upgraded: EventLoopFuture<Result>
        do {
            upgraded = try configureUpgrade(channel)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
            while try channel.readOutbound(as: ByteBuffer.self) != nil {}
            // The whole answer in one read: frames sent with the 101 are handed on to the
            // WebSocket (the pipeline forwards what the HTTP decoder leaves over).
            try channel.writeInbound(channel.allocator.buffer(bytes: answer))
            channel.embeddedEventLoop.run()
        } catch {
            return
        }
        guard case .success(.websocket)? = peek(upgraded) else { return }
        // After the upgrade: the frames, as `NIOWebSocketConnection.run` handles them.
        while let frame = try? channel.readInbound(as: WebSocketFrame.self) {
            switch frame.opcode {
            case .binary:
                let message = Array(frame.unmaskedData.readableBytesView)
                if message.count > maxMessageBytes { Fuzz.fail("a message of \(message.count) bytes passed the limit") }
                if (try? WireCodec.decodeServerEnvelope(message)) == nil { _ = WireCodec.salvage(message) }
            case .connectionClose:
                var data = frame.unmaskedData
                _ = data.readInteger(as: UInt16.self)
            default:
                continue
            }
        }
    }

    /// The transport's own upgrade setup, with the fixed key; the frames are read from the
    /// embedded channel instead of an async wrapper.
    static func configureUpgrade(_ channel: EmbeddedChannel) throws -> EventLoopFuture<Result> {
        try NIOWebSocketTransport.configureUpgrade(channel, hostHeader: "fuzz.example", path: "/ws", maxMessageBytes: maxMessageBytes,
                                                   requestKey: requestKey, upgraded: { _ in .websocket }, refused: .refused)
    }

    /// The future's result if it has one (everything on an embedded loop completes in place).
    static func peek<Value: Sendable>(_ future: EventLoopFuture<Value>) -> Swift.Result<Value, any Error>? {
        let box = ResultBox<Value>()
        future.whenComplete { box.result = $0 }
        return box.result
    }

    /// Where `peek` puts a result. Unchecked: an embedded event loop runs its callbacks on the
    /// calling thread, inside `whenComplete` here, so there is no concurrent access.
    final class ResultBox<Value: Sendable>: @unchecked Sendable {
        var result: Swift.Result<Value, any Error>?
    }
}
