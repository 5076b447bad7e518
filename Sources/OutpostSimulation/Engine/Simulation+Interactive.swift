import Foundation
@_spi(Simulation) import OutpostClientCore
import OutpostStore
import OutpostSync

/// What a front end running inside the simulation hears from the client core: the same events,
/// notifications and list changes `OutpostClient` publishes in an app.
public struct FrontEndHooks {
    public var event: (OutpostEvent) -> Void
    public var notification: (MessageNotification) -> Void
    public var conversationsChanged: () -> Void

    public init(event: @escaping (OutpostEvent) -> Void, notification: @escaping (MessageNotification) -> Void,
                conversationsChanged: @escaping () -> Void) {
        self.event = event
        self.notification = notification
        self.conversationsChanged = conversationsChanged
    }
}

/// A simulation driven step by step from outside (`OutpostTesting`): no scenario workload and
/// no fault schedule; servers, the user's actions, peers' messages and faults come as calls, and
/// virtual time moves only when the caller advances it. The engine, the simulated servers and
/// network, and the checker are the ones a scenario run uses.
extension Simulation {
    /// An empty world: no servers yet, a network with `latencyMilliseconds` each way; a client
    /// with `deliberateBug` to prove that a check catches it.
    @_spi(Simulation)
    public static func interactive(seed: UInt64, workDirectory: String, latencyMilliseconds: Int64 = 30,
                                   poolCapacity: Int = Store.Options().partitionPoolCapacity,
                                   deliberateBug: DeliberateBug? = nil) -> Simulation {
        let scenario = Scenario(
            name: "interactive", description: "driven by calls", seed: seed, durationSeconds: 0,
            servers: .init(count: 0, behaviour: "extended", peersPerServer: 0, conversationsPerServer: 0),
            network: .init(latencyMilliseconds: latencyMilliseconds, jitterMilliseconds: 0),
            workload: .init(peerMessagesPerHour: 0, userMessagesPerHour: 0),
            client: .init(poolCapacity: poolCapacity, deliberateBug: deliberateBug), faults: [], swarm: false, livenessSeconds: 600)
        return Simulation(scenario: scenario, options: Options(seed: seed, workDirectory: workDirectory))
    }

    /// Creates the client's data directory and launches the app, with no server yet.
    public func begin() throws {
        try? FileManager.default.removeItem(atPath: dataDirectory)
        try setUpClient()
    }

    /// The virtual time now.
    public var currentTime: Timestamp { now }

    /// The running hash of everything that happened: equal for equal runs.
    public var traceHash: UInt64 { trace.hash }

    /// The incarnation of the running app, `nil` while it is dead.
    public var runningIncarnation: UInt64? { client?.incarnation }

    /// Carries out every event due up to `deadline`, then sets the clock to it.
    public func run(until deadline: Timestamp) {
        while let next = queue.nextTime, next <= deadline {
            _ = processNextEvent()
        }
        if deadline > now { now = deadline }
    }

    /// When the next event is due, if any is scheduled.
    public var nextEventTime: Timestamp? { queue.nextTime }

    /// Carries out the next event; `false` when nothing is scheduled.
    public func step() -> Bool {
        queue.isEmpty ? false : processNextEvent()
    }

    /// Nothing is under way that would go on without a call: no frame or close in flight, no
    /// fault waiting to end, no relaunch or retry pending, and every server that can be reached
    /// is connected, caught up and has sent its outbox (or waits for the user to sign in again).
    public var isIdle: Bool {
        if queue.contains(where: { !$0.isBackground }) { return false }
        guard let process = client else { return true }
        return blockedServers(process).isEmpty
    }

    /// Why the world is not idle, for an error message.
    public var busyReason: String {
        if let event = queue.first(where: { !$0.isBackground }) { return "\(event.summary) is under way" }
        guard let process = client else { return "the app is not running" }
        return blockedServers(process).map { "server \($0.index) is \($0.state)" }.joined(separator: ", ")
    }

