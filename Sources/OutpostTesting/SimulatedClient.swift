import OutpostClientCore
import OutpostSimulation
import OutpostStore
import OutpostSync

/// The app's client inside a ``SimulatedWorld``: the `OutpostClientProtocol` surface of
/// `OutpostClient`, over the same client core, the real encrypted store and the world's
/// simulated servers and network. Hand it to the code under test where the app hands it an
/// `OutpostClient`.
///
/// Its streams deliver in virtual time: awaiting the next value runs the world until there is
/// one. A stream ends when the world is idle with nothing more for it, or when the app that
/// opened it is killed. One client belongs to one launch of the app: after a kill its calls
/// fail with `OutpostError.Code.closed`; ``SimulatedWorld/client`` is the relaunched app's.
@MainActor
public final class SimulatedClient: OutpostClientProtocol {
    let world: SimulatedWorld
    let incarnation: UInt64

    init(world: SimulatedWorld, incarnation: UInt64) {
        self.world = world
        self.incarnation = incarnation
    }

    private var simulation: Simulation { world.simulation }

    /// Whether the launch of the app this client belongs to is still running.
    public var isRunning: Bool { simulation.runningIncarnation == incarnation }

    private func ensureRunning() throws(OutpostError) {
        guard isRunning else { throw OutpostError(.closed, "the app this client belonged to was killed") }
    }

    private func index(of server: ServerID) throws(OutpostError) -> Int {
        try ensureRunning()
        guard let index = simulation.serverIndex(of: server), simulation.serverCore(at: index) != nil else {
            throw OutpostError(.unknownServer, "no server \(server)")
        }
        return index
    }

    private func stream<Element: Sendable>(_ kind: Subscriptions.Kind, initial: Subscriptions.Value? = nil,
                                 _ transform: @escaping @Sendable (Subscriptions.Value, ClientCore?) -> Element?) -> AsyncStream<Element> {
        guard isRunning else { return AsyncStream { $0.finish() } }
        let key = world.subscribe(kind, incarnation: incarnation, initial: initial)
        let world = self.world
        return AsyncStream(unfolding: { @MainActor in
            while let value = world.next(key) {
                if let element = transform(value, world.simulation.clientCore) { return element }
            }
            return nil
        })
    }

    // MARK: Servers

    public func servers() async -> [ServerInfo] {
        guard isRunning, let core = simulation.clientCore else { return [] }
        let available = (0..<simulation.serverCount).compactMap { simulation.serverCore(at: $0)?.info }
        return (core.unavailableServers + available).sorted { $0.id < $1.id }
    }

    public func server(_ id: ServerID) async -> ServerInfo? {
        await servers().first { $0.id == id }
    }

    public func removeServer(_ id: ServerID) async throws(OutpostError) {
        try ensureRunning()
        guard let index = simulation.serverIndex(of: id) else { throw OutpostError(.unknownServer, "no server \(id)") }
        try simulation.removeServer(at: index)
        world.serverRemoved(id)
    }

    public func connectionStates(of id: ServerID) async -> AsyncStream<ConnectionState> {
        let current = simulation.serverIndex(of: id).flatMap { simulation.serverCore(at: $0)?.status.connectionState }
        return stream(.connectionStates(id), initial: current.map { .state($0) }) { value, _ in
            if case .state(let state) = value { state } else { nil }
        }
    }

    public func events() async -> AsyncStream<OutpostEvent> {
        stream(.events) { value, _ in if case .event(let event) = value { event } else { nil } }
    }

    public func notifications() async -> AsyncStream<MessageNotification> {
        stream(.notifications) { value, _ in if case .notification(let notification) = value { notification } else { nil } }
    }

    public func updateSessionToken(_ token: String, for id: ServerID) async throws(OutpostError) {
        try simulation.perform(on: index(of: id)) { core, now in core.updateSessionToken(token, now: now) }.get()
    }

    // MARK: Sending

    @discardableResult
    public func send(_ payload: [UInt8], to conversationID: String, on server: ServerID, messageType: String = "text",
                     lifespan: Duration? = nil) async throws(OutpostError) -> OutboxItem {
        try simulation.send(payload, to: conversationID, on: index(of: server), messageType: messageType,
                            lifespan: lifespan.map(Micros.of)).get()
    }

    public func outbox(on server: ServerID, states: Set<OutboxState>? = nil) async throws(OutpostError) -> [OutboxItem] {
        try simulation.serverCore(at: index(of: server))!.outbox(states: states)
    }

    public func retry(_ clientMessageID: String, on server: ServerID) async throws(OutpostError) {
        _ = try simulation.perform(on: index(of: server)) { core, now in core.retry(clientMessageID, now: now) }.get()
    }

    public func cancel(_ clientMessageID: String, on server: ServerID) async throws(OutpostError) {
        _ = try simulation.perform(on: index(of: server)) { core, now in core.cancel(clientMessageID, now: now) }.get()
    }

    // MARK: Reading

    public func conversations(limit: Int = 50, servers: Set<ServerID>? = nil) async throws(OutpostError) -> [UnifiedConversation] {
        try ensureRunning()
        return try simulation.clientCore!.conversations(limit: limit, servers: servers)
    }

    public func conversationList(limit: Int = 50, servers: Set<ServerID>? = nil) async -> AsyncStream<[UnifiedConversation]> {
        stream(.conversationList(limit: limit, servers: servers)) { value, core in
            guard case .listChanged(let limit, let servers) = value else { return nil }
            return try? core?.conversations(limit: limit, servers: servers)
        }
    }

    public func messages(in conversationID: String, on server: ServerID, before: MessagePosition? = nil,
                         limit: Int = 50) async throws(OutpostError) -> ConversationPage {
        try simulation.perform(on: index(of: server)) { core, now in
            core.messages(in: conversationID, before: before, limit: limit, now: now)
        }.get()
    }

    public func markRead(_ conversationID: String, on server: ServerID,
                         upTo position: MessagePosition? = nil) async throws(OutpostError) {
        try simulation.markRead(conversationID, on: index(of: server), upTo: position).get()
    }

    // MARK: The app

    public func didEnterBackground() async {
        if isRunning { simulation.setForeground(false) }
    }

    public func willEnterForeground() async {
        if isRunning { simulation.setForeground(true) }
    }

    public func networkLost() async {
        if isRunning { simulation.setReachable(false) }
    }

    public func networkRestored() async {
        if isRunning { simulation.setReachable(true) }
    }

    public func setLowPowerMode(_ isOn: Bool) async {
        if isRunning { simulation.setLowPowerMode(isOn) }
    }

    public func diagnostics() async -> ClientDiagnostics {
        guard isRunning, let core = simulation.clientCore else { return ClientDiagnostics(takenAt: world.now, servers: []) }
        let available = (0..<simulation.serverCount).compactMap { simulation.serverCore(at: $0)?.diagnostics() }
        return ClientDiagnostics(takenAt: world.now, servers: core.unavailableDiagnostics + available)
    }
}
