import Foundation
import NIOCore
import NIOPosix
import Outpost
import OutpostLoopbackServer
import OutpostWire
import Testing

@Suite("WebSocket transport and discovery")
struct TransportTests {
    @Test func plainWebSocketsAreForLoopbackOnly() async throws {
        let error = await #expect(throws: OutpostError.self) {
            _ = try await NIOWebSocketTransport().connect(to: "ws://sovereign.example/ws")
        }
        #expect(error?.code == .insecureURL)
        let notWebSocket = await #expect(throws: OutpostError.self) {
            _ = try await NIOWebSocketTransport().connect(to: "ftp://127.0.0.1/ws")
        }
        #expect(notWebSocket?.code == .invalidURL)
    }

    /// Names that only look like loopback, and spellings of 127.0.0.1 that resolvers read
    /// differently: all refused for plain `ws` and `http`, before any connection or lookup.
    @Test(arguments: ["127.attacker.example", "127.0.0.1.nip.io", "localhost.attacker.example", "localhost.",
                      "0x7f.1", "0x7f000001", "2130706433", "0177.0.0.1", "127.1", "127.0.0.1.", "127.0.0.256",
                      "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::2]", "[fe80::1]", "128.0.0.1"])
    func plaintextToANameThatIsNotLoopbackIsRefused(_ host: String) async throws {
        let webSocket = await #expect(throws: OutpostError.self) {
            _ = try await NIOWebSocketTransport().connect(to: "ws://\(host):1/ws")
        }
        #expect(webSocket?.code == .insecureURL || webSocket?.code == .invalidURL, "ws://\(host)")
        let discovery = await #expect(throws: OutpostError.self) {
            _ = try await HTTPDiscoveryClient().discover(try ServerOrigin(parsing: "http://\(host):1"))
        }
        #expect(discovery?.code == .insecureURL || discovery?.code == .invalidURL, "http://\(host)")
    }

    /// The loopback literals and `localhost` may use plain `ws`: the attempt goes ahead (and
    /// is refused by the closed port, not by the rule).
    @Test(arguments: ["127.0.0.1", "127.0.0.2", "127.255.255.254", "localhost", "LOCALHOST", "[::1]", "[0:0:0:0:0:0:0:1]"])
    func plaintextToLoopbackIsAllowed(_ host: String) async throws {
        let error = await #expect(throws: OutpostError.self) {
            _ = try await NIOWebSocketTransport().connect(to: "ws://\(host):1/ws")
        }
        #expect(error?.code == .connectionFailed, "ws://\(host): \(String(describing: error))")
    }

    /// A server that sends frames in the same TCP write as its 101 answer: they are the
    /// WebSocket's first frames, not leftovers of the HTTP answer.
    @Test func framesInTheSameReadAsTheUpgradeAnswerArrive() async throws {
        let server = try await OneWriteUpgradeServer(frames: [0x82, 0x05] + Array("first".utf8) + [0x88, 0x02, 0x0F, 0xA0])
        let connection = try await NIOWebSocketTransport().connect(to: "ws://127.0.0.1:\(server.port)/ws")
        let received = Replies()
        let code = await connection.run { await received.append($0) }
        #expect(await received.all == [Array("first".utf8)])
        #expect(code == 4000)
        await server.close()
    }

    @Test func aConnectThatNeverCompletesTimesOut() async throws {
        let hanging = try await HangingListener()
        var configuration = NIOWebSocketTransport.Configuration()
        configuration.connectTimeout = .milliseconds(300)
        let error = await #expect(throws: OutpostError.self) {
            _ = try await NIOWebSocketTransport(configuration: configuration).connect(to: "ws://127.0.0.1:\(hanging.port)/ws")
        }
        #expect(error?.code == .timedOut)
        await hanging.close()
    }

    @Test func aRefusedConnectionIsAConnectionFailure() async throws {
        let listener = try await HangingListener()
        let port = listener.port
        await listener.close()
        let error = await #expect(throws: OutpostError.self) {
            _ = try await NIOWebSocketTransport().connect(to: "ws://127.0.0.1:\(port)/ws")
        }
        #expect(error?.code == .connectionFailed)
    }

    @Test func anHTTPAnswerInsteadOfAnUpgradeIsAProtocolViolation() async throws {
        let server = try await NotFoundListener()
        let error = await #expect(throws: OutpostError.self) {
            _ = try await NIOWebSocketTransport().connect(to: "ws://127.0.0.1:\(server.port)/ws")
        }
        #expect(error?.code == .protocolViolation)
        await server.close()
    }

    @Test func framesRoundTripOverTheSubprotocol() async throws {
        let server = try await TestServer.start("Home")
        let connection = try await NIOWebSocketTransport().connect(to: "ws://127.0.0.1:\(server.port)/ws")
        // A PING before authentication is allowed and answered with a PONG echoing its id.
        connection.send(try WireCodec.encode(ClientEnvelope(requestID: "p1", frame: .ping(Ping()))))
        let replies = Replies()
        let closeCode = await connection.run { bytes in
            await replies.append(bytes)
            connection.close(code: 1000)
        }
        let first = try #require(await replies.all.first)
        let reply = try WireCodec.decodeServerEnvelope(first)
        guard case .pong = reply.frame else {
            Issue.record("expected a PONG, got \(reply)")
            return
        }
        #expect(reply.requestID == "p1")
        #expect(closeCode == nil || closeCode == 1000)
        await server.stop()
    }

    @Test func discoveryFetchesAndValidatesTheDocument() async throws {
        let server = try await TestServer.start("Home")
        let document = try await HTTPDiscoveryClient().discover(server.origin)
        #expect(document.name == "Home")
        #expect(document.websocketURL == "ws://127.0.0.1:\(server.port)/ws")
        #expect(Set(document.capabilities).isSuperset(of: ["history", "sequence", "idempotent-send"]))

        await server.host.setDown(true)
        let down = await #expect(throws: OutpostError.self) { _ = try await HTTPDiscoveryClient().discover(server.origin) }
        #expect(down?.code == .serverError, "a 5xx shows nothing: the add fails")
        #expect(down?.message.contains("503") == true)
        await server.stop()
    }

    @Test func aServerWithoutADocumentIsALegacyServerAtSlashWS() async throws {
        let server = try await TestServer.start("Upstream", behaviour: .legacy)
        await server.host.setPublishesDiscovery(false)
        let document = try await HTTPDiscoveryClient().discover(server.origin)
        #expect(!document.isPublished)
        #expect(document.name == "127.0.0.1")
        #expect(document.websocketURL == "ws://127.0.0.1:\(server.port)/ws")
        #expect(document.capabilities == ["mls", "passkey"])
        #expect(DiscoveryDocument.absent(for: try ServerOrigin(parsing: "https://chat.example:8443")).websocketURL
                    == "wss://chat.example:8443/ws")
        await server.stop()
        // Nothing listening is no evidence of a server: the add fails.
        let refused = await #expect(throws: OutpostError.self) { _ = try await HTTPDiscoveryClient().discover(server.origin) }
        #expect(refused?.code == .connectionFailed)
    }

    @Test func aDocumentThatBreaksTheSchemaIsRefusedWithTheField() throws {
        let missing = #expect(throws: OutpostError.self) {
            _ = try DiscoveryDocument(json: Data(#"{"name": "x", "version": "1"}"#.utf8), source: "test")
        }
        #expect(missing?.code == .invalidDiscoveryDocument)
        #expect(missing?.message.contains("websocket_url") == true)
        let plaintext = #expect(throws: OutpostError.self) {
            _ = try DiscoveryDocument(json: Data(#"{"name": "x", "version": "1", "websocket_url": "ws://far.example/ws"}"#.utf8),
                                      source: "test")
        }
        #expect(plaintext?.code == .insecureURL)
        let good = try DiscoveryDocument(
            json: Data(#"{"name": "x", "version": "1", "websocket_url": "wss://far.example/ws", "capabilities": ["mls"], "extra": 1}"#.utf8),
            source: "test")
        #expect(good.capabilities == ["mls"])
    }

    @Test func discoveryOverPlainHTTPIsForLoopbackOnly() async throws {
        let error = await #expect(throws: OutpostError.self) {
            _ = try await HTTPDiscoveryClient().discover(try ServerOrigin(parsing: "http://sovereign.example"))
        }
        #expect(error?.code == .insecureURL)
    }
}

