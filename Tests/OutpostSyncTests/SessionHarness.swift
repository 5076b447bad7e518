import Foundation
import OutpostSimulation
import OutpostStore
import OutpostWire
@testable import OutpostSync

/// One client session, its real encrypted partition, and a simulated server, wired together in
/// memory with no latency. Frames are delivered in order by ``pump()``; timers fire only when
/// the test moves time with ``advance(by:)``. Tests can drop, hold or inspect frames.
final class SessionHarness {
    let scratch: String
    var store: Store
    var partition: Partition
    var session: ServerSession
    let server: SimulatedServer
    let capabilities: ServerCapabilities
    var now = Timestamp.seconds(1_800_000_000)
    var timers: [SessionTimer: Timestamp] = [:]
    var toServer: [(ConnectionID, [UInt8])] = []
    var toClient: [(ConnectionID, [UInt8])] = []
    var openConnection: ConnectionID?
    var notifications: [SessionNotification] = []
    var effectsLog: [SessionEffect] = []
    /// Drops server frames for which this returns true.
    var dropFromServer: ((ServerEnvelope) -> Bool)?
    /// Called before each persist; throwing ends the effect batch like a killed process.
    var crashBeforePersist: ((PersistOperation) -> Bool)?
    var crashed = false
    var random = SplitMix64(seed: 7)
    let key = InMemoryKeyProvider()
    var configuration: ServerSession.Configuration

    static let conversation = "family"

    init(behaviour: ServerBehaviour, peers: [String] = ["alice"], configuration: ServerSession.Configuration = .init()) throws {
        var template = Array((NSTemporaryDirectory() + "outpost-sync-XXXXXX").utf8CString)
        scratch = String(cString: template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!)! })
        self.configuration = configuration
        server = SimulatedServer(name: "family.example", configuration: .init(behaviour: behaviour))
        server.createConversation(Self.conversation, title: "Family", members: ["me"] + peers)
        capabilities = ServerCapabilities(advertised: server.capabilities)
        store = try Store.open(at: scratch + "/data", keyProvider: key)
        partition = try store.addServer(ServerOrigin(parsing: "family.example"), now: now)
        try partition.setOwnUserID("me", now: now)
        try partition.setSessionToken(server.issueToken(for: "me", now: now, random: &random), now: now)
        session = ServerSession(configuration: configuration, capabilities: capabilities,
                                snapshot: try partition.sessionSnapshot(), seed: 1)
    }

    deinit { try? FileManager.default.removeItem(atPath: scratch) }

    // MARK: Driving

    @discardableResult
    func handle(_ event: SessionEvent) -> [SessionEffect] {
        guard !crashed else { return [] }
        let effects = session.handle(event, now: now)
        effectsLog += effects
        for effect in effects {
            if crashed { break }
            switch effect {
            case .openTransport(let id):
                openConnection = id
                server.connectionOpened(id.rawValue, now: now)
                handle(.transportOpened(id))
            case .closeTransport(let id, _):
                if openConnection == id { openConnection = nil }
                server.connectionClosed(id.rawValue)
            case .send(let id, let bytes):
                toServer.append((id, bytes))
            case .setTimer(let timer, let at):
                timers[timer] = at
            case .cancelTimer(let timer):
                timers[timer] = nil
            case .persist(let operation):
                if crashBeforePersist?(operation) == true {
                    crashed = true
                    break
                }
                try! partition.apply(operation, now: now)
            case .notify(let notification):
                notifications.append(notification)
            }
        }
        return effects
    }

    /// Delivers frames both ways until nothing is left in flight.
    func pump(limit: Int = 100_000) {
        var steps = 0
        while (!toServer.isEmpty || !toClient.isEmpty) && steps < limit && !crashed {
            steps += 1
            if !toServer.isEmpty {
                let (id, bytes) = toServer.removeFirst()
                guard id == openConnection else { continue }
                route(server.receive(bytes, on: id.rawValue, now: now))
            } else {
                let (id, bytes) = toClient.removeFirst()
                server.frameDelivered(id.rawValue)
                guard id == openConnection else { continue }
                if let drop = dropFromServer, let envelope = try? WireCodec.decodeServerEnvelope(bytes), drop(envelope) { continue }
                handle(.received(id, bytes))
            }
        }
    }

    func route(_ outputs: [SimulatedServer.Output]) {
        for output in outputs {
            switch output {
            case .send(let link, let bytes):
                toClient.append((ConnectionID(link), bytes))
            case .close(let link, let code):
                server.connectionClosed(link)
                if openConnection?.rawValue == link {
                    openConnection = nil
                    toClient.removeAll { $0.0.rawValue == link }
                    handle(.transportClosed(ConnectionID(link), code: code))
                }
            }
        }
    }

    /// Moves time forward, firing due timers in time order and pumping after each.
    func advance(by micros: Int64) {
        let target = now.adding(microseconds: micros)
        while !crashed, let (timer, at) = timers.filter({ $0.value <= target }).min(by: { ($0.value, $0.key) < ($1.value, $1.key) }) {
            now = max(now, at)
            timers[timer] = nil
            handle(.timerFired(timer))
            pump()
        }
        now = target
    }

    func connect() {
        handle(.connectRequested)
        pump()
    }

    /// The network drops the connection (both sides notice).
    func dropConnection() {
        guard let id = openConnection else { return }
        openConnection = nil
        server.connectionClosed(id.rawValue)
        toServer.removeAll()
        toClient.removeAll()
        handle(.transportClosed(id, code: nil))
    }

    /// The process dies and relaunches from disk: a new store, a new session from the snapshot.
    func relaunch() throws {
        if let id = openConnection { server.connectionClosed(id.rawValue) }
        openConnection = nil
        toServer.removeAll()
        toClient.removeAll()
        timers.removeAll()
        crashed = false
        store.close()
        store = try Store.open(at: scratch + "/data", keyProvider: key)
        partition = try store.partition(for: partition.id)
        try partition.returnAllInFlightToQueue(now: now)
        session = ServerSession(configuration: configuration, capabilities: capabilities,
                                snapshot: try partition.sessionSnapshot(), seed: 2)
    }

    @discardableResult
    func enqueue(_ text: String, conversation: String = SessionHarness.conversation) throws -> OutboxItem {
        let item = try partition.enqueue(conversationID: conversation, messageType: "text", payload: Array(text.utf8),
                                         clientMessageID: "cm-\(text)", now: now)
        handle(.enqueued(item))
        pump()
        return item
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
}
