import Foundation
import OutpostStore
import OutpostSync

/// The deterministic discrete-event simulation of one client and many Sovereign servers.
///
/// It drives the real sync core (``ServerSession``) and the real encrypted store (SQLCipher
/// files in a scratch directory) with virtual time, simulated servers and a simulated network.
/// Everything random comes from one root seed, split per server and per subsystem; nothing reads
/// a clock, and no `Dictionary` or `Set` order reaches behaviour or the trace.
public final class Simulation {
    public struct Options: Sendable {
        public var seed: UInt64
        /// Scratch directory for the client's data directory (removed afterwards unless `keepFiles`).
        public var workDirectory: String
        public var keepFiles = false
        /// Write the JSONL trace here.
        public var tracePath: String?
        /// Keep per-server timelines for the HTML report.
        public var recordTimeline = false

        public init(seed: UInt64, workDirectory: String) {
            self.seed = seed
            self.workDirectory = workDirectory
        }
    }

    enum Event {
        case clientTimer(server: Int, timer: SessionTimer, generation: UInt64)
        case transportOpened(server: Int, link: UInt64)
        case deliverToServer(server: Int, link: UInt64, bytes: [UInt8])
        case deliverToClient(server: Int, link: UInt64, bytes: [UInt8])
        case closeToClient(server: Int, link: UInt64, code: UInt16)
        case closeToServer(server: Int, link: UInt64)
        case serverAuthDeadline(server: Int, link: UInt64)
        case osKillsSockets(generation: UInt64)
        case fault(Int)
        case faultEnds(Int)
        case flapToggle(fault: Int, remaining: Int)
        case peerPost(server: Int)
        case userSend
        case relaunch
        case renewToken(server: Int)
        case heal
        case end

        var kindCode: UInt64 {
            switch self {
            case .clientTimer: 1
            case .transportOpened: 2
            case .deliverToServer: 3
            case .deliverToClient: 4
            case .closeToClient: 5
            case .closeToServer: 6
            case .serverAuthDeadline: 7
            case .osKillsSockets: 8
            case .fault: 9
            case .faultEnds: 10
            case .flapToggle: 11
            case .peerPost: 12
            case .userSend: 13
            case .relaunch: 14
            case .renewToken: 15
            case .heal: 16
            case .end: 17
            }
        }
    }

    /// How a server's link behaves now.
    enum LinkState: Hashable {
        case up
        /// Frames vanish, nothing closes.
        case blackhole
        /// Connections reset; new ones never open.
        case down
    }

    struct ServerSlot {
        let index: Int
        let origin: ServerOrigin
        let server: SimulatedServer
        let capabilities: ServerCapabilities
        var random: SplitMix64
        let peers: [String]
        let conversations: [String]
        var link: LinkState = .up
        var latency: Int64
        var jitter: Int64
        /// Open transports: link id → the client's connection id.
        var openLinks: [UInt64: ConnectionID] = [:]
        var lastDeliveryToClient: [UInt64: Timestamp] = [:]
        var lastDeliveryToServer: [UInt64: Timestamp] = [:]
        var removed = false
        var removalRequested = false
        var serverID: ServerID?
    }

    /// The client process: lost on a kill, rebuilt from disk on relaunch. A class, so that one
    /// session's event never copies the other sessions.
    final class ClientProcess {
        let incarnation: UInt64
        let store: Store
        var sessions: [ServerSession?]
        var partitions: [Partition?]
        var armedTimers: [[SessionTimer: UInt64]]

        init(incarnation: UInt64, store: Store, sessions: [ServerSession?], partitions: [Partition?],
             armedTimers: [[SessionTimer: UInt64]]) {
            self.incarnation = incarnation
            self.store = store
            self.sessions = sessions
            self.partitions = partitions
            self.armedTimers = armedTimers
        }
    }

    let scenario: Scenario
    let options: Options
    let dataDirectory: String
    private(set) var now = Timestamp.zero
    var queue = EventQueue<Event>()
    var slots: [ServerSlot] = []
    var client: ClientProcess?
    var random: SplitMix64
    var workloadRandom: SplitMix64
    var trace: Trace
    var timeline: Timeline
    var faults: [Scenario.Fault] = []
    var timerGeneration: UInt64 = 0
    var incarnations: UInt64 = 0
    var isForeground = true
    var isReachable = true
    var backgroundGeneration: UInt64 = 0
    var healed = false
    var storageErrors: [String] = []
    var stats = Statistics()
    let masterKey: [UInt8]
    /// Every message the user queued: client message id → server index.
    var userMessages: [(clientMessageID: String, server: Int, payload: [UInt8])] = []