actor Replies {
    private(set) var all: [[UInt8]] = []
    func append(_ bytes: [UInt8]) { all.append(bytes) }
}

/// A WebSocket server of one answer: it reads the upgrade request and writes its 101 answer and
/// `frames` in a single write, so that the client reads them together.
final class OneWriteUpgradeServer: Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    init(frames: [UInt8]) async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture { try child.pipeline.syncOperations.addHandler(Answer(frames: frames)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func close() async { try? await channel.close() }

    private final class Answer: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let frames: [UInt8]
        var request = ""

        init(frames: [UInt8]) { self.frames = frames }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            request += bytes.readString(length: bytes.readableBytes) ?? ""
            guard request.contains("\r\n\r\n") else { return }
            let key = request.split(separator: "\r\n").first { $0.lowercased().hasPrefix("sec-websocket-key:") }
                .map { $0.dropFirst("sec-websocket-key:".count).trimmingCharacters(in: .whitespaces) } ?? ""
            let accept = Data(SHA1.digest(Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))).base64EncodedString()
            let answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: \(accept)\r\nSec-WebSocket-Protocol: \(WireCodec.subprotocol)\r\n\r\n"
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: Array(answer.utf8) + frames)), promise: nil)
        }

        /// The client answers the close frame and disconnects; then so does the server. One
        /// that lost the frames never answers: the connection ends after a while instead (only
        /// to turn that hang into a failure), and the client sees no close code.
        func channelActive(context: ChannelHandlerContext) {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .seconds(10)) { loopBound.value.close(promise: nil) }
            context.fireChannelActive()
        }
    }
}

