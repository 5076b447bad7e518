import CoreMetrics
import Foundation
import Logging
import OutpostClientCore
import OutpostStore
import OutpostSync
import OutpostWire

/// The data layer a messaging front end links: every Sovereign server the user has added, each
/// in its own encrypted partition with its own connection, outbox and catch-up, behind one
/// object.
///
/// ```swift
/// let client = try OutpostClient(directory: dataDirectory, keyProvider: keychainKeyProvider)
/// let events = await client.events()
/// await client.start()
/// let home = try await client.addServer("https://home.example", signIn: ServerSignIn(sessionToken: token))
/// try await client.send(Array("hello".utf8), to: "family", on: home)
/// for await list in await client.conversationList() { render(list) }
/// ```
///
/// Everything that decides anything is the deterministic client core (`OutpostClientCore`:
/// `ClientCore` and one `ServerCore` per server), the same code the simulator runs. This
/// actor adds what only a real app has: sockets, discovery over HTTP, the clock, async streams.
/// Each server runs on its own executor, so one that hangs, refuses, floods or catches up on a
/// huge backlog never delays another's sends, receives or startup.
public actor OutpostClient: OutpostClientProtocol {
    public struct Configuration: Sendable {
        /// How connections are opened (swift-nio by default; an Apple front end may plug in its own).
        public var transport: any WebSocketTransport = NIOWebSocketTransport()
        /// How `/.well-known/sovereign.json` is fetched when a server is added.
        public var discovery: any DiscoveryClient = HTTPDiscoveryClient()
        /// The source of time for every timer and timestamp (the real clock by default).
        public var clock: any RuntimeClock = SystemClock()
        /// Every server's settings: page sizes, sends in flight, default lifespan.
        public var server = ServerCore.Configuration()
        /// The partition pool and durability of the store.
        public var store = Store.Options()
        /// How many events ``OutpostClient/events()`` holds for a subscriber that falls behind
        /// before it drops the oldest (and says how many with `OutpostEvent.Kind.eventsMissed(_:)`).
        public var eventBufferLimit = 1_024
        /// Where Outpost logs: connections opened and ended (with the close code and the
        /// reason), authentication, the backoff chosen, catch-up and gaps, refused sends with the
        /// server's error code, storage errors, removals. Metadata: `server` (the server's id,
        /// never its address), `connection`, `conversation`. Nothing below `.debug` carries a
        /// token, a key, a payload or a server address. Default: label `outpost`, level `.info`,
        /// through whatever `LoggingSystem` the app bootstrapped.
        public var logger: Logger = {
            var logger = Logger(label: "outpost")
            logger.logLevel = .info
            return logger
        }()
        /// Where the per-server counters and gauges go (`outpost_reconnects_total`,
        /// `outpost_outbox_depth` …, each labelled `server`); `nil` for `MetricsSystem.factory`
        /// as the app bootstrapped it when the client is made.
        public var metrics: (any MetricsFactory)?

        /// Page sizes and how many sends may be in flight (``server``'s session settings).
        public var session: ServerSession.Configuration {
            get { server.session }
            set { server.session = newValue }
        }

        public init() {}
    }

    let configuration: Configuration
    private let core: ClientCore
    private var runners: [ServerID: ServerRunner] = [:]
    private var started = false
    private var closed = false
    private var isForeground = true
    private var isReachable = true
    private let eventBroadcaster = Broadcaster<OutpostEvent>()
    private let notificationBroadcaster = Broadcaster<MessageNotification>()
    private var isLowPower = false
    /// Fired by a server whose conversations changed; rebuilds the live lists.
    private let conversationsChanged = Signal()
    private var listSubscribers: [Int: ListSubscriber] = [:]
    private var nextListSubscriber = 0
    private var listRefreshScheduled = false

    private struct ListSubscriber {
        let limit: Int
        let servers: Set<ServerID>?
        let continuation: AsyncStream<[UnifiedConversation]>.Continuation
    }

    /// Opens (or creates) the data directory with the master key from `keyProvider`, and loads
    /// every server in it. Nothing connects until ``start()``. A server whose partition cannot
    /// be opened is listed as unavailable (`ServerInfo.availability`) and can be removed; it
    /// holds up no other.
    ///
    /// - Throws: `OutpostError` with code `OutpostError.Code.storage` when the directory
    ///   cannot be opened (wrong key, corrupt header …); nothing is ever deleted to recover.
    public init(directory: String, keyProvider: some KeyProvider, configuration: Configuration = Configuration()) throws(OutpostError) {
        self.configuration = configuration
        var coreConfiguration = ClientCore.Configuration()
        coreConfiguration.server = configuration.server
        coreConfiguration.logger = configuration.logger
        coreConfiguration.metrics = configuration.metrics ?? MetricsSystem.factory
        coreConfiguration.store = configuration.store
        var seedSource = SystemRandomNumberGenerator()
        core = try ClientCore(directory: directory, keyProvider: keyProvider, configuration: coreConfiguration,
                              seed: seedSource.next())
        var loaded: [ServerID: ServerRunner] = [:]
        for serverCore in core.loadServers(now: configuration.clock.now()) {
            loaded[serverCore.id] = Self.makeRunner(serverCore, configuration, eventBroadcaster, notificationBroadcaster,
                                                    conversationsChanged)
        }
        runners = loaded
    }

    /// Connects every server (all at once, each on its own).
    public func start() async {
        guard !started, !closed else { return }
        started = true
        for id in runners.keys.sorted() {
            await runners[id]?.handle(.start(foreground: isForeground, reachable: isReachable))
        }
    }

    /// Closes every connection and the store. The outbox and everything received stay on disk.
    public func close() async {
        guard !closed else { return }
        closed = true
        for id in runners.keys.sorted() { await runners[id]?.stop(closeCode: 1001) }
        runners.removeAll()
        eventBroadcaster.finish()
        notificationBroadcaster.finish()
        for (_, subscriber) in listSubscribers { subscriber.continuation.finish() }
        listSubscribers.removeAll()
        core.close()
    }

    // MARK: Servers

    /// Adds a server: fetches and validates its discovery document, creates its encrypted
    /// partition with the credentials from the front end's passkey ceremony (all or nothing),
    /// and connects.
    ///
    /// - Parameters:
    ///   - address: what the user typed: `home.example`, `https://home.example`, or
    ///     `http://127.0.0.1:8765` for a local server.
    ///   - signIn: the session token (and user id) from the front end's passkey ceremony.
    /// - Returns: the new server's id.
    @discardableResult
    public func addServer(_ address: String, signIn: ServerSignIn) async throws(OutpostError) -> ServerID {
        try ensureOpen()
        let origin: ServerOrigin
        do { origin = try ServerOrigin(parsing: address) } catch { throw OutpostError(.invalidURL, "\(error)") }
        let document: DiscoveryDocument
        do {
            document = try await configuration.discovery.discover(origin)
        } catch {
            configuration.logger.notice("discovery failed: the server was not added", metadata: ["error": "\(error.code)"])
            configuration.logger.debug("discovery of \(origin) failed: \(error.message)")
            throw error
        }
        configuration.logger.debug("discovered \(origin)", metadata: [
            "document": "\(document.isPublished ? "published" : "absent")", "capabilities": "\(document.capabilities)"])
        return try await addServer(origin, document: document, signIn: signIn)
    }

    /// Adds a server whose discovery document the front end already has.
    @discardableResult
    public func addServer(_ origin: ServerOrigin, document: DiscoveryDocument, signIn: ServerSignIn) async throws(OutpostError) -> ServerID {
        try ensureOpen()
        let id = core.serverID(for: origin)
        guard runners[id] == nil else { throw OutpostError(.serverAlreadyAdded, "\(origin) is already added") }
        let config = ServerConfig(name: document.name, websocketURL: document.websocketURL, iconURL: document.iconURL,
                                  registration: document.registration, capabilities: document.capabilities,
                                  version: document.version.isEmpty ? nil : document.version,
                                  documentAbsent: document.isPublished ? nil : true)
        let serverCore = try core.addServer(origin, config: config, signIn: signIn, now: configuration.clock.now())
        let runner = Self.makeRunner(serverCore, configuration, eventBroadcaster, notificationBroadcaster, conversationsChanged)
        runners[id] = runner
        configuration.logger.info("server added", metadata: ["server": "\(id)", "capabilities": "\(config.capabilities)"])
        eventBroadcaster.publish(OutpostEvent(server: id, kind: .serverAdded))
        scheduleListRefresh()
        if isLowPower { await runner.handle(.lowPowerModeChanged(true)) }
        if started { await runner.handle(.start(foreground: isForeground, reachable: isReachable)) }
        return id
    }

    /// Every server, unavailable ones included, in the order of their ids.
    public func servers() async -> [ServerInfo] {
        var infos = core.unavailableServers
        for id in runners.keys.sorted() {
            if let info = await info(id) { infos.append(info) }
        }
        return infos.sorted { $0.id < $1.id }
    }

    /// One server, or `nil` when there is none with `id`.
    public func server(_ id: ServerID) async -> ServerInfo? {
        if let info = await info(id) { return info }
        return core.unavailableServers.first { $0.id == id }
    }

    /// Removes a server, even while it syncs, and even when it is unavailable: its connection
    /// closes, its timers stop, and its partition (messages, outbox, keys, credentials) is
    /// destroyed. Crash-safe: a removal cut short by a crash completes at the next launch.
    public func removeServer(_ id: ServerID) async throws(OutpostError) {
        try ensureOpen()
        if let runner = runners.removeValue(forKey: id) {
            await runner.remove()
        } else if !core.unavailableServers.contains(where: { $0.id == id }) {
            throw OutpostError(.unknownServer, "no server \(id)")
        }
        try core.removeServer(id)
        eventBroadcaster.publish(OutpostEvent(server: id, kind: .connectionStateChanged(.disconnected)))
        eventBroadcaster.publish(OutpostEvent(server: id, kind: .serverRemoved))
        scheduleListRefresh()
    }

    /// The connection state of one server now, then every change, until the server is removed
    /// or the client closes. A consumer that falls behind gets the latest state.
    public func connectionStates(of id: ServerID) async -> AsyncStream<ConnectionState> {
        if let runner = runners[id] { return await runner.connectionStates() }
        return eventBroadcaster.subscribe(bufferingNewest: 1) { event in
            guard event.server == id, case .connectionStateChanged(let state) = event.kind else { return nil }
            return state
        }
    }

    /// New messages from other people, one value per server and commit, grouped by
    /// conversation, from now on: what a notification needs. Each message is reported once
    /// (not again when redelivered or when a history page brings it again), never the user's
    /// own. Keep a `NotificationDigest` to group what is not yet read across servers, and
    /// put `ConversationNotification.target`'s identifier in the notification: a tap hands it
    /// to ``notificationTarget(for:)``.
    public func notifications() -> AsyncStream<MessageNotification> {
        notificationBroadcaster.subscribe(bufferingNewest: configuration.eventBufferLimit) { $0 }
    }

    /// The server and conversation a tapped notification names, when the server is still
    /// there; `nil` for an identifier that is not one of `NotificationTarget.identifier` or
    /// names a server since removed.
    public func notificationTarget(for identifier: String) -> NotificationTarget? {
        guard let target = NotificationTarget(identifier: identifier), runners[target.server] != nil else { return nil }
        return target
    }

    /// Every event of every server, from now on. A consumer that falls behind by more than
    /// ``Configuration/eventBufferLimit`` events gets the newest ones and an
    /// `OutpostEvent.Kind.eventsMissed(_:)` where it lost the others.
    public func events() -> AsyncStream<OutpostEvent> {
        eventBroadcaster.subscribe(bufferingNewest: configuration.eventBufferLimit,
                                   missed: MissedMarker(make: OutpostEvent.missed)) { $0 }
    }

    /// Supplies a new session token after `OutpostEvent.Kind.authFailed(reason:)` (or after
    /// signing in again); the server reconnects with it.
    public func updateSessionToken(_ token: String, for id: ServerID) async throws(OutpostError) {
        try await runner(id).run { core, now in core.updateSessionToken(token, now: now) }
    }

    // MARK: Sending

    /// Queues a message. Returns once it is durably queued (committed to the server's
    /// partition); it is sent when the server is reachable, retried with the same client
    /// message id until the server confirms it, and never sent after its lifespan.
    ///
    /// - Parameters:
    ///   - payload: the encrypted payload, at most 65,000 bytes (larger is refused with
    ///     `OutpostError.Code.payloadTooLarge`).
    ///   - conversationID: the conversation on that server.
    ///   - server: the server's id.
    ///   - messageType: the `message_type` sent along (`text` by default).
    ///   - lifespan: how long the message may wait to be sent (default: 7 days; must be positive).
    @discardableResult
    public func send(
        _ payload: [UInt8], to conversationID: String, on server: ServerID, messageType: String = "text",
        lifespan: Duration? = nil
    ) async throws(OutpostError) -> OutboxItem {
        let micros = lifespan.map(Micros.of)
        return try await runner(server).run { core, now in
            core.send(payload, to: conversationID, messageType: messageType, lifespan: micros, now: now)
        }
    }

    /// The outbox of one server in FIFO order: queued, in flight, failed (with the reason),
    /// expired, cancelled and sent items, optionally only those in `states`.
    public func outbox(on server: ServerID, states: Set<OutboxState>? = nil) async throws(OutpostError) -> [OutboxItem] {
        try await runner(server).outbox(states: states)
    }

    /// Queues a failed or expired item again (same client message id, a fresh lifespan).
    public func retry(_ clientMessageID: String, on server: ServerID) async throws(OutpostError) {
        _ = try await runner(server).run { core, now in core.retry(clientMessageID, now: now) }
    }

    /// Cancels an item that has never been on the wire: it will never be sent. An item sent
    /// before without an answer may already be on the server, so it cannot be cancelled.
    public func cancel(_ clientMessageID: String, on server: ServerID) async throws(OutpostError) {
        _ = try await runner(server).run { core, now in core.cancel(clientMessageID, now: now) }
    }

    /// Replaces the payload of an item that has never been on the wire.
    public func edit(_ clientMessageID: String, on server: ServerID, payload: [UInt8]) async throws(OutpostError) {
        _ = try await runner(server).run { core, now in core.edit(clientMessageID, payload: payload, now: now) }
    }

    // MARK: Reading

    /// The unified conversation list: conversations of every server (or of `servers`), sorted
    /// by last activity, each tagged with its server. Built from per-partition queries.
    public func conversations(limit: Int = 50, servers: Set<ServerID>? = nil) throws(OutpostError) -> [UnifiedConversation] {
        try ensureOpen()
        return try core.conversations(limit: limit, servers: servers)
    }

    /// ``conversations(limit:servers:)`` now, then again after every change (messages stored,
    /// read marks, servers added or removed), until the stream is dropped or the client closes.
    public func conversationList(limit: Int = 50, servers: Set<ServerID>? = nil) -> AsyncStream<[UnifiedConversation]> {
        let (stream, continuation) = AsyncStream<[UnifiedConversation]>.makeStream(bufferingPolicy: .bufferingNewest(1))
        guard !closed else {
            continuation.finish()
            return stream
        }
        conversationsChanged.handle { [weak self] in Task { await self?.scheduleListRefresh() } }
        nextListSubscriber += 1
        let key = nextListSubscriber
        listSubscribers[key] = ListSubscriber(limit: limit, servers: servers, continuation: continuation)
        continuation.onTermination = { [weak self] _ in
            Task { await self?.removeListSubscriber(key) }
        }
        if let list = try? conversations(limit: limit, servers: servers) { continuation.yield(list) }
        return stream
    }

    /// One page of a conversation, oldest first, ending just before `before` (the newest page
    /// when `nil`), with gap markers where messages are still missing. When the page shows a
    /// gap, the server's session is asked to fill it now rather than in the background.
    public func messages(
        in conversationID: String, on server: ServerID, before: MessagePosition? = nil, limit: Int = 50
    ) async throws(OutpostError) -> ConversationPage {
        try await runner(server).run { core, now in core.messages(in: conversationID, before: before, limit: limit, now: now) }
    }

    /// Marks a conversation read: everything that has arrived when `position` is `nil`, or up
    /// to `position`. A message that arrives later is unread, wherever its server's clock put
    /// it; the conversation list updates.
    public func markRead(_ conversationID: String, on server: ServerID, upTo position: MessagePosition? = nil) async throws(OutpostError) {
        try await runner(server).run { core, now in core.markRead(conversationID, upTo: position, now: now) }
    }

    /// Drops a server's connection and connects again at once, skipping any backoff (a
    /// "reconnect" the user asked for).
    public func reconnect(_ id: ServerID) async throws(OutpostError) {
        try await runner(id).handle(.reconnect)
    }

    // MARK: Keys

    /// Starts a master-key rotation: from now on the data directory opens with the key of
    /// `newKeyProvider` as well as the current one. Save the new key where the app keeps it,
    /// then call ``confirmMasterKeyRotation()``; an app killed in between opens with either.
    /// Nothing is re-encrypted.
    public func rotateMasterKey(to newKeyProvider: some KeyProvider) throws(OutpostError) {
        try ensureOpen()
        do { try core.store.rotateMasterKey(to: newKeyProvider) } catch { throw .storage(error) }
    }

    /// Finishes a master-key rotation: only the new key opens the directory from now on.
    /// Does nothing when no rotation is waiting.
    public func confirmMasterKeyRotation() throws(OutpostError) {
        try ensureOpen()
        do { try core.store.confirmMasterKeyRotation() } catch { throw .storage(error) }
    }

    /// Whether a master-key rotation waits for ``confirmMasterKeyRotation()`` (after a
    /// relaunch: the app may not have saved the new key).
    public var isMasterKeyRotationPending: Bool {
        get throws(OutpostError) {
            try ensureOpen()
            do { return try core.store.isMasterKeyRotationPending } catch { throw .storage(error) }
        }
    }

    // MARK: App lifecycle and reachability

    /// The app went to the background: the OS may kill sockets and timers stop.
    public func didEnterBackground() async {
        isForeground = false
        await broadcast(.appBackgrounded)
    }

    /// The app is in the foreground again: every server reconnects at once, in parallel.
    public func willEnterForeground() async {
        isForeground = true
        await broadcast(.appForegrounded)
    }

    /// Low-power mode (RFC-0006 "Connection prioritization"), for when the battery or the
    /// bandwidth is constrained: every connection stays open, and the heartbeat that checks
    /// each one is sent every 75 seconds instead of every 30 (under the 90-second idle close
    /// of Sovereign servers, so nothing is dropped). A dead link takes up to 85 seconds to
    /// notice instead of 40.
    public func setLowPowerMode(_ isOn: Bool) async {
        guard isOn != isLowPower else { return }
        isLowPower = isOn
        for id in runners.keys.sorted() { await runners[id]?.handle(.lowPowerModeChanged(isOn)) }
    }

    /// A redacted snapshot of every server for a bug report (state, capabilities, gap
    /// guarantee, outbox depth, open gaps, last error, partition size, schema version): no
    /// address, name, token, key or message. Its `description` is the text to paste.
    public func diagnostics() async -> ClientDiagnostics {
        var servers = core.unavailableDiagnostics
        for id in runners.keys.sorted() {
            if let runner = runners[id] { servers.append(await runner.diagnostics()) }
        }
        return ClientDiagnostics(takenAt: configuration.clock.now(), servers: servers)
    }

    /// The device lost its network.
    public func networkLost() async {
        isReachable = false
        await broadcast(.reachabilityLost)
    }

    /// The network is back: every server reconnects at once, without waiting for its backoff.
    public func networkRestored() async {
        isReachable = true
        await broadcast(.reachabilityRestored)
    }

    // MARK: Helpers

    private func ensureOpen() throws(OutpostError) {
        guard !closed else { throw OutpostError(.closed, "the client is closed") }
    }

    private func runner(_ id: ServerID) throws(OutpostError) -> ServerRunner {
        try ensureOpen()
        guard let runner = runners[id] else {
            if let unavailable = core.unavailableServers.first(where: { $0.id == id }),
               case .unavailable(let reason) = unavailable.availability {
                throw OutpostError(.serverUnavailable, "server \(id) is unavailable: \(reason)")
            }
            throw OutpostError(.unknownServer, "no server \(id)")
        }
        return runner
    }

    private func info(_ id: ServerID) async -> ServerInfo? {
        await runners[id]?.info
    }

    private static func makeRunner(_ serverCore: ServerCore, _ configuration: Configuration, _ events: Broadcaster<OutpostEvent>,
                                   _ notifications: Broadcaster<MessageNotification>, _ conversationsChanged: Signal) -> ServerRunner {
        ServerRunner(core: serverCore, transport: configuration.transport, clock: configuration.clock, events: events,
                     notifications: notifications, logger: configuration.logger, conversationsChanged: conversationsChanged.fire)
    }

    private func broadcast(_ input: ServerInput) async {
        guard started else { return }
        for id in runners.keys.sorted() { await runners[id]?.handle(input) }
    }

    /// Recomputes the live conversation lists once for a burst of changes.
    private func scheduleListRefresh() {
        guard !listSubscribers.isEmpty, !listRefreshScheduled else { return }
        listRefreshScheduled = true
        Task { [weak self] in await self?.refreshLists() }
    }

    private func refreshLists() {
        listRefreshScheduled = false
        guard !closed else { return }
        for key in listSubscribers.keys.sorted() {
            guard let subscriber = listSubscribers[key],
                  let list = try? core.conversations(limit: subscriber.limit, servers: subscriber.servers) else { continue }
            subscriber.continuation.yield(list)
        }
    }

    private func removeListSubscriber(_ key: Int) {
        listSubscribers.removeValue(forKey: key)
    }
}