    private func blockedServers(_ process: ClientProcess) -> [(index: Int, state: String)] {
        slots.indices.compactMap { index in
            guard !slots[index].removed, let status = process.servers[index]?.status,
                  slots[index].link == .up, isReachable, isForeground else { return nil }
            switch status.connectionState {
            case .authFailed: return nil
            case .connected where !status.isCaughtUp: return (index, "catching up")
            case .connected where status.pendingOutboxCount > 0: return (index, "sending \(status.pendingOutboxCount) queued")
            case .connected: return nil
            case let state: return (index, "\(state)")
            }
        }
    }

    // MARK: Servers

    /// Adds a simulated server, signs the user in, and starts syncing it; returns its index.
    ///
    /// - Parameters:
    ///   - host: its host name (`home.example`).
    ///   - conversations: conversations on it, each with the user and every peer.
    ///   - peers: the other people there.
    public func addServer(_ configuration: SimulatedServer.Configuration, host: String, conversations: [String],
                          peers: [String]) throws(OutpostError) -> Int {
        guard let process = client else { throw OutpostError(.closed, "the app is not running") }
        let origin: ServerOrigin
        do { origin = try ServerOrigin(parsing: "https://" + host) } catch { throw OutpostError(.invalidURL, "\(error)") }
        let index = slots.count
        let server = SimulatedServer(name: host, configuration: configuration)
        for conversation in conversations {
            server.createConversation(conversation, title: conversation, members: [Self.userID] + peers)
        }
        var slot = ServerSlot(index: index, origin: origin, server: server,
                              random: SplitMix64(seed: options.seed).derived("server-\(index)"), peers: peers,
                              conversations: conversations, latency: Micros.milliseconds(scenario.network.latencyMilliseconds),
                              jitter: 0)
        let token = server.issueToken(for: Self.userID, now: now, random: &slot.random)
        slots.append(slot)
        process.servers.append(nil)
        let config = ServerConfig(name: host, websocketURL: "wss://\(host)/ws", capabilities: server.capabilities,
                                  documentAbsent: server.publishesDiscovery ? nil : true)
        do {
            let core = try process.core.addServer(origin, config: config, signIn: ServerSignIn(sessionToken: token, userID: Self.userID),
                                                  now: now)
            slots[index].serverID = core.id
            process.servers[index] = core
        } catch {
            slots.removeLast()
            process.servers.removeLast()
            throw error
        }
        trace.record(now, server: index, "added", configuration.behaviourName)
        startServer(index)
        return index
    }

    /// The index of the server with `id`, if the world has it.
    public func serverIndex(of id: ServerID) -> Int? {
        slots.firstIndex { $0.serverID == id }
    }

    /// How many servers the world has had (removed ones included).
    public var serverCount: Int { slots.count }

    /// The simulated server at `index`, to look at what it stored.
    public func server(at index: Int) -> SimulatedServer { slots[index].server }

    /// The client's server core for `index`, when the app runs and has it.
    public func serverCore(at index: Int) -> ServerCore? {
        guard let process = client, process.servers.indices.contains(index) else { return nil }
        return process.servers[index]
    }

    /// The running app's client core.
    public var clientCore: ClientCore? { client?.core }

    // MARK: The user, through the app

    /// Runs one call of the app on server `index`'s core and carries out what it asks for.
    public func perform<Value>(on index: Int, _ call: (inout ServerCore, Timestamp) -> ServerCore.Outcome<Value>) -> Result<Value, OutpostError> {
        guard let process = client else { return .failure(OutpostError(.closed, "the app is not running")) }
        guard process.servers.indices.contains(index), process.servers[index] != nil else {
            return .failure(OutpostError(.unknownServer, "no server \(index)"))
        }
        let outcome = call(&process.servers[index]!, now)
        perform(outcome.outputs, server: index)
        return outcome.result
    }

    /// The user writes a message: queued as the scenario workload queues one, so that the
    /// checker holds the client to it.
    public func send(_ payload: [UInt8], to conversationID: String, on index: Int, messageType: String,
                     lifespan: Int64?) -> Result<OutboxItem, OutpostError> {
        let result = perform(on: index) { core, now in
            core.send(payload, to: conversationID, messageType: messageType, lifespan: lifespan, now: now)
        }
        if case .success(let item) = result {
            stats.messagesQueued += 1
            slots[index].queued.append((item.clientMessageID, payload))
            trace.record(now, server: index, "enqueued", item.clientMessageID)
        }
        return result
    }