    public struct Statistics: Hashable, Sendable {
        public var events = 0
        public var framesSent = 0
        public var messagesQueued = 0
        public var peerMessages = 0
        public var kills = 0
        public var connectionsOpened = 0
        /// Messages a legacy server lost for good (a dropped push is never sent again).
        public var serverLosses = 0
        public var droppedPushes = 0
    }

    public init(scenario: Scenario, options: Options) {
        self.scenario = scenario
        self.options = options
        dataDirectory = options.workDirectory + "/client-\(options.seed)"
        let root = SplitMix64(seed: options.seed)
        random = root.derived("engine")
        workloadRandom = root.derived("workload")
        var keyRandom = root.derived("master-key")
        masterKey = (0..<32).map { _ in UInt8.random(in: 0...255, using: &keyRandom) }
        trace = Trace(path: options.tracePath)
        timeline = Timeline(enabled: options.recordTimeline)
        var setupRandom = root.derived("setup")
        let configuration = scenario.servers
        for index in 0..<configuration.count {
            let behaviour: ServerBehaviour
            switch configuration.behaviour {
            case "legacy": behaviour = .legacy
            case "extended": behaviour = .extended
            default: behaviour = setupRandom.nextDouble(in: 0...1) < (configuration.legacyFraction ?? 0.5) ? .legacy : .extended
            }
            var serverConfiguration = SimulatedServer.Configuration(behaviour: behaviour)
            if let skew = configuration.clockSkewSeconds, skew > 0 {
                serverConfiguration.clockSkew = Int64(setupRandom.nextDouble(in: -Double(skew)...Double(skew)) * 1_000_000)
            }
            let server = SimulatedServer(name: "s\(index).sim.example", configuration: serverConfiguration)
            let peers = (0..<configuration.peersPerServer).map { "peer-\(index)-\($0)" }
            let conversations = (0..<configuration.conversationsPerServer).map { "conv-\(index)-\($0)" }
            for (number, conversation) in conversations.enumerated() {
                let conversationPeers = peers.isEmpty ? [] : [peers[number % peers.count]] + (number == 0 ? Array(peers.dropFirst()) : [])
                server.createConversation(conversation, title: conversation, members: [Simulation.userID] + conversationPeers)
            }
            slots.append(ServerSlot(
                index: index, origin: try! ServerOrigin(parsing: "https://s\(index).sim.example"), server: server,
                capabilities: ServerCapabilities(advertised: server.capabilities), random: root.derived("server-\(index)"),
                peers: peers, conversations: conversations,
                latency: Micros.milliseconds(scenario.network.latencyMilliseconds),
                jitter: Micros.milliseconds(scenario.network.jitterMilliseconds)))
        }
        faults = scenario.faults.sorted { $0.atSeconds < $1.atSeconds }
        if scenario.swarm {
            var swarmRandom = root.derived("swarm")
            faults += SwarmFaults.draw(count: slots.count, duration: scenario.durationSeconds, random: &swarmRandom)
        }
    }

    static let userID = "me"

    // MARK: Running

    /// Runs the scenario, heals every fault, lets the client converge, and checks the outcome.
    public func run() -> SimulationResult {
        try? FileManager.default.removeItem(atPath: dataDirectory)
        defer { if !options.keepFiles { try? FileManager.default.removeItem(atPath: dataDirectory) } }
        do {
            try setUpClient()
        } catch {
            return SimulationResult(scenario: scenario.name, seed: options.seed, violations: ["setup failed: \(error)"],
                                    traceHash: trace.hash, statistics: stats, simulatedSeconds: 0, timeline: timeline)
        }
        for (index, fault) in faults.enumerated() {
            queue.schedule(.fault(index), at: .seconds(0).adding(microseconds: Int64(fault.atSeconds * 1_000_000)))
        }
        schedulePeerPosts()
        scheduleUserSend()
        queue.schedule(.heal, at: .seconds(scenario.durationSeconds))
        queue.schedule(.end, at: .seconds(scenario.durationSeconds + scenario.livenessSeconds))
        while let (time, event) = queue.pop() {
            now = time
            stats.events += 1
            trace.mix(time, event.kindCode, serverIndex(of: event))
            if case .end = event { break }
            dispatch(event)
        }
        var checker = Checker(simulation: self)
        let violations = checker.check()
        stats.serverLosses = checker.serverLosses
        stats.droppedPushes = slots.reduce(0) { $0 + $1.server.droppedPushes.count }
        trace.record(now, server: nil, "end", "violations=\(violations.count)")
        trace.close()
        client?.store.close()
        return SimulationResult(scenario: scenario.name, seed: options.seed, violations: violations, traceHash: trace.hash,
                                statistics: stats, simulatedSeconds: Double(now.microseconds) / 1_000_000, timeline: timeline)
    }

