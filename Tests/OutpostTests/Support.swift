import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Outpost
import OutpostLoopbackServer
import OutpostSimulation
import Testing

/// A simulated Sovereign server on a loopback port that a test can kill and restart: killing
/// stops the listener and drops every connection; restarting binds the same port again with
/// the same server state (messages, sessions), as a restarted server process would have.
final class TestServer: @unchecked Sendable {
    let host: ServerHost
    private(set) var listener: WebSocketServer
    var port: Int { listener.port }
    var address: String { "http://127.0.0.1:\(port)" }
    var origin: ServerOrigin { try! ServerOrigin(parsing: address) }

    private init(host: ServerHost, listener: WebSocketServer) {
        self.host = host
        self.listener = listener
    }

    static func start(_ name: String, behaviour: ServerBehaviour = .extended,
                      conversations: [String] = ["family", "work"]) async throws -> TestServer {
        let host = ServerHost(name: name, behaviour: behaviour, users: ["me", "alice", "bob"],
                              conversations: conversations, seed: 7)
        return TestServer(host: host, listener: try await WebSocketServer.start(port: 0, serverHost: host))
    }

    func restart() async throws {
        listener = try await WebSocketServer.start(port: port, serverHost: host)
    }

    func signIn() async -> ServerSignIn {
        ServerSignIn(sessionToken: await host.issueToken(for: "me"), userID: "me")
    }

    /// Stops listening and drops every connection, as a killed server process would.
    func stop() async { await listener.stop() }
}

/// A TCP listener that accepts connections and never answers: a hung server.
final class HangingListener: Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    init() async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func close() async { try? await channel.close() }
}

/// Records a client's events and lets a test wait until they satisfy a condition. The time
/// limit only turns a hang into a failure; no test waits on it to make progress.
actor EventRecorder {
    private(set) var events: [OutpostEvent] = []
    /// The distinct stored message ids per server, kept as events arrive: recomputing them
    /// from every event on every event is quadratic, and a flood makes that the bottleneck.
    private var storedByServer: [ServerID: Set<String>] = [:]
    private var waiters: [(id: Int, isSatisfied: () -> Bool, continuation: CheckedContinuation<Void, any Error>)] = []
    private var nextWaiter = 0
    private var consumer: Task<Void, Never>?

    static func recording(_ client: OutpostClient) async -> EventRecorder {
        let recorder = EventRecorder()
        await recorder.consume(await client.events())
        return recorder
    }

    private func consume(_ stream: AsyncStream<OutpostEvent>) {
        consumer = Task { [weak self] in
            for await event in stream { await self?.append(event) }
        }
    }

    private func append(_ event: OutpostEvent) {
        events.append(event)
        if case .messagesStored(let stored) = event.kind, let server = event.server {
            storedByServer[server, default: []].formUnion(stored)
        }
        let ready = waiters.filter { $0.isSatisfied() }
        waiters.removeAll { waiter in ready.contains { $0.id == waiter.id } }
        for waiter in ready { waiter.continuation.resume() }
    }

    struct TimedOut: Error, CustomStringConvertible {
        let description: String
    }

    /// Returns once the events so far satisfy `condition`.
    func wait(_ what: String, limit: Duration = .seconds(60),
              until condition: @escaping @Sendable ([OutpostEvent]) -> Bool) async throws {
        try await waitUntil(what, limit: limit) { condition(self.events) }
    }

    /// Returns once `count` distinct messages of `server` have been stored.
    func waitUntilStored(_ count: Int, of server: ServerID, _ what: String,
                         limit: Duration = .seconds(60)) async throws {
        try await waitUntil(what, limit: limit) {
            self.storedByServer[server, default: []].count >= count
        }
    }

    private func waitUntil(_ what: String, limit: Duration, _ isSatisfied: @escaping () -> Bool) async throws {
        if isSatisfied() { return }
        nextWaiter += 1
        let id = nextWaiter
        let guardTask = Task { [weak self] in
            try? await Task.sleep(for: limit)
            await self?.expire(id, what)
        }
        defer { guardTask.cancel() }
        try await withCheckedThrowingContinuation { continuation in
            waiters.append((id, isSatisfied, continuation))
        }
    }

    private func expire(_ id: Int, _ what: String) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        let kinds = events.suffix(15).map(\.description).joined(separator: "\n  ")
        waiters.remove(at: index).continuation.resume(throwing: TimedOut(description: "waiting for \(what); last events:\n  \(kinds)"))
    }

    func count(_ server: ServerID, where matches: (OutpostEvent.Kind) -> Bool) -> Int {
        events.filter { $0.server == server && matches($0.kind) }.count
    }
}

