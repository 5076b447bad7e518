import Foundation
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