    private func serverIndex(of event: Event) -> Int {
        switch event {
        case .clientTimer(let server, _, _), .transportOpened(let server, _), .deliverToServer(let server, _, _),
             .deliverToClient(let server, _, _), .closeToClient(let server, _, _), .closeToServer(let server, _),
             .serverAuthDeadline(let server, _), .peerPost(let server), .renewToken(let server):
            server
        default:
            -1
        }
    }

    private func dispatch(_ event: Event) {
        switch event {
        case .clientTimer(let server, let timer, let generation):
            guard let process = client, process.armedTimers[server][timer] == generation else { return }
            process.armedTimers[server][timer] = nil
            deliver(.timerFired(timer), to: server)
        case .transportOpened(let server, let link):
            guard let connection = slots[server].openLinks[link] else { return }
            slots[server].server.connectionOpened(link, now: now)
            queue.schedule(.serverAuthDeadline(server: server, link: link), at: now.adding(microseconds: Micros.seconds(10)))
            if linkIncarnation(link) == client?.incarnation {
                deliver(.transportOpened(connection), to: server)
            }
        case .deliverToServer(let server, let link, let bytes):
            guard slots[server].openLinks[link] != nil, slots[server].link != .blackhole else { return }
            apply(slots[server].server.receive(bytes, on: link, now: now), server: server)
        case .deliverToClient(let server, let link, let bytes):
            slots[server].server.frameDelivered(link)
            guard let connection = slots[server].openLinks[link], slots[server].link != .blackhole,
                  linkIncarnation(link) == client?.incarnation else { return }
            deliver(.received(connection, bytes), to: server)
        case .closeToClient(let server, let link, let code):
            guard let connection = slots[server].openLinks.removeValue(forKey: link) else { return }
            slots[server].server.connectionClosed(link)
            if linkIncarnation(link) == client?.incarnation {
                deliver(.transportClosed(connection, code: code), to: server)
            }
        case .closeToServer(let server, let link):
            slots[server].openLinks.removeValue(forKey: link)
            slots[server].server.connectionClosed(link)
        case .serverAuthDeadline(let server, let link):
            apply(slots[server].server.authDeadlinePassed(link), server: server)
        case .osKillsSockets(let generation):
            guard !isForeground, generation == backgroundGeneration else { return }
            for index in slots.indices { resetLinks(of: index, notifyClient: true) }
        case .fault(let index):
            startFault(index)
        case .faultEnds(let index):
            endFault(index)
        case .flapToggle(let index, let remaining):
            flap(index, remaining: remaining)
        case .peerPost(let server):
            peerPost(server)
        case .userSend:
            userSend()
        case .relaunch:
            relaunch()
        case .renewToken(let server):
            renewToken(server)
        case .heal:
            heal()
        case .end:
            break
        }
    }

    // MARK: Client

    private func setUpClient() throws {
        try FileManager.default.createDirectory(atPath: options.workDirectory, withIntermediateDirectories: true)
        let store = try Store.open(at: dataDirectory, keyProvider: RawKeyProvider(rawKey: masterKey),
                                   options: Store.Options(partitionPoolCapacity: scenario.client.poolCapacity))
        let partitions = try store.addServers(slots.map(\.origin), now: now)
        for index in slots.indices {
            let partition = partitions[index]
            try partition.setOwnUserID(Self.userID, now: now)
            let token = slots[index].server.issueToken(for: Self.userID, now: now, random: &slots[index].random)
            try partition.setSessionToken(token, now: now)
            try partition.setServerConfig(ServerConfig(name: slots[index].server.name, websocketURL: "wss://s\(index).sim.example/ws",
                                                       capabilities: slots[index].server.capabilities), now: now)
            slots[index].serverID = partition.id
        }
        store.close()
        launch()
    }

