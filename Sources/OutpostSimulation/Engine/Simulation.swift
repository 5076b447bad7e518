import Foundation
@_spi(Simulation) import OutpostClientCore
import OutpostStore
import OutpostSync
import OutpostWire

/// The deterministic discrete-event simulation of one client and many Sovereign servers.
///
/// It drives the client core apps run (``ClientCore`` and one ``ServerCore`` per server, with
/// the real encrypted store: SQLCipher files in a scratch directory) with virtual time,
/// simulated servers and a simulated network. Everything random comes from one root seed,
/// split per server and per subsystem; nothing reads a clock, and no `Dictionary` or `Set`
/// order reaches behaviour or the trace.
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
        /// Take the client's redacted diagnostics at the end (``SimulationResult/diagnostics``),
        /// as a user would paste them into a bug report.
        public var collectDiagnostics = false

        public init(seed: UInt64, workDirectory: String) {
            self.seed = seed
            self.workDirectory = workDirectory
        }
    }

    enum Event {
        case clientTimer(server: Int, process: UInt64, timer: ServerTimer)
        case transportOpened(server: Int, link: UInt64)
        case deliverToServer(server: Int, link: UInt64, bytes: [UInt8])
        case deliverToClient(server: Int, link: UInt64, bytes: [UInt8], messageIDs: [String])
        case closeToClient(server: Int, link: UInt64, code: UInt16?)
        /// A close the client's `process` sent (or its system sent for it) reaches the server.
        case closeToServer(server: Int, link: UInt64, process: UInt64)
        /// The server's answer to a close the client started: the handshake is over.
        case closeConfirmed(server: Int, link: UInt64, process: UInt64, handle: ConnectionHandle)
        case serverAuthDeadline(server: Int, link: UInt64)
        case osKillsSockets(generation: UInt64)
        case fault(Int)
        case faultEnds(Int)
        case flapToggle(fault: Int, remaining: Int)
        case peerPost(server: Int)
        case userSend
        case userReads
        case deviceOnline(server: Int, device: UInt64)
        case devicePost(server: Int)
        case relaunch
        case renewToken(server: Int)
        case removeUnavailable(server: Int)
        case retryRemoval(server: Int)
        case retryAdding(server: Int)
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
            case .userReads: 18
            case .deviceOnline: 19
            case .devicePost: 20
            case .removeUnavailable: 21
            case .retryRemoval: 22
            case .retryAdding: 23
            case .closeConfirmed: 24
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

    /// A connection on the simulated network: the core's handle, and which client process
    /// (incarnation) opened it; a dead process's connections are never news to the next one.
    struct Link {
        let handle: ConnectionHandle
        let process: UInt64
        /// Handshakes done.
        var isOpen = false
        /// Given up by the core while it was still opening. A connect cannot be called off (a
        /// socket library completes it anyway): when it completes it is reported all the same,
        /// to whichever core has the server then, which must know it for a stale one.
        var abandoned = false
        /// On a path the device left (`network_switch`): frames vanish both ways, and a close the
        /// client sends waits for the old path to come back.
        var isStranded = false
    }

    struct ServerSlot {
        let index: Int
        let origin: ServerOrigin
        let server: SimulatedServer
        var random: SplitMix64
        let peers: [String]
        let conversations: [String]
        /// What the faults in force make of the link: down over a black hole over up.
        private(set) var link: LinkState = .up
        /// The faults in force on the link, by fault index, in the order they started.
        private(set) var linkFaults: [(fault: Int, state: LinkState)] = []
        var latency: Int64
        var jitter: Int64
        var openLinks: [UInt64: Link] = [:]
        var lastDeliveryToClient: [UInt64: Timestamp] = [:]
        var lastDeliveryToServer: [UInt64: Timestamp] = [:]
        var removed = false
        var removalRequested = false
        var serverID: ServerID?
        /// The user's other devices on this server (connections with no network behind them).
        var devices: [UInt64] = []
        /// Closes the client sent into a black hole: they reach the server when it lifts.
        var lateCloses: [(link: UInt64, process: UInt64)] = []
        /// Closes the client sent on a path the device left: they reach the server when it is back.
        var strandedCloses: [(link: UInt64, process: UInt64)] = []
        /// The checker's accounting for servers without history: which client process each
        /// message reached, and which ones reached it in an input whose commit failed.
        var reached: [String: UInt64] = [:]
        var failedCommits: Set<String> = []
        /// Messages that had reached a partition the user then removed: gone with it, by choice.
        var destroyedByRemoval: Set<String> = []
        /// Upstream: the client's connections its own late close left deaf (see
        /// ``Simulation/closeReachesServer(_:on:)``).
        var deafenedByOwnClose: Set<UInt64> = []
        /// Until then the server's discovery document cannot be fetched: adding it fails.
        var discoveryFailsUntil: Timestamp?
        /// What the client did for this server since it was (last) added: the checker's notes.
        var observed = Observations()
        /// Every message the user queued on this server since it was (last) added.
        var queued: [(clientMessageID: String, payload: [UInt8])] = []

        var extensions: ServerCapabilities { server.configuration.extensions }

        /// A fault starts acting on the link (a black hole under a partition stays under it).
        mutating func linkFaultStarted(_ fault: Int, _ state: LinkState) {
            linkFaults.append((fault, state))
            updateLink()
        }

        /// A fault stops acting on the link; the others in force still do.
        mutating func linkFaultEnded(_ fault: Int) {
            linkFaults.removeAll { $0.fault == fault }
            updateLink()
        }

        /// Every fault heals.
        mutating func allLinkFaultsEnded() {
            linkFaults.removeAll()
            updateLink()
        }

        private mutating func updateLink() {
            link = linkFaults.contains { $0.state == .down } ? .down : linkFaults.isEmpty ? .up : .blackhole
        }

        /// The partition is gone, and with it every message that had reached it.
        mutating func markRemoved() {
            removed = true
            destroyedByRemoval.formUnion(reached.keys)
            reached = [:]
        }
    }

    /// What the simulated front end saw of one server, for the checker.
    struct Observations {
        /// How many times each message id was reported by `messagesStored`.
        var stored: [String: Int] = [:]
        /// Message ids in the order `messagesStored` reported them.
        var arrivals: [String] = []
        /// How many times each message id was in a notification.
        var notified: [String: Int] = [:]
        /// Per conversation: how many arrivals there were when the user last marked it read.
        var readAt: [String: Int] = [:]
        /// Message ids reported set aside.
        var setAside: [String] = []
        /// When the server last became Connected.
        var connectedAt: Timestamp?
        /// Logins that ended within ``Checker/shortLogin`` of authenticating.
        var shortLogins: [Timestamp] = []
        /// AuthFailed reported while the server still held a valid session for the user: the
        /// user was asked to sign in again for nothing.
        var needlessSignIns: [(at: Timestamp, reason: String)] = []
    }

    /// The client process: lost on a kill, rebuilt from disk on relaunch. A class, so that one
    /// server's input never copies the other servers' cores.
    final class ClientProcess {
        let incarnation: UInt64
        let core: ClientCore
        /// Each slot's server core, `nil` where the server is removed or unavailable.
        var servers: [ServerCore?]

        init(incarnation: UInt64, core: ClientCore, servers: [ServerCore?]) {
            self.incarnation = incarnation
            self.core = core
            self.servers = servers
        }
    }

    let scenario: Scenario
    let options: Options
    let dataDirectory: String
    /// Virtual time: moved only by the event loop, and by ``run(until:)`` to a deadline.
    var now = Timestamp.zero
    var queue = EventQueue<Event>()
    var slots: [ServerSlot] = []
    var client: ClientProcess?
    var random: SplitMix64
    var workloadRandom: SplitMix64
    var trace: Trace
    var timeline: Timeline
    var faults: [Scenario.Fault] = []
    var incarnations: UInt64 = 0
    var nextLink: UInt64 = 0
    var isForeground = true
    var isReachable = true
    /// Low-power mode, as the device set it (a `low_power` fault).
    var isLowPower = false
    var backgroundGeneration: UInt64 = 0
    var healed = false
    /// `kill_during_relaunch`: the next launch dies at this write.
    var crashAtRelaunchWrite: Int?
    var storageErrors: [String] = []
    var stats = Statistics()
    let masterKey: [UInt8]
    /// Where a front end running inside the simulation hears what the client core tells it
    /// (`OutpostTesting`); `nil` in a scenario run.
    public var frontEnd: FrontEndHooks?

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
        /// Writes the storage refused (injected disk full, busy, I/O error) while the process lived.
        public var storageFailures = 0
        /// Undecodable messages the client set aside.
        public var messagesSetAside = 0
        /// Servers the client could not open at launch and the user removed.
        public var unavailableRemoved = 0
        /// Servers removed and added again.
        public var serversReadded = 0
        /// Upstream: pushes over the protocol's 65,536-byte envelope limit the client was handed.
        public var oversizedPushes = 0
        /// Upstream: times a late close of the client's own left its newer connection deaf.
        public var lateCloseDeafenings = 0
        /// Heartbeats the client scheduled (fewer in low-power mode).
        public var heartbeats = 0
        /// Messages the user wrote whose lifespan ran out before they could be sent (the user
        /// was told); never one the server stored.
        public var expiredUnsent = 0
    }

    /// Virtual connection ids of the user's other devices start here, far from network links.
    static let firstDevice: UInt64 = 1 << 62

    public init(scenario: Scenario, options: Options) {
        self.scenario = scenario
        self.options = options
        dataDirectory = options.workDirectory + "/client-\(options.seed)"
        let root = SplitMix64(seed: options.seed)
        random = root.derived("engine")
        workloadRandom = root.derived("workload")
        var keyRandom = root.derived("master-key")
        masterKey = (0..<32).map { _ in UInt8(truncatingIfNeeded: keyRandom.next()) }
        trace = Trace(path: options.tracePath)
        timeline = Timeline(enabled: options.recordTimeline)
        var setupRandom = root.derived("setup")
        let configuration = scenario.servers
        for index in 0..<configuration.count {
            var serverConfiguration = Self.serverConfiguration(for: configuration, random: &setupRandom)
            if let resolution = configuration.timestampResolutionMilliseconds {
                serverConfiguration.timestampResolution = Micros.milliseconds(resolution)
            }
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
            let devices = (0..<(scenario.workload.otherDevices ?? 0)).map { Self.firstDevice + UInt64(index * 16 + $0) }
            slots.append(ServerSlot(
                index: index, origin: try! ServerOrigin(parsing: "https://s\(index).sim.example"), server: server,
                random: root.derived("server-\(index)"), peers: peers, conversations: conversations,
                latency: Micros.milliseconds(scenario.network.latencyMilliseconds),
                jitter: Micros.milliseconds(scenario.network.jitterMilliseconds), devices: devices))
        }
        for slot in slots { timeline.behaviour(slot.index, slot.server.configuration.behaviourName) }
        faults = scenario.faults.sorted { $0.atSeconds < $1.atSeconds }
        if scenario.swarm {
            var swarmRandom = root.derived("swarm")
            faults += SwarmFaults.draw(count: slots.count, duration: scenario.durationSeconds, random: &swarmRandom)
        }
    }

    static let userID = "me"

    /// How the next server behaves, as the scenario's `servers` say.
    private static func serverConfiguration(for servers: Scenario.Servers, random: inout SplitMix64) -> SimulatedServer.Configuration {
        if let names = servers.extensions { return .init(extensions: ServerCapabilities(advertised: names)) }
        switch servers.behaviour {
        case "legacy": return .init(behaviour: .legacy)
        case "extended": return .init(behaviour: .extended)
        case "upstream": return .init(behaviour: .upstream)
        case "any":
            // Every subset of the extensions, or upstream.
            let draw = Int(random.next() % 9)
            return draw == 8 ? .init(behaviour: .upstream) : .init(extensions: ServerCapabilities(rawValue: draw))
        default:
            return .init(behaviour: random.nextDouble(in: 0...1) < (servers.legacyFraction ?? 0.5) ? .legacy : .extended)
        }
    }

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
        scheduleUserReads()
        scheduleDevices()
        queue.schedule(.heal, at: .seconds(scenario.durationSeconds))
        queue.schedule(.end, at: .seconds(scenario.durationSeconds + scenario.livenessSeconds))
        while processNextEvent() {}
        let violations = check()
        trace.record(now, server: nil, "end", "violations=\(violations.count)")
        trace.close()
        let diagnostics = options.collectDiagnostics ? client.map { process in
            ClientDiagnostics(takenAt: now, servers: process.servers.compactMap { $0?.diagnostics() } + process.core.unavailableDiagnostics)
        } : nil
        client?.core.close()
        return SimulationResult(scenario: scenario.name, seed: options.seed, violations: violations, traceHash: trace.hash,
                                statistics: stats, simulatedSeconds: Double(now.microseconds) / 1_000_000, timeline: timeline,
                                diagnostics: diagnostics)
    }

    /// Takes the earliest event off the agenda and carries it out; `false` when there is none
    /// left or it was the end of the run.
    func processNextEvent() -> Bool {
        guard let (time, event) = queue.pop() else { return false }
        now = time
        stats.events += 1
        trace.mix(time, event.kindCode, serverIndex(of: event))
        if case .end = event { return false }
        dispatch(event)
        return true
    }

    /// The checker's verdict on the run so far, with the statistics it fills in.
    func check() -> [String] {
        var checker = Checker(simulation: self)
        let violations = checker.check()
        stats.serverLosses = checker.serverLosses
        stats.expiredUnsent = checker.expiredUnsent
        stats.droppedPushes = slots.reduce(0) { $0 + $1.server.droppedPushes.count }
        return violations
    }

    private func serverIndex(of event: Event) -> Int {
        switch event {
        case .clientTimer(let server, _, _), .transportOpened(let server, _), .deliverToServer(let server, _, _),
             .deliverToClient(let server, _, _, _), .closeToClient(let server, _, _), .closeToServer(let server, _, _),
             .closeConfirmed(let server, _, _, _),
             .serverAuthDeadline(let server, _), .peerPost(let server), .renewToken(let server),
             .deviceOnline(let server, _), .devicePost(let server), .removeUnavailable(let server),
             .retryRemoval(let server), .retryAdding(let server):
            server
        default:
            -1
        }
    }

    func dispatch(_ event: Event) {
        switch event {
        case .clientTimer(let server, let process, let timer):
            guard process == client?.incarnation else { return }
            deliver(.timerFired(timer), to: server)
        case .transportOpened(let server, let link):
            guard let open = slots[server].openLinks[link] else { return }
            slots[server].openLinks[link]?.isOpen = true
            slots[server].server.connectionOpened(link, now: now)
            queue.schedule(.serverAuthDeadline(server: server, link: link), at: now.adding(microseconds: Micros.seconds(10)))
            if open.process == client?.incarnation, client?.servers[server] != nil {
                deliver(.connectionOpened(open.handle), to: server)
            } else if open.abandoned {
                // Nobody owns it any more (the server was removed): the driver closes it.
                slots[server].openLinks.removeValue(forKey: link)
                queue.schedule(.closeToServer(server: server, link: link, process: open.process), at: now.adding(microseconds: latency(server)))
            }
        case .deliverToServer(let server, let link, let bytes):
            guard let open = slots[server].openLinks[link], !open.isStranded, slots[server].link != .blackhole else { return }
            apply(slots[server].server.receive(bytes, on: link, now: now), server: server)
        case .deliverToClient(let server, let link, let bytes, let messageIDs):
            slots[server].server.frameDelivered(link)
            guard let open = slots[server].openLinks[link], !open.isStranded, slots[server].link != .blackhole,
                  let process = client, open.process == process.incarnation, process.servers[server] != nil else { return }
            // The checker's accounting: these messages reached this process.
            for id in messageIDs { slots[server].reached[id] = process.incarnation }
            if bytes.count > WireCodec.maxEnvelopeBytes { stats.oversizedPushes += 1 }
            let outputs = process.servers[server]!.handle(.received(open.handle, bytes), now: now)
            if outputs.contains(where: { if case .event(.storageFailed) = $0 { true } else { false } }) {
                // It could not be committed: a server without history will not send it again.
                slots[server].failedCommits.formUnion(messageIDs)
            }
            perform(outputs, server: server)
        case .closeToClient(let server, let link, let code):
            guard let open = slots[server].openLinks[link] else { return }
            slots[server].server.connectionClosed(link)
            // Over a path the device left, the client never hears of it.
            guard !open.isStranded else { return }
            slots[server].openLinks.removeValue(forKey: link)
            if open.process == client?.incarnation {
                deliver(.connectionClosed(open.handle, code: code), to: server)
            }
        case .closeToServer(let server, let link, let process):
            slots[server].openLinks.removeValue(forKey: link)
            closeReachesServer(link, from: process, on: server)
        case .closeConfirmed(let server, _, let process, let handle):
            if process == client?.incarnation { deliver(.connectionClosed(handle, code: 1000), to: server) }
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
        case .userReads:
            userReads()
        case .deviceOnline(let server, let device):
            deviceOnline(device, on: server)
        case .devicePost(let server):
            devicePost(server)
        case .relaunch:
            relaunch()
        case .renewToken(let server):
            renewToken(server)
        case .removeUnavailable(let server):
            removeUnavailable(server)
        case .retryRemoval(let server):
            if slots[server].removalRequested, !slots[server].removed { removeServer(server) }
        case .retryAdding(let server):
            readdServer(server)
        case .heal:
            heal()
        case .end:
            break
        }
    }

    // MARK: Client

    func setUpClient() throws {
        try FileManager.default.createDirectory(atPath: options.workDirectory, withIntermediateDirectories: true)
        let store = try Store.open(at: dataDirectory, keyProvider: RawKeyProvider(rawKey: masterKey),
                                   options: Store.Options(partitionPoolCapacity: scenario.client.poolCapacity))
        var setups: [ServerSetup] = []
        for index in slots.indices {
            let token = slots[index].server.issueToken(for: Self.userID, now: now, random: &slots[index].random)
            setups.append(ServerSetup(origin: slots[index].origin, config: serverConfig(index), sessionToken: token,
                                      ownUserID: Self.userID))
        }
        let partitions = try store.addServers(setups, now: now)
        for index in slots.indices { slots[index].serverID = partitions[index].id }
        store.close()
        launch()
    }

    /// What the client keeps of server `index` after adding it: its discovery document, or for a
    /// server without one (upstream) what the client makes of that.
    func serverConfig(_ index: Int) -> ServerConfig {
        let server = slots[index].server
        return ServerConfig(name: server.publishesDiscovery ? server.name : slots[index].origin.host,
                            websocketURL: "wss://s\(index).sim.example/ws", capabilities: server.capabilities,
                            documentAbsent: server.publishesDiscovery ? nil : true)
    }

    /// Starts the client process from what is on disk.
    func launch() {
        incarnations += 1
        var configuration = ClientCore.Configuration()
        configuration.store = Store.Options(partitionPoolCapacity: scenario.client.poolCapacity)
        configuration.server.deliberateBug = scenario.client.deliberateBug
        let core: ClientCore
        do {
            var seed = SplitMix64(seed: options.seed).derived("client-\(incarnations)")
            core = try ClientCore(directory: dataDirectory, keyProvider: RawKeyProvider(rawKey: masterKey),
                                  configuration: configuration, seed: seed.next())
        } catch {
            storageErrors.append("relaunch failed: \(error)")
            return
        }
        if let write = crashAtRelaunchWrite {
            crashAtRelaunchWrite = nil
            core.store.faultInjector = .crash(atWrite: write)
        }
        var loaded: [ServerID: ServerCore] = [:]
        for serverCore in core.loadServers(now: now) { loaded[serverCore.id] = serverCore }
        let process = ClientProcess(incarnation: incarnations, core: core, servers: slots.map { slot in
            slot.serverID.flatMap { loaded[$0] }
        })
        client = process
        trace.record(now, server: nil, "launch", "incarnation=\(incarnations)")
        if incarnations > 1 { timeline.mark(.relaunch, "relaunched on the same data", at: now) }
        let listed = Set(core.store.servers().map(\.id))
        for index in slots.indices {
            guard let id = slots[index].serverID else { continue }
            if slots[index].removalRequested, !slots[index].removed, !listed.contains(id) {
                // The store finished the removal when it opened.
                slots[index].markRemoved()
                trace.record(now, server: index, "removed", "at launch")
            }
            if core.unavailableServers.contains(where: { $0.id == id }) {
                trace.record(now, server: index, "unavailable")
                // The user sees the server listed as unavailable, with the reason, and removes it.
                queue.schedule(.removeUnavailable(server: index), at: now.adding(microseconds: Micros.seconds(1)))
            }
            startServer(index)
            if slots[index].removalRequested, !slots[index].removed { removeServer(index) }
        }
    }

    /// The process dies: memory is gone, disk stays. Connections drop.
    func kill() {
        guard let process = client else { return }
        stats.kills += 1
        trace.record(now, server: nil, "kill", "incarnation=\(process.incarnation)")
        timeline.mark(.kill, "the app is killed", at: now)
        client = nil
        process.core.close()
        for index in slots.indices {
            for link in slots[index].openLinks.keys.sorted() where slots[index].openLinks[link]?.process == process.incarnation {
                // The system closes the dead process's sockets; on a path the device left, late.
                if slots[index].openLinks[link]!.isStranded {
                    slots[index].strandedCloses.append((link, process.incarnation))
                } else {
                    queue.schedule(.closeToServer(server: index, link: link, process: process.incarnation),
                                   at: now.adding(microseconds: slots[index].latency))
                }
            }
        }
        queue.schedule(.relaunch, at: now.adding(microseconds: Micros.seconds(5)))
    }

    /// Launches the app again on the same data, when it is not running.
    public func relaunch() {
        guard client == nil else { return }
        queue.removeAll { if case .relaunch = $0 { true } else { false } }
        launch()
    }

    /// Starts server `index`'s core in the app's state (low-power mode first: it is a setting
    /// of the device, not of a connection).
    func startServer(_ index: Int) {
        if isLowPower { deliver(.lowPowerModeChanged(true), to: index) }
        deliver(.start(foreground: isForeground, reachable: isReachable), to: index)
    }

    /// Hands one input to server `index`'s core and carries out what it returns.
    func deliver(_ input: ServerInput, to index: Int) {
        guard let process = client, process.servers[index] != nil else { return }
        let outputs = process.servers[index]!.handle(input, now: now)
        perform(outputs, server: index)
    }

    /// Carries out a core's outputs on the simulated network and clock, unless the process died
    /// making them (a crash at a write: nothing after it happens).
    func perform(_ outputs: [ServerOutput], server index: Int) {
        guard let process = client else { return }
        if process.core.store.hasCrashed {
            kill()
            return
        }
        for output in outputs {
            switch output {
            case .openConnection(let handle, _):
                stats.connectionsOpened += 1
                guard slots[index].link == .up, isReachable, !slots[index].removed else { continue }  // times out
                nextLink += 1
                slots[index].openLinks[nextLink] = Link(handle: handle, process: process.incarnation)
                queue.schedule(.transportOpened(server: index, link: nextLink), at: now.adding(microseconds: 2 * latency(index)))
            case .closeConnection(let handle, _):
                guard let link = self.link(of: handle, on: index, process: process.incarnation) else { continue }
                guard slots[index].openLinks[link]!.isOpen else {
                    slots[index].openLinks[link]!.abandoned = true
                    continue
                }
                let closed = slots[index].openLinks.removeValue(forKey: link)!
                closeFromClient(link, handle: handle, on: index, process: process.incarnation, stranded: closed.isStranded)
            case .send(let handle, let bytes):
                stats.framesSent += 1
                guard let link = self.link(of: handle, on: index, process: process.incarnation), slots[index].link == .up,
                      slots[index].openLinks[link]?.isStranded == false else { continue }
                let at = max(now.adding(microseconds: latency(index)), slots[index].lastDeliveryToServer[link] ?? .zero)
                    .adding(microseconds: transmissionTime(bytes.count))
                slots[index].lastDeliveryToServer[link] = at
                queue.schedule(.deliverToServer(server: index, link: link, bytes: bytes), at: at)
            case .setTimer(let timer, let at):
                if timer.kind == .session(.heartbeat) { stats.heartbeats += 1 }
                queue.schedule(.clientTimer(server: index, process: process.incarnation, timer: timer), at: max(at, now))
            case .cancelTimer:
                break  // a timer that fires anyway is ignored by the core
            case .event(let event):
                observe(event, server: index)
                if let id = slots[index].serverID { frontEnd?.event(OutpostEvent(server: id, kind: event)) }
            case .notify(let notification):
                for conversation in notification.conversations {
                    for id in conversation.messageIDs { slots[index].observed.notified[id, default: 0] += 1 }
                }
                frontEnd?.notification(notification)
            case .conversationsChanged:
                frontEnd?.conversationsChanged()
            }
        }
    }

    /// The client's close frame goes out. Over a working link the server closes its side and
    /// answers; over a black hole, or a path the device left, the close arrives late, once the
    /// path works again (the client hears nothing back); over a link that is down there is
    /// nothing left to close.
    private func closeFromClient(_ link: UInt64, handle: ConnectionHandle, on index: Int, process: UInt64, stranded: Bool) {
        if stranded, slots[index].link != .down {
            slots[index].strandedCloses.append((link, process))
            return
        }
        switch slots[index].link {
        case .up:
            queue.schedule(.closeToServer(server: index, link: link, process: process), at: now.adding(microseconds: latency(index)))
            queue.schedule(.closeConfirmed(server: index, link: link, process: process, handle: handle),
                           at: now.adding(microseconds: 2 * latency(index)))
        case .blackhole:
            slots[index].lateCloses.append((link, process))
        case .down:
            slots[index].server.connectionClosed(link)
        }
    }

    /// The server learns that `process` closed `link`. Upstream drops the user's push
    /// registration whichever connection holds it: when that was a newer connection of the same
    /// running process, the client's own close, arriving late, left it deaf. The checker holds
    /// that against the client: waiting for closes before logging in, and logging in again
    /// when a close could not be confirmed, is how the client prevents it. (A process that was
    /// killed cannot wait for its sockets; its late closes count against the server.)
    func closeReachesServer(_ link: UInt64, from process: UInt64, on index: Int) {
        guard let silenced = slots[index].server.connectionClosed(link), process == client?.incarnation,
              slots[index].openLinks[silenced]?.process == process else { return }
        slots[index].deafenedByOwnClose.insert(silenced)
        stats.lateCloseDeafenings += 1
        trace.record(now, server: index, "deafenedByLateClose")
    }

    /// `network_switch`: the client's open sockets to server `index` are stranded on the old path.
    func strandLinks(of index: Int) {
        for link in slots[index].openLinks.keys.sorted() where slots[index].openLinks[link]!.process == client?.incarnation {
            slots[index].openLinks[link]!.isStranded = true
        }
    }

    /// The old path works again: stranded sockets carry frames again, and the closes held on
    /// it reach the server, late.
    func restoreStrandedLinks(of index: Int) {
        for link in slots[index].openLinks.keys.sorted() { slots[index].openLinks[link]!.isStranded = false }
        sendHeldCloses(slots[index].strandedCloses, of: index)
        slots[index].strandedCloses.removeAll()
    }

    /// A black hole lifted: the closes caught in it reach the server now, late.
    func deliverLateCloses(of index: Int) {
        sendHeldCloses(slots[index].lateCloses, of: index)
        slots[index].lateCloses.removeAll()
    }

    private func sendHeldCloses(_ closes: [(link: UInt64, process: UInt64)], of index: Int) {
        for close in closes {
            queue.schedule(.closeToServer(server: index, link: close.link, process: close.process),
                           at: now.adding(microseconds: latency(index)))
        }
    }

    private func link(of handle: ConnectionHandle, on index: Int, process: UInt64) -> UInt64? {
        slots[index].openLinks.first { $0.value.handle == handle && $0.value.process == process }?.key
    }

    /// What the simulated front end does with an event: the trace, the timeline, the checker's
    /// notes, and a user's reactions (signing in again, removing an unavailable server).
    private func observe(_ event: OutpostEvent.Kind, server index: Int) {
        switch event {
        case .connectionStateChanged(let state):
            trace.record(now, server: index, "state", state.rawValue)
            timeline.state(index, state, at: now)
            if state == .connected {
                slots[index].observed.connectedAt = now
            } else if let connectedAt = slots[index].observed.connectedAt {
                slots[index].observed.connectedAt = nil
                if now.microseconds - connectedAt.microseconds < Checker.shortLogin {
                    slots[index].observed.shortLogins.append(connectedAt)
                }
            }
        case .authFailed(let reason):
            trace.record(now, server: index, "authFailed", reason)
            if slots[index].server.hasValidSession(for: Self.userID, now: now) {
                slots[index].observed.needlessSignIns.append((now, reason))
            }
            // The front end signs in again a little later (a new token from a passkey login).
            queue.schedule(.renewToken(server: index), at: now.adding(microseconds: Micros.seconds(60)))
        case .outboxItemSent(let clientMessageID, _):
            trace.record(now, server: index, "sent", clientMessageID)
            timeline.queueDepth(index, client?.servers[index]?.status.pendingOutboxCount ?? 0, at: now)
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
        case .messagesStored(let ids):
            for id in ids {
                slots[index].observed.stored[id, default: 0] += 1
                slots[index].observed.arrivals.append(id)
            }
        case .messageSetAside(let messageID, _):
            stats.messagesSetAside += 1
            trace.record(now, server: index, "setAside", messageID ?? "?")
            if let messageID { slots[index].observed.setAside.append(messageID) }
        case .storageFailed:
            stats.storageFailures += 1
            // Not the reason: a real error names a file under the scratch directory, and the
            // trace must not depend on where a run happens.
            trace.record(now, server: index, "storageFailed")
        default:
            break
        }
    }

    /// Removes server `index`: its core stops, then its partition is destroyed. When that
    /// fails, the user tries again a little later (`retry`) or is told why (the error).
    @discardableResult
    func removeServer(_ index: Int, retry: Bool = true) -> OutpostError? {
        guard let process = client, let id = slots[index].serverID else { return OutpostError(.closed, "the app is not running") }
        slots[index].removalRequested = true
        deliver(.remove, to: index)
        guard client === process else { return OutpostError(.closed, "the app died removing the server") }
        do {
            try process.core.removeServer(id)
            slots[index].markRemoved()
            process.servers[index] = nil
            trace.record(now, server: index, "removed")
            return nil
        } catch {
            if process.core.store.hasCrashed {
                kill()
                return OutpostError(.closed, "the app died removing the server")
            }
            // The user is told why (a full disk …) and tries again a little later.
            trace.record(now, server: index, "removalFailed", error.code.description)
            if retry { queue.schedule(.retryRemoval(server: index), at: now.adding(microseconds: Micros.seconds(5))) }
            return error
        }
    }

    /// The user adds a removed server again: a new sign-in, a new partition.
    func readdServer(_ index: Int) {
        guard slots[index].removed else { return }
        guard let process = client else {
            // The app is not running: the user adds it once it is back.
            queue.schedule(.retryAdding(server: index), at: now.adding(microseconds: Micros.seconds(10)))
            return
        }
        if let until = slots[index].discoveryFailsUntil, now < until {
            // Discovery failed: nothing was added; the user tries again a little later.
            trace.record(now, server: index, "addingFailed", "discovery")
            queue.schedule(.retryAdding(server: index), at: now.adding(microseconds: Micros.seconds(10)))
            return
        }
        let token = slots[index].server.issueToken(for: Self.userID, now: now, random: &slots[index].random)
        do {
            let core = try process.core.addServer(slots[index].origin, config: serverConfig(index),
                                                  signIn: ServerSignIn(sessionToken: token, userID: Self.userID), now: now)
            process.servers[index] = core
            slots[index].removed = false
            slots[index].removalRequested = false
            slots[index].observed = Observations()
            slots[index].queued = []
            stats.serversReadded += 1
            trace.record(now, server: index, "readded")
            startServer(index)
        } catch {
            // The user tries again a little later: after a relaunch when the app died adding it.
            trace.record(now, server: index, "addingFailed", error.code.description)
            queue.schedule(.retryAdding(server: index), at: now.adding(microseconds: Micros.seconds(10)))
            if process.core.store.hasCrashed { kill() }
        }
    }

    private func removeUnavailable(_ index: Int) {
        guard let process = client, let id = slots[index].serverID,
              process.core.unavailableServers.contains(where: { $0.id == id }) else { return }
        stats.unavailableRemoved += 1
        removeServer(index)
    }

    private func renewToken(_ index: Int) {
        guard !slots[index].removed, let process = client,
              process.servers[index]?.status.connectionState == .authFailed else { return }
        let token = slots[index].server.issueToken(for: Self.userID, now: now, random: &slots[index].random)
        let outcome = process.servers[index]!.updateSessionToken(token, now: now)
        perform(outcome.outputs, server: index)
    }

    // MARK: Network

    /// How long a frame of `bytes` takes on the wire at the scenario's bandwidth: frames of one
    /// connection queue behind each other, so a large catch-up takes seconds, not microseconds.
    func transmissionTime(_ bytes: Int) -> Int64 {
        guard let kilobits = scenario.network.bandwidthKilobitsPerSecond, kilobits > 0 else { return 0 }
        return Int64(bytes) * 8_000 / kilobits
    }

    func latency(_ index: Int) -> Int64 {
        let jitter = slots[index].jitter > 0 ? Int64(slots[index].random.next() % UInt64(slots[index].jitter)) : 0
        return slots[index].latency + jitter
    }

    /// Server outputs go onto the network (or to the user's other devices, which have none).
    func apply(_ outputs: [SimulatedServer.Output], server index: Int) {
        for output in outputs {
            switch output {
            case .send(let link, let bytes, _) where link >= Self.firstDevice:
                deviceReceived(bytes, on: link, server: index)
            case .close(let link, _) where link >= Self.firstDevice:
                // A naive client: back a second later.
                if !healed { queue.schedule(.deviceOnline(server: index, device: link), at: now.adding(microseconds: Micros.seconds(1))) }
            case .send(let link, let bytes, let messageIDs):
                guard let open = slots[index].openLinks[link], !open.isStranded, slots[index].link == .up else { continue }
                let at = max(now.adding(microseconds: latency(index)), slots[index].lastDeliveryToClient[link] ?? .zero)
                    .adding(microseconds: transmissionTime(bytes.count))
                slots[index].lastDeliveryToClient[link] = at
                queue.schedule(.deliverToClient(server: index, link: link, bytes: bytes, messageIDs: messageIDs), at: at)
            case .close(let link, let code):
                guard slots[index].openLinks[link] != nil else { continue }
                let at = max(now.adding(microseconds: latency(index)), slots[index].lastDeliveryToClient[link] ?? .zero)
                queue.schedule(.closeToClient(server: index, link: link, code: code), at: at)
            }
        }
    }

    /// Every connection of server `index` drops at once (both sides see it), the ones whose
    /// close is caught in a black hole too.
    func resetLinks(of index: Int, notifyClient: Bool) {
        for close in slots[index].lateCloses + slots[index].strandedCloses { slots[index].server.connectionClosed(close.link) }
        slots[index].lateCloses.removeAll()
        slots[index].strandedCloses.removeAll()
        for link in slots[index].openLinks.keys.sorted() {
            let open = slots[index].openLinks.removeValue(forKey: link)!
            slots[index].server.connectionClosed(link)
            if notifyClient, open.process == client?.incarnation {
                deliver(.connectionClosed(open.handle, code: nil), to: index)
            }
        }
    }

    // MARK: The user's other devices

    private func scheduleDevices() {
        for index in slots.indices {
            for device in slots[index].devices { queue.schedule(.deviceOnline(server: index, device: device), at: now) }
        }
        guard (scenario.workload.otherDeviceMessagesPerHour ?? 0) > 0, !slots.isEmpty else { return }
        for index in slots.indices where !slots[index].devices.isEmpty {
            queue.schedule(.devicePost(server: index),
                           at: now.adding(microseconds: exponentialDelay(perHour: scenario.workload.otherDeviceMessagesPerHour!)))
        }
    }

    private func deviceOnline(_ device: UInt64, on index: Int) {
        apply(slots[index].server.attachDevice(device, for: Self.userID, now: now), server: index)
    }

    /// The other device reads every message pushed to it.
    private func deviceReceived(_ bytes: [UInt8], on device: UInt64, server index: Int) {
        slots[index].server.frameDelivered(device)
        guard let envelope = try? WireCodec.decodeServerEnvelope(bytes), envelope.requestID.isEmpty,
              case .messageReceive(let message) = envelope.frame else { return }
        apply(slots[index].server.acknowledge(message.messageID, by: Self.userID), server: index)
    }

    private func devicePost(_ index: Int) {
        guard !healed else { return }
        defer {
            queue.schedule(.devicePost(server: index),
                           at: now.adding(microseconds: exponentialDelay(perHour: scenario.workload.otherDeviceMessagesPerHour ?? 1)))
        }
        guard let device = slots[index].devices.first, !slots[index].conversations.isEmpty else { return }
        let conversation = slots[index].conversations[Int(workloadRandom.next() % UInt64(slots[index].conversations.count))]
        stats.peerMessages += 1
        let payload = Array("device:\(index):\(stats.peerMessages)".utf8)
        apply(slots[index].server.devicePost(on: device, conversationID: conversation, payload: payload,
                                             clientMessageID: "device-\(index)-\(stats.peerMessages)", now: now), server: index)
    }

    // MARK: Workload

    func exponentialDelay(perHour rate: Double) -> Int64 {
        let unit = max(workloadRandom.nextDouble(in: 0...1), 1e-9)
        // A rate so small that the next event would come after any scenario ends (and after
        // what an Int64 of microseconds holds): a century away is never.
        return Int64(min(-log(unit) * 3600 / rate * 1_000_000, Self.never))
    }

    /// A hundred years, in microseconds: later than any scenario ends.
    static let never = 100 * 365 * 24 * 3600 * 1_000_000.0

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

    private func scheduleUserReads() {
        guard let rate = scenario.workload.readsPerHour, rate > 0 else { return }
        queue.schedule(.userReads, at: now.adding(microseconds: exponentialDelay(perHour: rate)))
    }

    private func peerPost(_ index: Int) {
        guard !healed else { return }
        postFromPeer(index)
        queue.schedule(.peerPost(server: index), at: now.adding(microseconds: exponentialDelay(perHour: scenario.workload.peerMessagesPerHour)))
    }

    /// A peer writes into one of the server's conversations. A `large` message is as large as
    /// the server takes: the outbound limit of the protocol, or, on upstream, a send that fills
    /// the envelope (its push is then a little over the limit).
    func postFromPeer(_ index: Int, poison: Bool = false, large: Bool = false) {
        guard !slots[index].peers.isEmpty, !slots[index].conversations.isEmpty else { return }
        let conversation = slots[index].conversations[Int(workloadRandom.next() % UInt64(slots[index].conversations.count))]
        let members = slots[index].server.members(of: conversation).filter { $0 != Self.userID }
        guard !members.isEmpty else { return }
        let sender = members[Int(workloadRandom.next() % UInt64(members.count))]
        stats.peerMessages += 1
        var payload = Array("peer:\(index):\(stats.peerMessages)".utf8)
        if large {
            let size = slots[index].server.configuration.isUpstream ? WireCodec.maxEnvelopeBytes - 40 : WireCodec.maxOutboundPayloadBytes
            payload += [UInt8](repeating: 0x5A, count: size - payload.count)
        }
        apply(slots[index].server.peerPost(from: sender, conversationID: conversation, payload: payload, now: now, poison: poison),
              server: index)
        if scenario.workload.otherDeviceReads == true { slots[index].server.acknowledgeEverything(for: Self.userID) }
    }

    private func userSend() {
        guard !healed else { return }
        defer { scheduleUserSend() }
        guard let process = client else { return }
        let candidates = slots.indices.filter {
            !slots[$0].removed && !slots[$0].removalRequested && !slots[$0].conversations.isEmpty && process.servers[$0] != nil
        }
        guard !candidates.isEmpty else { return }
        let index = candidates[Int(workloadRandom.next() % UInt64(candidates.count))]
        let conversation = slots[index].conversations[Int(workloadRandom.next() % UInt64(slots[index].conversations.count))]
        stats.messagesQueued += 1
        let clientMessageID = String(format: "%016llX-%06d", UInt64(bitPattern: now.microseconds), stats.messagesQueued)
        let payload = Array("user:\(clientMessageID)".utf8)
        let lifespan = Micros.seconds(scenario.client.outboxLifespanSeconds ?? 30 * 24 * 3600)
        let outcome = process.servers[index]!.send(payload, to: conversation, lifespan: lifespan,
                                                   clientMessageID: clientMessageID, now: now)
        if case .success = outcome.result {
            slots[index].queued.append((clientMessageID, payload))
            trace.record(now, server: index, "enqueued", clientMessageID)
        }
        perform(outcome.outputs, server: index)
        timeline.queueDepth(index, client?.servers[index]?.status.pendingOutboxCount ?? 0, at: now)
    }

    /// The user opens a conversation and reads everything in it.
    private func userReads() {
        guard !healed else { return }
        defer { scheduleUserReads() }
        guard let process = client else { return }
        let candidates = slots.indices.filter { process.servers[$0] != nil && !slots[$0].conversations.isEmpty }
        guard !candidates.isEmpty else { return }
        let index = candidates[Int(workloadRandom.next() % UInt64(candidates.count))]
        let conversation = slots[index].conversations[Int(workloadRandom.next() % UInt64(slots[index].conversations.count))]
        let outcome = process.servers[index]!.markRead(conversation, upTo: nil, now: now)
        if case .success = outcome.result {
            slots[index].observed.readAt[conversation] = slots[index].observed.arrivals.count
            trace.record(now, server: index, "read", conversation)
        }
        perform(outcome.outputs, server: index)
    }
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
    /// The client's diagnostics at the end, when ``Simulation/Options/collectDiagnostics`` asked.
    public var diagnostics: ClientDiagnostics? = nil

    public var passed: Bool { violations.isEmpty }
}
