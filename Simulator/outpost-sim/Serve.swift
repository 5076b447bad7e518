import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import OutpostSimulation
import OutpostStore
import OutpostSync
import OutpostWire

/// `outpost-sim serve`: one simulated Sovereign server on a real loopback WebSocket, with the
/// simulator's fault controls as HTTP endpoints, so that real transports and front ends can be
/// tested against it.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a simulated Sovereign server on a loopback WebSocket.",
        discussion: """
            Discovery: GET /.well-known/sovereign.json. WebSocket: /ws (subprotocol sovereign.v1).
            Controls (GET or POST): /control/token?user=me (prints a new session token),
            /control/post?from=alice&conversation=family&text=hi, /control/reset, /control/restart,
            /control/blackhole?seconds=30, /control/down?seconds=30, /control/expire-sessions?user=me,
            /control/clock-step?seconds=-30, /control/rate-limit?per_second=1&burst=1, /control/state.
            """)

    @Option(help: "The loopback address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port (0: any free port; the chosen one is printed).")
    var port = 8765

    @Option(help: "legacy or extended.")
    var behaviour = "extended"

    @Option(help: "The server's display name.")
    var name = "Sovereign (simulated)"

    @Option(help: "Users with accounts, comma-separated; all are members of every conversation.")
    var users = "me,alice,bob"

    @Option(help: "Conversations, comma-separated.")
    var conversations = "family,work"

    @Option(help: "Print a session token for each user at start-up.")
    var printTokens = true

    func run() async throws {
        guard ["127.0.0.1", "::1", "localhost"].contains(host) else {
            throw ValidationError("serve listens on loopback only")
        }
        guard let behaviour = ServerBehaviour(rawValue: behaviour) else {
            throw ValidationError("behaviour must be legacy or extended")
        }
        let userList = users.split(separator: ",").map(String.init)
        let host = ServerHost(name: name, behaviour: behaviour, users: userList,
                              conversations: conversations.split(separator: ",").map(String.init))
        let server = try await WebSocketServer.start(host: self.host, port: port, serverHost: host)
        say("Serving \(name) (\(behaviour.rawValue)) on ws://\(self.host):\(server.port)/ws")
        say("Discovery: http://\(self.host):\(server.port)/.well-known/sovereign.json")
        if printTokens {
            for user in userList { say("token \(user): \(await host.issueToken(for: user))") }
        }
        try await server.waitUntilClosed()
    }
}