/// SHA-1 (FIPS 180-4), for the WebSocket handshake's accept value only.
enum SHA1 {
    static func digest(_ message: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0]
        var padded = message + [0x80]
        while padded.count % 64 != 56 { padded.append(0) }
        padded += (0..<8).reversed().map { UInt8(truncatingIfNeeded: (UInt64(message.count) * 8) >> ($0 * 8)) }
        for chunk in stride(from: 0, to: padded.count, by: 64) {
            var w = (0..<16).map { index in
                padded[chunk + index * 4..<chunk + index * 4 + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            }
            for index in 16..<80 {
                let x = w[index - 3] ^ w[index - 8] ^ w[index - 14] ^ w[index - 16]
                w.append(x << 1 | x >> 31)
            }
            var (a, b, c, d, e) = (h[0], h[1], h[2], h[3], h[4])
            for index in 0..<80 {
                let (f, k): (UInt32, UInt32) = switch index {
                case 0..<20: (b & c | ~b & d, 0x5A82_7999)
                case 20..<40: (b ^ c ^ d, 0x6ED9_EBA1)
                case 40..<60: (b & c | b & d | c & d, 0x8F1B_BCDC)
                default: (b ^ c ^ d, 0xCA62_C1D6)
                }
                let t = (a << 5 | a >> 27) &+ f &+ e &+ k &+ w[index]
                (e, d, c, b, a) = (d, c, b << 30 | b >> 2, a, t)
            }
            h = [h[0] &+ a, h[1] &+ b, h[2] &+ c, h[3] &+ d, h[4] &+ e]
        }
        return h.flatMap { word in (0..<4).reversed().map { UInt8(truncatingIfNeeded: word >> ($0 * 8)) } }
    }
}

