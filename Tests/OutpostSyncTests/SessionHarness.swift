import Foundation
@testable import OutpostClientCore
import OutpostSimulation
import OutpostStore
import OutpostWire
@testable import OutpostSync

/// One server's client core (its session and its real encrypted partition) and a simulated
/// server, wired together in memory with no latency. Frames are delivered in order by
/// ``pump()``; timers fire only when the test moves time with ``advance(by:)``. Tests can drop,
/// hold or inspect frames.
///
/// It drives the same ``ServerCore`` the runtime and the simulator run: the only effect
/// interpreter there is.
final class SessionHarness {
    let scratch: String
    var client: ClientCore
    var core: ServerCore
    let server: SimulatedServer
    var now = Timestamp.seconds(1_800_000_000)
    var timers: [ServerTimer.Kind: (timer: ServerTimer, at: Timestamp)] = [:]
    var toServer: [(ConnectionHandle, [UInt8])] = []
    var toClient: [(ConnectionHandle, [UInt8])] = []
    var openConnection: ConnectionHandle?
    var events: [OutpostEvent.Kind] = []
    /// Every notification the core gave, in order.
    var notifications: [MessageNotification] = []
    var outputsLog: [ServerOutput] = []
    /// Drops server frames for which this returns true.
    var dropFromServer: ((ServerEnvelope) -> Bool)?
    /// Called with each frame as it leaves for the server.
    var onSend: ((ClientEnvelope) -> Void)?
    /// When false, a close the client sends neither reaches the server nor is answered (a
    /// black-holed socket): the handshake never finishes.
    var confirmsCloses = true
    var random = SplitMix64(seed: 7)
    let key = InMemoryKeyProvider()
    let configuration: ClientCore.Configuration
    /// The server's side of each connection.
    private var links: [ConnectionHandle: UInt64] = [:]
    private var handles: [UInt64: ConnectionHandle] = [:]

    static let conversation = "family"

    var session: ServerSession { core.session }
    var partition: Partition { core.partition }
    var store: Store { client.store }

    convenience init(behaviour: ServerBehaviour, peers: [String] = ["alice"],
                     configuration: ServerSession.Configuration = .init()) throws {
        try self.init(server: .init(behaviour: behaviour), peers: peers, configuration: configuration)
    }

    convenience init(extensions: ServerCapabilities, peers: [String] = ["alice"],
                     configuration: ServerSession.Configuration = .init()) throws {
        try self.init(server: .init(extensions: extensions), peers: peers, configuration: configuration)
    }