/// Writes a line at once, unbuffered, so that a script reading a pipe sees it immediately.
private func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Owns the simulated server and the open connections; every frame goes through it in order.
actor ServerHost {
    private let server: SimulatedServer
    private let name: String
    private var connections: [UInt64: (channel: any Channel, writer: NIOAsyncChannelOutboundWriter<WebSocketFrame>)] = [:]
    private var nextConnection: UInt64 = 0
    private var silentUntil: ContinuousClock.Instant?
    private var downUntil: ContinuousClock.Instant?
    private var random = SplitMix64(seed: UInt64(UInt32.random(in: 0...UInt32.max)))
    var port = 0

    init(name: String, behaviour: ServerBehaviour, users: [String], conversations: [String]) {
        self.name = name
        server = SimulatedServer(name: name, configuration: .init(behaviour: behaviour))
        for conversation in conversations {
            server.createConversation(conversation, title: conversation, members: users)
        }
    }

    /// Wall-clock time: this is a real server, not a simulation.
    private var now: Timestamp { Timestamp(microseconds: Int64(Date().timeIntervalSince1970 * 1_000_000)) }

    var isDown: Bool { downUntil.map { ContinuousClock.now < $0 } ?? false }
    private var isSilent: Bool { silentUntil.map { ContinuousClock.now < $0 } ?? false }

    func setPort(_ port: Int) { self.port = port }

    func discoveryDocument() -> String {
        let capabilities = server.capabilities.map { "\"\($0)\"" }.joined(separator: ", ")
        return """
            {"name": "\(name)", "version": "1.0.0", "websocket_url": "ws://127.0.0.1:\(port)/ws", \
            "registration": "open", "capabilities": [\(capabilities)]}
            """
    }

    func issueToken(for user: String) -> String {
        server.issueToken(for: user, now: now, random: &random)
    }

    // MARK: Connections

    func opened(channel: any Channel, writer: NIOAsyncChannelOutboundWriter<WebSocketFrame>) -> UInt64 {
        nextConnection += 1
        connections[nextConnection] = (channel, writer)
        server.connectionOpened(nextConnection, now: now)
        return nextConnection
    }

    func received(_ bytes: [UInt8], on id: UInt64) async {
        guard !isSilent else { return }
        await perform(server.receive(bytes, on: id, now: now))
    }

    func authDeadline(_ id: UInt64) async {
        await perform(server.authDeadlinePassed(id))
    }

    func closed(_ id: UInt64) {
        connections.removeValue(forKey: id)
        server.connectionClosed(id)
    }

    func close(_ id: UInt64, code: UInt16) async {
        guard let connection = connections.removeValue(forKey: id) else { return }
        server.connectionClosed(id)
        var data = connection.channel.allocator.buffer(capacity: 2)
        data.writeInteger(code)
        try? await connection.writer.write(WebSocketFrame(fin: true, opcode: .connectionClose, data: data))
        try? await connection.channel.close()
    }

    private func perform(_ outputs: [SimulatedServer.Output]) async {
        for output in outputs {
            switch output {
            case .send(let id, let bytes):
                guard !isSilent, let connection = connections[id] else { continue }
                var buffer = connection.channel.allocator.buffer(capacity: bytes.count)
                buffer.writeBytes(bytes)
                try? await connection.writer.write(WebSocketFrame(fin: true, opcode: .binary, data: buffer))
                server.frameDelivered(id)
            case .close(let id, let code):
                await close(id, code: code)
            }
        }
    }

    // MARK: Controls

    func control(_ action: String, _ query: [String: String]) async -> (status: HTTPResponseStatus, body: String) {
        let seconds = Double(query["seconds"] ?? "30") ?? 30
        switch action {
        case "token":
            return (.ok, issueToken(for: query["user"] ?? "me") + "\n")
        case "post":
            let outputs = server.peerPost(from: query["from"] ?? "alice", conversationID: query["conversation"] ?? "family",
                                          payload: Array((query["text"] ?? "hello").utf8), now: now)
            await perform(outputs)
            return (.ok, "posted\n")
        case "reset":
            for id in connections.keys.sorted() {
                server.connectionClosed(id)
                try? await connections.removeValue(forKey: id)?.channel.close()
            }
            return (.ok, "reset\n")
        case "restart":
            await perform(server.restart())
            return (.ok, "restarted\n")
        case "blackhole":
            silentUntil = .now + .milliseconds(Int64(seconds * 1000))
            return (.ok, "silent for \(seconds) s\n")
        case "down":
            downUntil = .now + .milliseconds(Int64(seconds * 1000))
            return await control("reset", [:]).status == .ok ? (.ok, "down for \(seconds) s\n") : (.internalServerError, "")
        case "expire-sessions":
            await perform(server.expireSessions(of: query["user"] ?? "me"))
            return (.ok, "expired\n")
        case "clock-step":
            server.stepClock(by: Int64(seconds * 1_000_000))
            return (.ok, "clock stepped by \(seconds) s\n")
        case "rate-limit":
            server.setRateLimit(perSecond: Double(query["per_second"] ?? "30") ?? 30, burst: Double(query["burst"] ?? "10") ?? 10)
            return (.ok, "rate limit set\n")
        case "state":
            return (.ok, "{\"connections\": \(connections.count), \"messages\": \(server.messages.count), \"down\": \(isDown), \"silent\": \(isSilent)}\n")
        default:
            return (.notFound, "unknown control \(action)\n")
        }
    }
}