    /// Starts the client process from what is on disk.
    func launch() {
        incarnations += 1
        do {
            let store = try Store.open(at: dataDirectory, keyProvider: RawKeyProvider(rawKey: masterKey),
                                       options: Store.Options(partitionPoolCapacity: scenario.client.poolCapacity))
            let process = ClientProcess(incarnation: incarnations, store: store, sessions: [], partitions: [],
                                        armedTimers: Array(repeating: [:], count: slots.count))
            var configuration = ServerSession.Configuration()
            configuration.deliberateBug = scenario.client.deliberateBug
            for slot in slots {
                guard !slot.removed, let id = slot.serverID, let partition = try? store.partition(for: id) else {
                    process.sessions.append(nil)
                    process.partitions.append(nil)
                    continue
                }
                try partition.returnAllInFlightToQueue(now: now)
                let snapshot = try partition.sessionSnapshot()
                var sessionRandom = slot.random.derived("session-\(incarnations)")
                process.sessions.append(ServerSession(configuration: configuration, capabilities: slot.capabilities,
                                                      snapshot: snapshot, seed: sessionRandom.next()))
                process.partitions.append(partition)
            }
            client = process
            trace.record(now, server: nil, "launch", "incarnation=\(incarnations)")
            for index in slots.indices {
                if isForeground == false { deliver(.appBackgrounded, to: index) }
                if isReachable == false { deliver(.reachabilityLost, to: index) }
                deliver(.connectRequested, to: index)
                if slots[index].removalRequested, !slots[index].removed { deliver(.removeRequested, to: index) }
            }
        } catch where isSimulatedCrash(error) {
            kill()
        } catch {
            storageErrors.append("relaunch failed: \(error)")
        }
    }

    /// The process dies: memory is gone, disk stays. Connections drop.
    func kill() {
        guard let process = client else { return }
        stats.kills += 1
        trace.record(now, server: nil, "kill", "incarnation=\(process.incarnation)")
        client = nil
        process.store.close()
        for index in slots.indices {
            for link in slots[index].openLinks.keys.sorted() where linkIncarnation(link) == process.incarnation {
                queue.schedule(.closeToServer(server: index, link: link), at: now.adding(microseconds: slots[index].latency))
            }
        }
        queue.schedule(.relaunch, at: now.adding(microseconds: Micros.seconds(5)))
    }

    private func relaunch() {
        guard client == nil else { return }
        launch()
    }

    /// Hands one event to server `index`'s session and carries out its effects in order.
    func deliver(_ event: SessionEvent, to index: Int) {
        guard let process = client, process.sessions[index] != nil else { return }
        let effects = process.sessions[index]!.handle(event, now: now)
        execute(effects, server: index)
    }

    private func execute(_ effects: [SessionEffect], server index: Int) {
        var pendingWrites: [PersistOperation] = []
        for (position, effect) in effects.enumerated() {
            guard let process = client else { return }  // killed half way: the rest never happens
            if case .persist(let operation) = effect {
                // Consecutive writes of one event are committed together.
                pendingWrites.append(operation)
                if position + 1 < effects.count, case .persist = effects[position + 1] { continue }
                guard let partition = process.partitions[index] else { continue }
                let writes = pendingWrites
                pendingWrites.removeAll()
                do {
                    try partition.apply(writes, now: now)
                } catch where isSimulatedCrash(error) {
                    kill()
                    return
                } catch {
                    storageErrors.append("server \(index): \(writes): \(error)")
                    kill()
                    return
                }
                continue
            }
            switch effect {
            case .openTransport(let connection):
                stats.connectionsOpened += 1
                let link = (process.incarnation << 32) | connection.rawValue
                guard slots[index].link == .up, isReachable, !slots[index].removed else { continue }  // times out
                slots[index].openLinks[link] = connection
                queue.schedule(.transportOpened(server: index, link: link), at: now.adding(microseconds: 2 * latency(index)))
            case .closeTransport(let connection, _):
                let link = (process.incarnation << 32) | connection.rawValue
                if slots[index].openLinks.removeValue(forKey: link) != nil {
                    queue.schedule(.closeToServer(server: index, link: link), at: now.adding(microseconds: latency(index)))
                }
            case .send(let connection, let bytes):
                stats.framesSent += 1
                let link = (process.incarnation << 32) | connection.rawValue
                guard slots[index].openLinks[link] != nil, slots[index].link == .up else { continue }
                let at = max(now.adding(microseconds: latency(index)), slots[index].lastDeliveryToServer[link] ?? .zero)
                slots[index].lastDeliveryToServer[link] = at
                queue.schedule(.deliverToServer(server: index, link: link, bytes: bytes), at: at)
            case .setTimer(let timer, let at):
                timerGeneration += 1
                process.armedTimers[index][timer] = timerGeneration
                queue.schedule(.clientTimer(server: index, timer: timer, generation: timerGeneration), at: max(at, now))
            case .cancelTimer(let timer):
                process.armedTimers[index][timer] = nil
            case .persist:
                break  // handled above
            case .notify(let notification):
                notify(notification, server: index)
            }
        }
    }

