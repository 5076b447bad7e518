import Foundation
import NIOSSL
import Outpost
import OutpostLoopbackServer
import Testing

/// `wss` and `https` against a loopback server with a certificate for `localhost` signed by a
/// test CA (`Fixtures/`, made once with openssl: an EC P-256 CA, and a leaf with the subject
/// alternative names `DNS:localhost` and `IP:127.0.0.1`, both valid 20 years; the CA's private
/// key was thrown away).
@Suite("TLS")
struct TLSTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// A server speaking at most `maximumVersion` (the library's newest by default).
    static func startTLSServer(maximumVersion: TLSVersion? = nil) async throws -> (ServerHost, WebSocketServer) {
        let certificate = try NIOSSLCertificate.fromPEMFile(fixtures.appendingPathComponent("localhost.pem").path)
        let key = try NIOSSLPrivateKey(file: fixtures.appendingPathComponent("localhost.key.pem").path, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificate.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv1
        configuration.maximumTLSVersion = maximumVersion
        let context = try NIOSSLContext(configuration: configuration)
        let host = ServerHost(name: "Secure", behaviour: .extended, users: ["me", "alice"], conversations: ["family"], seed: 3)
        return (host, try await WebSocketServer.start(port: 0, serverHost: host, tls: context))
    }

    static func trustingTheTestCA() throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(fixtures.appendingPathComponent("test-ca.pem").path))
        return tls
    }

    @Test func aClientSyncsOverWSSAfterHTTPSDiscovery() async throws {
        let (host, server) = try await Self.startTLSServer()
        let directory = ScratchDirectory()
        let tls = try Self.trustingTheTestCA()
        let client = try makeClient(directory.path) { configuration in
            var transport = NIOWebSocketTransport.Configuration()
            transport.tls = tls
            configuration.transport = NIOWebSocketTransport(configuration: transport)
            var discovery = HTTPDiscoveryClient.Configuration()
            discovery.tls = tls
            configuration.discovery = HTTPDiscoveryClient(configuration: discovery)
        }
        let recorder = await EventRecorder.recording(client)
        await client.start()
        let id = try await client.addServer("https://localhost:\(server.port)",
                                            signIn: ServerSignIn(sessionToken: await host.issueToken(for: "me")))
        let item = try await client.send(Array("over TLS".utf8), to: "family", on: id)
        await host.post(from: "alice", to: "family", text: "back over TLS")
        try await recorder.wait("sent and received over wss") { events in
            events.sent(id, item.clientMessageID) && events.storedIDs(id).count >= 2
        }
        await client.close()
        await server.stop()
    }

    @Test func anUntrustedCertificateIsRefused() async throws {
        let (_, server) = try await Self.startTLSServer()
        // The system's trust roots do not know the test CA.
        let error = await #expect(throws: OutpostError.self) {
            _ = try await NIOWebSocketTransport().connect(to: "wss://localhost:\(server.port)/ws")
        }
        #expect(error?.code == .connectionFailed)
        let discovery = await #expect(throws: OutpostError.self) {
            _ = try await HTTPDiscoveryClient().discover(try ServerOrigin(parsing: "https://localhost:\(server.port)"))
        }
        #expect(discovery?.code == .connectionFailed)
        await server.stop()
    }

    /// TLS 1.0 and 1.1 are refused even when the app's configuration asks for them; the same
    /// server offering 1.2 is accepted, so the version is what fails.
    @Test(arguments: [TLSVersion.tlsv1, .tlsv11])
    func aServerOfferingOnlyAnOldTLSVersionIsRefused(_ version: TLSVersion) async throws {
        var tls = try Self.trustingTheTestCA()
        tls.minimumTLSVersion = .tlsv1
        var transportConfiguration = NIOWebSocketTransport.Configuration()
        transportConfiguration.tls = tls
        let transport = NIOWebSocketTransport(configuration: transportConfiguration)
        var discoveryConfiguration = HTTPDiscoveryClient.Configuration()
        discoveryConfiguration.tls = tls
        let discovery = HTTPDiscoveryClient(configuration: discoveryConfiguration)

        let (_, old) = try await Self.startTLSServer(maximumVersion: version)
        let refused = await #expect(throws: OutpostError.self) {
            _ = try await transport.connect(to: "wss://localhost:\(old.port)/ws")
        }
        #expect(refused?.code == .connectionFailed)
        let refusedDiscovery = await #expect(throws: OutpostError.self) {
            _ = try await discovery.discover(try ServerOrigin(parsing: "https://localhost:\(old.port)"))
        }
        #expect(refusedDiscovery?.code == .connectionFailed)
        await old.stop()

        let (_, current) = try await Self.startTLSServer(maximumVersion: .tlsv12)
        let connection = try await transport.connect(to: "wss://localhost:\(current.port)/ws")
        connection.close(code: 1000)
        _ = try await discovery.discover(try ServerOrigin(parsing: "https://localhost:\(current.port)"))
        await current.stop()
    }
}