    /// The user reads a conversation, as far as `position` or to the end.
    public func markRead(_ conversationID: String, on index: Int, upTo position: MessagePosition?) -> Result<Void, OutpostError> {
        let result = perform(on: index) { core, now in core.markRead(conversationID, upTo: position, now: now) }
        if case .success = result, position == nil {
            slots[index].observed.readAt[conversationID] = slots[index].observed.arrivals.count
            trace.record(now, server: index, "read", conversationID)
        }
        return result
    }

    /// The user removes server `index`; its partition is destroyed.
    public func removeServer(at index: Int) throws(OutpostError) {
        if let error = removeServer(index, retry: false) { throw error }
    }

    /// The app goes to the background, or comes back.
    public func setForeground(_ isForeground: Bool) {
        isForeground ? enterForeground() : enterBackground()
    }

    /// The device loses its network, or has it again.
    public func setReachable(_ isReachable: Bool) {
        isReachable ? restoreNetwork() : loseNetwork()
    }

    /// The device's low-power mode.
    public func setLowPowerMode(_ isOn: Bool) { setLowPower(isOn) }

    /// The app is killed now; it is relaunched on the same data after `relaunchAfter`, or when
    /// ``relaunch()`` is called when that is `nil`.
    public func killApp(relaunchAfter: Int64?) {
        kill()
        cancelScheduledRelaunch()
        if let delay = relaunchAfter { queue.schedule(.relaunch, at: now.adding(microseconds: delay)) }
    }

    private func cancelScheduledRelaunch() {
        queue.removeAll { if case .relaunch = $0 { true } else { false } }
    }

    // MARK: Other people and faults

    /// `sender` (a peer, or `nil` for one drawn from the members) writes `payload` into a
    /// conversation on server `index`.
    public func post(_ payload: [UInt8], in conversationID: String, on index: Int, from sender: String?) {
        let members = slots[index].server.members(of: conversationID).filter { $0 != Self.userID }
        guard let author = sender ?? members.first else { return }
        stats.peerMessages += 1
        apply(slots[index].server.peerPost(from: author, conversationID: conversationID, payload: payload, now: now),
              server: index)
    }

    /// Starts a fault of the scenario format now (its `at_seconds` is ignored).
    public func inject(_ fault: Scenario.Fault) {
        var fault = fault
        fault.atSeconds = Double(now.microseconds) / 1_000_000
        faults.append(fault)
        trace.mix(now, 100 + UInt64(faults.count), -1)
        startFault(faults.count - 1)
    }

    // MARK: Checking

    /// Every fault heals, the client gets `livenessSeconds` of virtual time to converge, and the
    /// checker gives its verdict: nothing lost, duplicated, reordered or unseen, every session
    /// converged. The world is healed afterwards: check at the end of a test.
    public func healAndCheck(livenessSeconds: Int64 = 600) -> [String] {
        heal()
        run(until: now.adding(microseconds: Micros.seconds(livenessSeconds)))
        return check()
    }
}

extension Simulation.Event {
    /// Events that go on for ever in a quiet world (the client's timers: heartbeats, token
    /// refreshes; the server's auth deadline for a connection already in use) and do not keep
    /// the world from being idle.
    var isBackground: Bool {
        switch self {
        case .clientTimer, .serverAuthDeadline, .peerPost, .userSend, .userReads, .deviceOnline, .devicePost, .end: true
        default: false
        }
    }

    var summary: String {
        switch self {
        case .transportOpened, .deliverToServer, .deliverToClient, .closeToClient, .closeToServer, .closeConfirmed:
            "network traffic"
        case .fault, .faultEnds, .flapToggle: "a fault"
        case .osKillsSockets: "the OS closing a backgrounded app's sockets"
        case .relaunch: "a relaunch"
        case .renewToken: "signing in again"
        case .removeUnavailable, .retryRemoval: "a removal"
        case .retryAdding: "adding a server"
        case .heal: "healing"
        default: "background work"
        }
    }
}
