import Foundation
import NIOCore
import NIOHTTP1
import NIOWebSocket
import OutpostSimulation
import OutpostStore
import OutpostSync
import OutpostWire

/// One simulated Sovereign server behind real sockets: the simulator's ``SimulatedServer`` (the
/// same server model the deterministic simulations use) plus the open WebSocket connections and
/// the fault switches (refuse, black-hole, expire sessions, clock steps, rate limits).
///
/// Every frame, in either direction, goes through this actor in order. ``WebSocketServer`` puts
/// it on a port; tests drive the fault switches directly, `outpost-sim serve` through HTTP
/// (``control(_:_:)``).
public actor ServerHost {
    private let server: SimulatedServer
    /// The display name in the discovery document.
    public nonisolated let name: String
    private var connections: [UInt64: (channel: any Channel, writer: NIOAsyncChannelOutboundWriter<WebSocketFrame>)] = [:]
    private var nextConnection: UInt64 = 0
    private var silentUntil: ContinuousClock.Instant?
    private var downUntil: ContinuousClock.Instant?
    private var refusing = false
    private var random: SplitMix64
    /// The port the WebSocket listener is bound to (0 until it is).
    public private(set) var port = 0
    /// Whether the listener speaks TLS (`wss`).
    private var secure = false
    /// Whether `/.well-known/sovereign.json` is served; without it the answer is 404, as the
    /// upstream Sovereign server answers.
    public private(set) var publishesDiscovery: Bool
    /// How long a client's close takes to reach the server (a slow path), when set.
    public private(set) var closeProcessingDelay: Duration?
    private var closesProcessed = 0
    private var closeWaiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []

    /// - Parameters:
    ///   - users: accounts on the server; every one is a member of every conversation.
    ///   - seed: the seed of the token generator (a real server's tokens are random; tests
    ///     may want them repeatable).
    public init(name: String, behaviour: ServerBehaviour, users: [String], conversations: [String],
                seed: UInt64 = UInt64.random(in: 0...UInt64.max)) {
        self.name = name
        random = SplitMix64(seed: seed)
        server = SimulatedServer(name: name, configuration: .init(behaviour: behaviour))
        publishesDiscovery = server.publishesDiscovery
        for conversation in conversations {
            server.createConversation(conversation, title: conversation, members: users)
        }
    }

    /// Wall-clock time: this is a real server, not a simulation.
    private var now: Timestamp { Timestamp(microseconds: Int64(Date().timeIntervalSince1970 * 1_000_000)) }

    /// The server refuses WebSocket upgrades and discovery: switched off, or down for a while.
    public var isDown: Bool { refusing || (downUntil.map { ContinuousClock.now < $0 } ?? false) }
    private var isSilent: Bool { silentUntil.map { ContinuousClock.now < $0 } ?? false }

    func setEndpoint(port: Int, secure: Bool) {
        self.port = port
        self.secure = secure
    }

    /// Serves `/.well-known/sovereign.json`, or answers it with 404.
    public func setPublishesDiscovery(_ publishes: Bool) {
        publishesDiscovery = publishes
    }

    /// Makes a client's close take `delay` to reach the server (`nil`: at once).
    public func setCloseProcessingDelay(_ delay: Duration?) {
        closeProcessingDelay = delay
    }

    /// Posts a message whose push is as large as the server makes it: the largest payload it
    /// accepts in a send (upstream: one whose send fills the envelope limit).
    public func postLargest(from sender: String, to conversationID: String) async {
        // A send of this payload fills the envelope limit; its push, with the message id, the
        // sender and the timestamp added, does not fit in it.
        let size = server.configuration.isUpstream ? WireCodec.maxEnvelopeBytes - 40 : WireCodec.maxOutboundPayloadBytes
        await perform(server.peerPost(from: sender, conversationID: conversationID, payload: Array(repeating: 0x5A, count: size), now: now))
    }

    /// `/.well-known/sovereign.json`.
    public func discoveryDocument() -> String {
        let capabilities = server.capabilities.map { "\"\($0)\"" }.joined(separator: ", ")
        return """
            {"name": "\(name)", "version": "1.0.0", "websocket_url": "\(websocketURL)", \
            "registration": "open", "capabilities": [\(capabilities)]}
            """
    }

    /// Where clients open the WebSocket. With TLS the name is `localhost`, the name a loopback
    /// certificate carries.
    public var websocketURL: String {
        secure ? "wss://localhost:\(port)/ws" : "ws://127.0.0.1:\(port)/ws"
    }

    /// A new session token for `user` (what a passkey login hands the front end).
    public func issueToken(for user: String) -> String {
        server.issueToken(for: user, now: now, random: &random)
    }

    /// Accepts a fixed `token` for `user`, so that a local demo can be started with a token
    /// known in advance.
    public func registerToken(_ token: String, for user: String) {
        server.registerToken(token, for: user, now: now)
    }

    // MARK: What the server holds

    /// Every message the server stored, in the order it stored them.
    public var storedMessages: [SimulatedServer.StoredMessage] { server.messages }

    /// How many times the server stored the message a client queued under `clientMessageID`.
    public func storedCount(clientMessageID: String, from sender: String) -> Int {
        server.storedCount(clientMessageID: clientMessageID, from: sender)
    }

    /// Open WebSocket connections.
    public var connectionCount: Int { connections.count }

    // MARK: Faults

    /// Another member posts to a conversation: stored, and pushed to the online members.
    public func post(from sender: String, to conversationID: String, text: String) async {
        await perform(server.peerPost(from: sender, conversationID: conversationID, payload: Array(text.utf8), now: now))
    }

    /// Another device of `user` read everything: nothing stays pending for them, so a client
    /// that was away catches up from history alone.
    public func acknowledgeEverything(for user: String) {
        server.acknowledgeEverything(for: user)
    }

    /// Closes every connection without a close frame, as a crashed server or a cut cable would.
    public func dropAllConnections() async {
        for id in connections.keys.sorted() {
            server.connectionClosed(id)
            try? await connections.removeValue(forKey: id)?.channel.close()
        }
    }

    /// Switches the server off (every connection dropped, upgrades and discovery refused) or
    /// back on. Its stored messages and sessions survive, as a restarted server's would.
    public func setDown(_ down: Bool) async {
        refusing = down
        if down { await dropAllConnections() }
    }

    /// The server stops reading and writing for `duration`, keeping its sockets open: a
    /// black-holed link only the client's heartbeat can notice.
    public func blackhole(for duration: Duration) {
        silentUntil = .now + duration
    }

    /// Every session of `user` expires: open connections are closed with 4004.
    public func expireSessions(of user: String) async {
        await perform(server.expireSessions(of: user))
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

    /// Closes connection `id` with a close frame carrying `code`, or without one (`nil`: the
    /// process died).
    func close(_ id: UInt64, code: UInt16?) async {
        guard let connection = connections.removeValue(forKey: id) else { return }
        server.connectionClosed(id)
        if let code {
            var data = connection.channel.allocator.buffer(capacity: 2)
            data.writeInteger(code)
            try? await connection.writer.write(WebSocketFrame(fin: true, opcode: .connectionClose, data: data))
        }
        try? await connection.channel.close()
    }

    /// A client's close frame arrived. A slow path to the server (``closeProcessingDelay``)
    /// holds it back first; the connection's socket closes after this returns, which is the
    /// client's sign that the close went through.
    func closeReceived(_ id: UInt64) async {
        if let closeProcessingDelay { try? await Task.sleep(for: closeProcessingDelay) }
        closed(id)
        closesProcessed += 1
        let ready = closeWaiters.filter { $0.count <= closesProcessed }
        closeWaiters.removeAll { $0.count <= closesProcessed }
        for waiter in ready { waiter.continuation.resume() }
    }

    /// Returns once `count` client closes have reached the server.
    public func waitForClientCloses(_ count: Int) async {
        guard closesProcessed < count else { return }
        await withCheckedContinuation { closeWaiters.append((count, $0)) }
    }

    private func perform(_ outputs: [SimulatedServer.Output]) async {
        for output in outputs {
            switch output {
            case .send(let id, let bytes, _):
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

    /// The HTTP fault controls of `outpost-sim serve`: `/control/<action>?<query>`.
    public func control(_ action: String, _ query: [String: String]) async -> (status: HTTPResponseStatus, body: String) {
        // A clock may step either way; every other duration lasts from now on. Thirty days at
        // most, as in a scenario file: beyond that (or `inf`, `nan`, text) the request is refused.
        let range = action == "clock-step" ? -2_592_000.0...2_592_000.0 : 0.0...2_592_000.0
        guard let seconds = Self.number(query["seconds"], default: 30, in: range) else {
            return (.badRequest, "seconds must be a number in \(range.lowerBound)...\(range.upperBound), not \(query["seconds"] ?? "")\n")
        }
        switch action {
        case "token":
            return (.ok, issueToken(for: query["user"] ?? "me") + "\n")
        case "post":
            await post(from: query["from"] ?? "alice", to: query["conversation"] ?? "family", text: query["text"] ?? "hello")
            return (.ok, "posted\n")
        case "post-large":
            await postLargest(from: query["from"] ?? "alice", to: query["conversation"] ?? "family")
            return (.ok, "posted the largest message\n")
        case "auth-glitch":
            server.setAuthGlitch(until: now.adding(microseconds: Int64(seconds * 1_000_000)))
            return (.ok, "logins fail with AUTH_ERROR 9001 for \(seconds) s\n")
        case "reset":
            await dropAllConnections()
            return (.ok, "reset\n")
        case "restart":
            await perform(server.restart())
            return (.ok, "restarted\n")
        case "blackhole":
            blackhole(for: .milliseconds(Int64(seconds * 1000)))
            return (.ok, "silent for \(seconds) s\n")
        case "down":
            downUntil = .now + .milliseconds(Int64(seconds * 1000))
            await dropAllConnections()
            return (.ok, "down for \(seconds) s\n")
        case "up":
            downUntil = nil
            await setDown(false)
            return (.ok, "up\n")
        case "expire-sessions":
            await expireSessions(of: query["user"] ?? "me")
            return (.ok, "expired\n")
        case "clock-step":
            server.stepClock(by: Int64(seconds * 1_000_000))
            return (.ok, "clock stepped by \(seconds) s\n")
        case "rate-limit":
            guard let perSecond = Self.number(query["per_second"], default: 30, in: 0.001...1_000_000),
                  let burst = Self.number(query["burst"], default: 10, in: 1...1_000_000) else {
                return (.badRequest, "per_second must be in 0.001...1000000 and burst in 1...1000000\n")
            }
            server.setRateLimit(perSecond: perSecond, burst: burst)
            return (.ok, "rate limit set\n")
        case "state":
            return (.ok, "{\"connections\": \(connections.count), \"messages\": \(server.messages.count), \"down\": \(isDown), \"silent\": \(isSilent)}\n")
        default:
            return (.notFound, "unknown control \(action)\n")
        }
    }

    /// `text` as a number in `range`, `fallback` when absent; `nil` for anything else.
    private static func number(_ text: String?, default fallback: Double, in range: ClosedRange<Double>) -> Double? {
        guard let text else { return fallback }
        guard let value = Double(text), value.isFinite, range.contains(value) else { return nil }
        return value
    }
}