    private func notify(_ notification: SessionNotification, server index: Int) {
        switch notification {
        case .connectionStateChanged(let state):
            trace.record(now, server: index, "state", state.rawValue)
            timeline.state(index, state, at: now)
        case .authFailed(let reason):
            trace.record(now, server: index, "authFailed", reason)
            // The front end signs in again a little later (a new token from a passkey login).
            queue.schedule(.renewToken(server: index), at: now.adding(microseconds: Micros.seconds(60)))
        case .outboxItemSent(let clientMessageID, _):
            trace.record(now, server: index, "sent", clientMessageID)
            timeline.queueDepth(index, client?.sessions[index]?.pendingOutboxCount ?? 0, at: now)
        case .outboxItemFailed(let clientMessageID, let failure):
            trace.record(now, server: index, "failed", "\(clientMessageID) \(failure.reason)")
        case .outboxItemExpired(let clientMessageID):
            trace.record(now, server: index, "expired", clientMessageID)
        case .gapOpened(let id):
            trace.record(now, server: index, "gapOpened", "\(id)")
            timeline.gap(index, open: true, at: now)
        case .gapFilled(let id):
            trace.record(now, server: index, "gapFilled", "\(id)")
            timeline.gap(index, open: false, at: now)
        case .readyForRemoval:
            finishRemoval(index)
        case .messagesStored, .delivered, .presence, .caughtUp, .frame:
            break
        }
    }

    private func finishRemoval(_ index: Int) {
        guard let process = client, let id = slots[index].serverID else { return }
        do {
            try process.store.removeServer(id)
            slots[index].removed = true
            client?.sessions[index] = nil
            client?.partitions[index] = nil
            trace.record(now, server: index, "removed")
        } catch where isSimulatedCrash(error) {
            kill()
        } catch {
            storageErrors.append("removing server \(index): \(error)")
        }
    }

    private func renewToken(_ index: Int) {
        guard !slots[index].removed, let process = client, let partition = process.partitions[index],
              process.sessions[index]?.connectionState == .authFailed else { return }
        let token = slots[index].server.issueToken(for: Self.userID, now: now, random: &slots[index].random)
        do {
            try partition.setSessionToken(token, now: now)
        } catch where isSimulatedCrash(error) {
            kill()
            return
        } catch {
            storageErrors.append("server \(index): storing a token: \(error)")
            return
        }
        deliver(.sessionTokenUpdated(token), to: index)
    }

    // MARK: Network

    func latency(_ index: Int) -> Int64 {
        let jitter = slots[index].jitter > 0 ? Int64(slots[index].random.next() % UInt64(slots[index].jitter)) : 0
        return slots[index].latency + jitter
    }

    func linkIncarnation(_ link: UInt64) -> UInt64 { link >> 32 }

    /// Server outputs go onto the network.
    func apply(_ outputs: [SimulatedServer.Output], server index: Int) {
        for output in outputs {
            switch output {
            case .send(let link, let bytes):
                guard slots[index].openLinks[link] != nil, slots[index].link == .up else { continue }
                let at = max(now.adding(microseconds: latency(index)), slots[index].lastDeliveryToClient[link] ?? .zero)
                slots[index].lastDeliveryToClient[link] = at
                queue.schedule(.deliverToClient(server: index, link: link, bytes: bytes), at: at)
            case .close(let link, let code):
                guard slots[index].openLinks[link] != nil else { continue }
                let at = max(now.adding(microseconds: latency(index)), slots[index].lastDeliveryToClient[link] ?? .zero)
                queue.schedule(.closeToClient(server: index, link: link, code: code), at: at)
            }
        }
    }