    init(server serverConfiguration: SimulatedServer.Configuration, peers: [String] = ["alice"],
         configuration: ServerSession.Configuration = .init(), core coreConfiguration: ServerCore.Configuration = .init(),
         client configure: (inout ClientCore.Configuration) -> Void = { _ in }) throws {
        var template = Array((NSTemporaryDirectory() + "outpost-sync-XXXXXX").utf8CString)
        scratch = String(cString: template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!)! })
        var clientConfiguration = ClientCore.Configuration()
        clientConfiguration.server = coreConfiguration
        clientConfiguration.server.session = configuration
        configure(&clientConfiguration)
        self.configuration = clientConfiguration
        server = SimulatedServer(name: "family.example", configuration: serverConfiguration)
        server.createConversation(Self.conversation, title: "Family", members: ["me"] + peers)
        client = try ClientCore(directory: scratch + "/data", keyProvider: key, configuration: clientConfiguration, seed: 1)
        let token = server.issueToken(for: "me", now: now, random: &random)
        core = try client.addServer(ServerOrigin(parsing: "family.example"),
                                    config: ServerConfig(name: "Family", websocketURL: "wss://family.example/ws",
                                                         capabilities: server.capabilities),
                                    signIn: ServerSignIn(sessionToken: token, userID: "me"), now: now)
    }

    deinit { try? FileManager.default.removeItem(atPath: scratch) }

    // MARK: Driving

    /// Hands the core an input and carries out its outputs.
    @discardableResult
    func handle(_ input: ServerInput) -> [ServerOutput] {
        let outputs = core.handle(input, now: now)
        perform(outputs)
        return outputs
    }

    func perform(_ outputs: [ServerOutput]) {
        outputsLog += outputs
        for output in outputs {
            switch output {
            case .openConnection(let connection, _):
                openConnection = connection
                let link = UInt64(links.count + 1)
                links[connection] = link
                handles[link] = connection
                server.connectionOpened(link, now: now)
                handle(.connectionOpened(connection))
            case .closeConnection(let connection, _):
                if openConnection == connection { openConnection = nil }
                guard confirmsCloses else { continue }
                if let link = links[connection] { server.connectionClosed(link) }
                // The server answers the close at once: the handshake is over.
                handle(.connectionClosed(connection, code: 1000))
            case .send(let connection, let bytes):
                if let onSend, let envelope = try? WireCodec.decodeClientEnvelope(bytes) { onSend(envelope) }
                toServer.append((connection, bytes))
            case .setTimer(let timer, let at):
                timers[timer.kind] = (timer, at)
            case .cancelTimer(let timer):
                if timers[timer.kind]?.timer == timer { timers[timer.kind] = nil }
            case .event(let event):
                events.append(event)
            case .notify(let notification):
                notifications.append(notification)
            case .conversationsChanged:
                break
            }
        }
    }

    /// Delivers frames both ways until nothing is left in flight.
    func pump(limit: Int = 100_000) {
        var steps = 0
        while (!toServer.isEmpty || !toClient.isEmpty) && steps < limit {
            steps += 1
            if !toServer.isEmpty {
                let (connection, bytes) = toServer.removeFirst()
                guard connection == openConnection, let link = links[connection] else { continue }
                route(server.receive(bytes, on: link, now: now))
            } else {
                let (connection, bytes) = toClient.removeFirst()
                if let link = links[connection] { server.frameDelivered(link) }
                guard connection == openConnection else { continue }
                if let drop = dropFromServer, let envelope = try? WireCodec.decodeServerEnvelope(bytes), drop(envelope) { continue }
                handle(.received(connection, bytes))
            }
        }
    }

    func route(_ outputs: [SimulatedServer.Output]) {
        for output in outputs {
            switch output {
            case .send(let link, let bytes, _):
                if let connection = handles[link] { toClient.append((connection, bytes)) }
            case .close(let link, let code):
                server.connectionClosed(link)
                if let connection = handles[link], openConnection == connection {
                    openConnection = nil
                    toClient.removeAll { $0.0 == connection }
                    handle(.connectionClosed(connection, code: code))
                }
            }
        }
    }

    /// Moves time forward, firing due timers in time order and pumping after each.
    func advance(by micros: Int64) {
        let target = now.adding(microseconds: micros)
        while let (kind, entry) = timers.filter({ $0.value.at <= target }).min(by: { ($0.value.at, $0.key) < ($1.value.at, $1.key) }) {
            now = max(now, entry.at)
            timers[kind] = nil
            handle(.timerFired(entry.timer))
            pump()
        }
        now = target
    }

    func connect() {
        handle(.start(foreground: true, reachable: true))
        pump()
    }

    /// The network drops the connection (both sides notice).
    func dropConnection() {
        guard let connection = openConnection else { return }
        openConnection = nil
        if let link = links[connection] { server.connectionClosed(link) }
        toServer.removeAll()
        toClient.removeAll()
        handle(.connectionClosed(connection, code: nil))
    }

    /// The process dies and relaunches from disk: a new client core, a new server core.
    func relaunch() throws {
        if let connection = openConnection, let link = links[connection] { server.connectionClosed(link) }
        openConnection = nil
        toServer.removeAll()
        toClient.removeAll()
        timers.removeAll()
        client.close()
        client = try ClientCore(directory: scratch + "/data", keyProvider: key, configuration: configuration, seed: 2)
        core = try requireCore(client.loadServers(now: now).first)
    }

    /// Queues `text` with the client message id `cm-<text>`.
    @discardableResult
    func enqueue(_ text: String, conversation: String = SessionHarness.conversation, payload: [UInt8]? = nil,
                 lifespan: Int64? = nil) throws -> OutboxItem {
        let outcome = core.send(payload ?? Array(text.utf8), to: conversation, lifespan: lifespan, clientMessageID: "cm-\(text)",
                                now: now)
        perform(outcome.outputs)
        pump()
        return try outcome.result.get()
    }

    func peerPosts(_ count: Int, from peer: String = "alice") {
        for index in 0..<count {
            now = now.adding(microseconds: 1_000)
            route(server.peerPost(from: peer, conversationID: Self.conversation, payload: Array("peer-\(peer)-\(index)-\(now.microseconds)".utf8), now: now))
        }
        pump()
    }

    var storedMessageIDs: [String] {
        (try? partition.messages(in: Self.conversation, limit: 1_000_000).map(\.messageID)) ?? []
    }

    func serverMessageIDs(inConversation conversation: String = SessionHarness.conversation) -> [String] {
        server.messages.filter { $0.conversationID == conversation }
            .sorted { ($0.serverTimestamp, $0.messageID) < ($1.serverTimestamp, $1.messageID) }.map(\.messageID)
    }

    /// Every id `messagesStored` named, in order.
    var reportedStored: [String] {
        events.flatMap { event -> [String] in
            if case .messagesStored(let ids) = event { return ids }
            return []
        }
    }

    /// The next pushed message vanishes on the way (the connection itself is fine).
    func dropNextPush() {
        var dropped = false
        dropFromServer = { envelope in
            guard !dropped, case .messageReceive = envelope.frame, envelope.requestID.isEmpty else { return false }
            dropped = true
            return true
        }
    }

    /// What the server answers `frame` sent on the open connection, as another client of the
    /// user's would send it.
    func serverAnswers(to frame: ClientFrame) throws -> [ServerEnvelope] {
        guard let connection = openConnection, let link = links[connection] else { throw HarnessError(description: "not connected") }
        let outputs = server.receive(try WireCodec.encode(ClientEnvelope(requestID: "probe", frame: frame)), on: link, now: now)
        return outputs.compactMap { output in
            guard case .send(_, let bytes, _) = output else { return nil }
            return try? WireCodec.decodeServerEnvelope(bytes)
        }
    }

    /// How many connections the core asked for.
    var connectionAttempts: Int {
        outputsLog.filter { if case .openConnection = $0 { true } else { false } }.count
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
}

private func requireCore(_ core: ServerCore?) throws -> ServerCore {
    guard let core else { throw HarnessError(description: "the server did not load after the relaunch") }
    return core
}
