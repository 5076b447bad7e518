import ArgumentParser
import Foundation
import NIOSSL
import OutpostLoopbackServer
import OutpostSimulation

/// `outpost-sim serve`: one simulated Sovereign server on a real loopback WebSocket, with the
/// simulator's fault controls as HTTP endpoints, so that real transports and front ends can be
/// tested against it.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a simulated Sovereign server on a loopback WebSocket.",
        discussion: """
            Discovery: GET /.well-known/sovereign.json (404 for upstream). WebSocket: /ws (subprotocol sovereign.v1).
            Controls (GET or POST): /control/token?user=me (prints a new session token),
            /control/post?from=alice&conversation=family&text=hi, /control/post-large?from=alice&conversation=family,
            /control/reset, /control/restart, /control/up, /control/blackhole?seconds=30, /control/down?seconds=30,
            /control/expire-sessions?user=me, /control/auth-glitch?seconds=30 (logins get AUTH_ERROR 9001),
            /control/clock-step?seconds=-30, /control/rate-limit?per_second=1&burst=1, /control/state.
            """)

    @Option(help: "The loopback address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port (0: any free port; the chosen one is printed).")
    var port = 8765

    @Option(help: "legacy, extended, or upstream (the upstream Sovereign server as observed: no discovery document, pushes to the newest login only).")
    var behaviour = "extended"

    @Option(help: "The server's display name.")
    var name = "Sovereign (simulated)"

    @Option(help: "Users with accounts, comma-separated; all are members of every conversation.")
    var users = "me,alice,bob"

    @Option(help: "Conversations, comma-separated.")
    var conversations = "family,work"

    @Option(help: "Print a session token for each user at start-up.")
    var printTokens = true

    @Option(help: "A PEM certificate chain for localhost: serve https and wss instead of http and ws.")
    var tlsCertificate: String?

    @Option(help: "The PEM private key of --tls-certificate.")
    var tlsKey: String?

    @Option(help: "Also accept this fixed session token for the user 'me' (for local demos).")
    var demoToken: String?

    func run() async throws {
        guard ["127.0.0.1", "::1", "localhost"].contains(host) else {
            throw ValidationError("serve listens on loopback only")
        }
        guard let behaviour = ServerBehaviour(rawValue: behaviour) else {
            throw ValidationError("behaviour must be legacy, extended or upstream")
        }
        let userList = users.split(separator: ",").map(String.init)
        let host = ServerHost(name: name, behaviour: behaviour, users: userList,
                              conversations: conversations.split(separator: ",").map(String.init))
        var tls: NIOSSLContext?
        if let tlsCertificate {
            guard let tlsKey else { throw ValidationError("--tls-certificate needs --tls-key") }
            let chain = try NIOSSLCertificate.fromPEMFile(tlsCertificate).map { NIOSSLCertificateSource.certificate($0) }
            tls = try NIOSSLContext(configuration: .makeServerConfiguration(
                certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: tlsKey, format: .pem))))
        }
        let server = try await WebSocketServer.start(host: self.host, port: port, serverHost: host, tls: tls)
        let web = tls == nil ? "http://\(self.host)" : "https://localhost"
        say("Serving \(name) (\(behaviour.rawValue)) on \(await host.websocketURL)")
        if await host.publishesDiscovery {
            say("Discovery: \(web):\(server.port)/.well-known/sovereign.json")
        } else {
            say("No discovery document (upstream): add \(web):\(server.port) and the client takes it for a legacy server at /ws")
        }
        if let demoToken {
            await host.registerToken(demoToken, for: "me")
            say("token me (fixed): \(demoToken)")
        }
        if printTokens {
            for user in userList { say("token \(user): \(await host.issueToken(for: user))") }
        }
        await server.waitUntilClosed()
    }
}

/// Writes a line at once, unbuffered, so that a script reading a pipe sees it immediately.
private func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