/// The NIO side: HTTP for discovery and controls, WebSocket (`sovereign.v1`) for the protocol.
struct WebSocketServer {
    enum Upgrade: Sendable {
        case websocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, subprotocolRequested: Bool)
        case http(NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>)
    }

    let port: Int
    private let listener: NIOAsyncChannel<EventLoopFuture<Upgrade>, Never>
    private let serverHost: ServerHost

    static func start(host: String, port: Int, serverHost: ServerHost) async throws -> WebSocketServer {
        let listener: NIOAsyncChannel<EventLoopFuture<Upgrade>, Never> = try await ServerBootstrap(group: .singletonMultiThreadedEventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrader = NIOTypedWebSocketServerUpgrader<Upgrade>(
                        maxFrameSize: WireCodec.maxEnvelopeBytes,
                        shouldUpgrade: { channel, head in
                            let requested = head.headers["Sec-WebSocket-Protocol"].joined(separator: ",")
                                .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                            var headers = HTTPHeaders()
                            if requested.contains(WireCodec.subprotocol) { headers.add(name: "Sec-WebSocket-Protocol", value: WireCodec.subprotocol) }
                            return channel.eventLoop.makeSucceededFuture(head.uri.hasPrefix("/ws") ? headers : nil)
                        },
                        upgradePipelineHandler: { channel, head in
                            channel.eventLoop.makeCompletedFuture {
                                let requested = head.headers["Sec-WebSocket-Protocol"].joined(separator: ",").contains(WireCodec.subprotocol)
                                return Upgrade.websocket(try NIOAsyncChannel(wrappingChannelSynchronously: channel), subprotocolRequested: requested)
                            }
                        })
                    let configuration = NIOTypedHTTPServerUpgradeConfiguration(
                        upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in
                            channel.eventLoop.makeCompletedFuture {
                                return Upgrade.http(try NIOAsyncChannel(wrappingChannelSynchronously: channel))
                            }
                        })
                    return try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(
                        configuration: .init(upgradeConfiguration: configuration))
                }
            }
        let port = listener.channel.localAddress?.port ?? port
        await serverHost.setPort(port)
        return WebSocketServer(port: port, listener: listener, serverHost: serverHost)
    }

    func waitUntilClosed() async throws {
        let serverHost = self.serverHost
        try await withThrowingDiscardingTaskGroup { group in
            try await listener.executeThenClose { inbound in
                for try await upgrade in inbound {
                    group.addTask {
                        switch try? await upgrade.get() {
                        case .websocket(let channel, let requested)?:
                            await Self.serveWebSocket(channel, subprotocolRequested: requested, host: serverHost)
                        case .http(let channel)?:
                            await Self.serveHTTP(channel, host: serverHost)
                        case nil:
                            break
                        }
                    }
                }
            }
        }
    }

    private static func serveWebSocket(
        _ channel: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, subprotocolRequested: Bool, host: ServerHost
    ) async {
        try? await channel.executeThenClose { inbound, outbound in
            if await host.isDown {
                try? await channel.channel.close()
                return
            }
            let id = await host.opened(channel: channel.channel, writer: outbound)
            guard subprotocolRequested else {
                await host.close(id, code: SovereignCloseCode.policyViolation.rawValue)
                return
            }
            let deadline = Task {
                try await Task.sleep(for: .seconds(10))
                await host.authDeadline(id)
            }
            defer { deadline.cancel() }
            var message: [UInt8] = []
            for try await frame in inbound {
                switch frame.opcode {
                case .binary, .continuation:
                    message += frame.unmaskedData.readableBytesView
                    guard frame.fin else { continue }
                    let bytes = message
                    message.removeAll()
                    await host.received(bytes, on: id)
                case .text:
                    await host.close(id, code: SovereignCloseCode.unsupportedData.rawValue)
                    return
                case .ping:
                    try await outbound.write(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData))
                case .connectionClose:
                    await host.closed(id)
                    return
                default:
                    continue
                }
            }
            await host.closed(id)
        }
    }

    private static func serveHTTP(
        _ channel: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, host: ServerHost
    ) async {
        try? await channel.executeThenClose { inbound, outbound in
            for try await part in inbound {
                guard case .head(let head) = part else { continue }
                let components = URLComponents(string: head.uri)
                let path = components?.path ?? head.uri
                let query = Dictionary((components?.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
                let response: (status: HTTPResponseStatus, body: String, type: String)
                if path == "/.well-known/sovereign.json" {
                    response = await host.isDown ? (.serviceUnavailable, "down\n", "text/plain")
                        : (.ok, await host.discoveryDocument(), "application/json")
                } else if path.hasPrefix("/control/") {
                    let result = await host.control(String(path.dropFirst("/control/".count)), query)
                    response = (result.status, result.body, "text/plain")
                } else {
                    response = (.notFound, "not found\n", "text/plain")
                }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: response.type)
                headers.add(name: "Content-Length", value: "\(response.body.utf8.count)")
                headers.add(name: "Connection", value: "close")
                try await outbound.write(contentsOf: [
                    .head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers)),
                    .body(.byteBuffer(ByteBuffer(string: response.body))), .end(nil),
                ])
                return
            }
        }
    }
}