    /// Every connection of server `index` drops at once (both sides see it).
    func resetLinks(of index: Int, notifyClient: Bool) {
        for link in slots[index].openLinks.keys.sorted() {
            let connection = slots[index].openLinks.removeValue(forKey: link)!
            slots[index].server.connectionClosed(link)
            if notifyClient, linkIncarnation(link) == client?.incarnation {
                deliver(.transportClosed(connection, code: nil), to: index)
            }
        }
    }

    // MARK: Workload

    private func exponentialDelay(perHour rate: Double) -> Int64 {
        let unit = max(workloadRandom.nextDouble(in: 0...1), 1e-9)
        return Int64(-log(unit) * 3600 / rate * 1_000_000)
    }

    private func schedulePeerPosts() {
        guard scenario.workload.peerMessagesPerHour > 0 else { return }
        for index in slots.indices where !slots[index].peers.isEmpty {
            queue.schedule(.peerPost(server: index), at: now.adding(microseconds: exponentialDelay(perHour: scenario.workload.peerMessagesPerHour)))
        }
    }

    private func scheduleUserSend() {
        guard scenario.workload.userMessagesPerHour > 0 else { return }
        queue.schedule(.userSend, at: now.adding(microseconds: exponentialDelay(perHour: scenario.workload.userMessagesPerHour)))
    }

    private func peerPost(_ index: Int) {
        guard !healed else { return }
        postFromPeer(index)
        queue.schedule(.peerPost(server: index), at: now.adding(microseconds: exponentialDelay(perHour: scenario.workload.peerMessagesPerHour)))
    }

    func postFromPeer(_ index: Int) {
        guard !slots[index].peers.isEmpty, !slots[index].conversations.isEmpty else { return }
        let conversation = slots[index].conversations[Int(workloadRandom.next() % UInt64(slots[index].conversations.count))]
        let members = slots[index].server.members(of: conversation).filter { $0 != Self.userID }
        guard !members.isEmpty else { return }
        let sender = members[Int(workloadRandom.next() % UInt64(members.count))]
        stats.peerMessages += 1
        let payload = Array("peer:\(index):\(stats.peerMessages)".utf8)
        apply(slots[index].server.peerPost(from: sender, conversationID: conversation, payload: payload, now: now), server: index)
        if scenario.workload.otherDeviceReads == true { slots[index].server.acknowledgeEverything(for: Self.userID) }
    }

    private func userSend() {
        guard !healed else { return }
        defer { scheduleUserSend() }
        guard let process = client else { return }
        let candidates = slots.indices.filter { !slots[$0].removed && !slots[$0].removalRequested && !slots[$0].conversations.isEmpty }
        guard !candidates.isEmpty else { return }
        let index = candidates[Int(workloadRandom.next() % UInt64(candidates.count))]
        guard let partition = process.partitions[index] else { return }
        let conversation = slots[index].conversations[Int(workloadRandom.next() % UInt64(slots[index].conversations.count))]
        stats.messagesQueued += 1
        let clientMessageID = String(format: "%016llX-%06d", UInt64(bitPattern: now.microseconds), stats.messagesQueued)
        let payload = Array("user:\(clientMessageID)".utf8)
        do {
            let item = try partition.enqueue(conversationID: conversation, messageType: "text", payload: payload,
                                             clientMessageID: clientMessageID, now: now, lifespanSeconds: 30 * 24 * 3600)
            userMessages.append((clientMessageID, index, payload))
            trace.record(now, server: index, "enqueued", clientMessageID)
            deliver(.enqueued(item), to: index)
            timeline.queueDepth(index, client?.sessions[index]?.pendingOutboxCount ?? 0, at: now)
        } catch where isSimulatedCrash(error) {
            kill()
        } catch {
            storageErrors.append("enqueue on server \(index): \(error)")
        }
    }
}

func isSimulatedCrash(_ error: any Error) -> Bool {
    (error as? StoreError)?.code == .simulatedCrash
}

/// What one run produced.
public struct SimulationResult: Sendable {
    public let scenario: String
    public let seed: UInt64
    public let violations: [String]
    public let traceHash: UInt64
    public let statistics: Simulation.Statistics
    public let simulatedSeconds: Double
    public let timeline: Timeline

    public var passed: Bool { violations.isEmpty }
}