// MARK: Conditions

extension Array where Element == OutpostEvent {
    func has(_ server: ServerID, _ kind: OutpostEvent.Kind) -> Bool {
        contains { $0.server == server && $0.kind == kind }
    }

    /// The latest connection state of `server`.
    func state(of server: ServerID) -> ConnectionState? {
        for event in reversed() where event.server == server {
            if case .connectionStateChanged(let state) = event.kind { return state }
        }
        return nil
    }

    /// Whether `server` had an event of a kind that `matches`.
    func has(_ server: ServerID, where matches: (OutpostEvent.Kind) -> Bool) -> Bool {
        contains { $0.server == server && matches($0.kind) }
    }

    func storedIDs(_ server: ServerID) -> Set<String> {
        var ids = Set<String>()
        for event in self where event.server == server {
            if case .messagesStored(let stored) = event.kind { ids.formUnion(stored) }
        }
        return ids
    }

    func sent(_ server: ServerID, _ clientMessageID: String) -> Bool {
        contains { event in
            guard event.server == server, case .outboxItemSent(let id, _) = event.kind else { return false }
            return id == clientMessageID
        }
    }
}

/// A scratch data directory, removed when the test ends.
struct ScratchDirectory: ~Copyable {
    let path: String

    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-runtime-\(UUID().uuidString)").path
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A fixed master key, so that a test can reopen the same directory.
let testKey = try! RawKeyProvider(rawKey: (0..<32).map { UInt8($0) })

/// A client on the real clock, or with protocol timers `speed` times faster than real time
/// for a test that waits on a heartbeat or a backoff.
func makeClient(_ directory: String, speed: Double = 1, tuning: (inout OutpostClient.Configuration) -> Void = { _ in }) throws -> OutpostClient {
    var configuration = OutpostClient.Configuration()
    configuration.clock = speed == 1 ? SystemClock() : AcceleratedClock(speed: speed)
    tuning(&configuration)
    return try OutpostClient(directory: directory, keyProvider: testKey, configuration: configuration)
}

/// A flag one task sets and another reads.
final class Flag: Sendable {
    private let value = NIOLockedValueBox(false)
    func set() { value.withLockedValue { $0 = true } }
    var isSet: Bool { value.withLockedValue { $0 } }
}

/// Adds each server to a started client; returns their ids once every one is connected.
func connect(_ servers: [TestServer], to client: OutpostClient, recorder: EventRecorder) async throws -> [ServerID] {
    var ids: [ServerID] = []
    for server in servers { ids.append(try await client.addServer(server.address, signIn: await server.signIn())) }
    let added = ids
    try await recorder.wait("\(servers.map { $0.host.name }) connected") { events in
        added.allSatisfy { events.state(of: $0) == .connected }
    }
    return ids
}

func connect(_ server: TestServer, to client: OutpostClient, recorder: EventRecorder) async throws -> ServerID {
    try await connect([server], to: client, recorder: recorder)[0]
}

func connect(_ first: TestServer, _ second: TestServer, to client: OutpostClient,
             recorder: EventRecorder) async throws -> (ServerID, ServerID) {
    let ids = try await connect([first, second], to: client, recorder: recorder)
    return (ids[0], ids[1])
}

/// A TCP listener that answers every request with a plain `404 Not Found`: a web server where
/// a Sovereign server should be.
final class NotFoundListener: Sendable {
    private final class Answer: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let response = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: response))).whenComplete { _ in
                channel.close(promise: nil)
            }
        }
    }

    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    init() async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Answer()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func close() async { try? await channel.close() }
}
