import Foundation
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
/// Servers are independent: one that hangs, refuses or floods never delays another's sends,
/// receives or startup. Each server's connection runs in its own task, and the actor handles
/// one inbound message per server at a time, so a flood waits its turn behind everyone else.
///
/// Time, the transport and discovery are injected (``Configuration``); the sync logic itself is
/// the sans-IO ``ServerSession`` that the simulator tests.
public actor OutpostClient {
    public struct Configuration: Sendable {
        /// How connections are opened (swift-nio by default; an Apple front end may plug in its own).
        public var transport: any WebSocketTransport = NIOWebSocketTransport()
        /// How `/.well-known/sovereign.json` is fetched when a server is added.
        public var discovery: any DiscoveryClient = HTTPDiscoveryClient()
        /// The source of time for every timer and timestamp (the real clock by default).
        public var clock: any RuntimeClock = SystemClock()
        /// Page sizes and how many sends may be in flight.
        public var session = ServerSession.Configuration()
        /// The partition pool and durability of the store.
        public var store = Store.Options()

        public init() {}
    }

    let configuration: Configuration
    let store: Store
    var drivers: [ServerID: ServerDriver] = [:]
    var started = false
    var closed = false
    var isForeground = true
    var isReachable = true
    var timerGeneration: UInt64 = 0
    let eventBroadcaster = Broadcaster<OutpostEvent>()
    var listSubscribers: [Int: ListSubscriber] = [:]
    var nextListSubscriber = 0
    var listRefreshScheduled = false
    private var messageIDRandom = SystemRandomNumberGenerator()

    struct ListSubscriber {
        let limit: Int
        let servers: Set<ServerID>?
        let continuation: AsyncStream<[UnifiedConversation]>.Continuation
    }

    /// Opens (or creates) the data directory with the master key from `keyProvider`, and loads
    /// every server in it. Nothing connects until ``start()``.
    ///
    /// - Throws: ``OutpostError`` with code ``OutpostError/Code/storage`` when the directory
    ///   cannot be opened (wrong key, corrupt file …); nothing is ever deleted to recover.
    public init(directory: String, keyProvider: some KeyProvider, configuration: Configuration = Configuration()) throws(OutpostError) {
        self.configuration = configuration
        do {
            store = try Store.open(at: directory, keyProvider: keyProvider, options: configuration.store)
        } catch {
            throw .storage(error)
        }
        let now = configuration.clock.now()
        for record in store.servers() {
            do {
                let partition = try store.partition(for: record.id)
                guard let document = try Self.document(of: partition) else { continue }
                // Sends in flight when the app last stopped may or may not have reached the
                // server: they go out again with the same client message id.
                try partition.returnAllInFlightToQueue(now: now)
                drivers[record.id] = ServerDriver(partition: partition, session: try Self.makeSession(partition, document, configuration.session),
                                                  document: document)
            } catch {
                throw .storage(error)
            }
        }
    }

    /// Connects every server (all at once, each on its own).
    public func start() {
        guard !started, !closed else { return }
        started = true
        for id in drivers.keys.sorted() { connect(id) }
    }

    /// Closes every connection and the store. The outbox and everything received stay on disk.
    public func close() {
        guard !closed else { return }
        closed = true
        for id in drivers.keys.sorted() { drivers[id]?.tearDown(closeCode: 1001) }
        drivers.removeAll()
        eventBroadcaster.finish()
        for (_, subscriber) in listSubscribers { subscriber.continuation.finish() }
        listSubscribers.removeAll()
        store.close()
    }

    // MARK: Servers

    /// Adds a server: fetches and validates its discovery document, creates its encrypted
    /// partition, stores the credentials from the front end's passkey ceremony, and connects.
    ///
    /// - Parameter address: what the user typed: `home.example`, `https://home.example`, or
    ///   `http://127.0.0.1:8765` for a local server.
    /// - Returns: the new server's id.
    @discardableResult
    public func addServer(_ address: String, signIn: ServerSignIn) async throws(OutpostError) -> ServerID {
        try ensureOpen()
        let origin: ServerOrigin
        do { origin = try ServerOrigin(parsing: address) } catch { throw OutpostError(.invalidURL, "\(error)") }
        let document = try await configuration.discovery.discover(origin)
        return try addServer(origin, document: document, signIn: signIn)
    }

    /// Adds a server whose discovery document the front end already has.
    @discardableResult
    public func addServer(_ origin: ServerOrigin, document: DiscoveryDocument, signIn: ServerSignIn) throws(OutpostError) -> ServerID {
        try ensureOpen()
        let id = store.serverID(for: origin)
        guard drivers[id] == nil else {
            throw OutpostError(.serverAlreadyAdded, "\(origin) is already added")
        }
        let now = configuration.clock.now()
        do {
            let partition = try store.addServer(origin, now: now)
            try partition.inOneTransaction { () throws(StoreError) in
                try partition.setServerConfig(ServerConfig(name: document.name, websocketURL: document.websocketURL,
                                                           iconURL: document.iconURL, registration: document.registration,
                                                           capabilities: document.capabilities, version: document.version),
                                              now: now)
                try partition.setSessionToken(signIn.sessionToken, now: now)
                if let userID = signIn.userID { try partition.setOwnUserID(userID, now: now) }
                if let credential = signIn.passkeyCredentialID { try partition.setPasskeyCredentialID(credential, now: now) }
            }
            drivers[id] = ServerDriver(partition: partition, session: try Self.makeSession(partition, document, configuration.session), document: document)
        } catch {
            throw .storage(error)
        }
        eventBroadcaster.publish(OutpostEvent(server: id, kind: .serverAdded))
        scheduleListRefresh()
        if started { connect(id) }
        return id
    }

    /// Every server, in the order of their ids.
    public func servers() -> [ServerInfo] {
        drivers.keys.sorted().compactMap(info)
    }

    /// One server, or `nil` when there is none with `id`.
    public func server(_ id: ServerID) -> ServerInfo? {
        info(id)
    }

    /// Removes a server, even while it syncs: its connection closes, its timers stop, and its
    /// partition (messages, outbox, keys, credentials) is destroyed. Crash-safe: a removal cut
    /// short by a crash completes at the next launch.
    public func removeServer(_ id: ServerID) throws(OutpostError) {
        try ensureOpen()
        guard drivers[id] != nil else { throw OutpostError(.unknownServer, "no server \(id)") }
        // The session closes its connection and stops its timers at once (`readyForRemoval`).
        deliver(.removeRequested, to: id)
        try finishRemoval(id)
    }

    /// The connection state of one server now, then every change, until the server is removed
    /// or the client closes.
    public func connectionStates(of id: ServerID) -> AsyncStream<ConnectionState> {
        let current = drivers[id].map { [$0.session.connectionState] } ?? []
        return eventBroadcaster.subscribe(initial: current) { event in
            guard event.server == id, case .connectionStateChanged(let state) = event.kind else { return nil }
            return state
        }
    }

    /// Every event of every server, from now on.
    public func events() -> AsyncStream<OutpostEvent> {
        eventBroadcaster.subscribe { $0 }
    }

    /// Supplies a new session token after ``OutpostEvent/Kind/authFailed(reason:)`` (or after
    /// signing in again); the server reconnects with it.
    public func updateSessionToken(_ token: String, for id: ServerID) throws(OutpostError) {
        let partition = try partition(of: id)
        do { try partition.setSessionToken(token, now: configuration.clock.now()) } catch { throw .storage(error) }
        deliver(.sessionTokenUpdated(token), to: id)
    }

    // MARK: Sending

    /// Queues a message. Returns once it is durably queued (committed to the server's
    /// partition); it is sent when the server is reachable, retried with the same client
    /// message id until the server confirms it, and never sent after its lifespan.
    ///
    /// - Parameters:
    ///   - payload: the encrypted payload, at most 65,000 bytes (larger is refused here).
    ///   - lifespan: how long the message may wait to be sent (the store's default: 7 days).
    @discardableResult
    public func send(
        _ payload: [UInt8], to conversationID: String, on server: ServerID, messageType: String = "text",
        lifespan: Duration? = nil
    ) throws(OutpostError) -> OutboxItem {
        let partition = try partition(of: server)
        let item: OutboxItem
        do {
            item = try partition.enqueue(conversationID: conversationID, messageType: messageType, payload: payload,
                                         clientMessageID: newClientMessageID(), now: configuration.clock.now(),
                                         lifespanSeconds: lifespan.map { $0.components.seconds })
        } catch {
            throw .storage(error)
        }
        deliver(.enqueued(item), to: server)
        return item
    }

    /// The outbox of one server in FIFO order: queued, in flight, failed (with the reason),
    /// expired, cancelled and sent items, optionally only those in `states`.
    public func outbox(on server: ServerID, states: Set<OutboxState>? = nil) throws(OutpostError) -> [OutboxItem] {
        let partition = try partition(of: server)
        do { return try partition.outbox(states: states) } catch { throw .storage(error) }
    }

    /// Queues a failed or expired item again (same client message id, a fresh lifespan).
    public func retry(_ clientMessageID: String, on server: ServerID) throws(OutpostError) {
        try updateOutboxItem(clientMessageID, on: server) { partition, now throws(StoreError) in
            try partition.retry(clientMessageID, now: now)
        }
    }

    /// Cancels an item that is not in flight: it will never be sent.
    public func cancel(_ clientMessageID: String, on server: ServerID) throws(OutpostError) {
        try updateOutboxItem(clientMessageID, on: server) { partition, now throws(StoreError) in
            try partition.cancel(clientMessageID, now: now)
        }
    }

    /// Replaces the payload of an item that is not in flight.
    public func edit(_ clientMessageID: String, on server: ServerID, payload: [UInt8]) throws(OutpostError) {
        try updateOutboxItem(clientMessageID, on: server) { partition, now throws(StoreError) in
            try partition.edit(clientMessageID, payload: payload, now: now)
        }
    }

    // MARK: Reading

    /// The unified conversation list: conversations of every server (or of `servers`), sorted
    /// by last activity, each tagged with its server. Built from per-partition queries.
    public func conversations(limit: Int = 50, servers: Set<ServerID>? = nil) throws(OutpostError) -> [UnifiedConversation] {
        do { return try store.unifiedConversations(limit: limit, servers: servers) } catch { throw .storage(error) }
    }

    /// ``conversations(limit:servers:)`` now, then again after every change (messages stored,
    /// read marks, servers added or removed), until the stream is dropped or the client closes.
    public func conversationList(limit: Int = 50, servers: Set<ServerID>? = nil) -> AsyncStream<[UnifiedConversation]> {
        let (stream, continuation) = AsyncStream<[UnifiedConversation]>.makeStream(bufferingPolicy: .bufferingNewest(1))
        guard !closed else {
            continuation.finish()
            return stream
        }
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
    ) throws(OutpostError) -> ConversationPage {
        let partition = try partition(of: server)
        let messages: [Message]
        let gaps: [GapRecord]
        do {
            messages = try partition.messages(in: conversationID, before: before, limit: limit)
            gaps = try partition.openGaps().filter { $0.conversationID == nil || $0.conversationID == conversationID }
        } catch {
            throw .storage(error)
        }
        let page = ConversationPage.merging(messages, gaps: gaps, before: before, isFull: messages.count == limit)
        if page.items.contains(where: { if case .gap = $0 { true } else { false } }) {
            deliver(.fillGapsNow, to: server)
        }
        return page
    }

    /// Marks a conversation read up to `position` (everything when `nil`); its unread count
    /// drops accordingly and the conversation list updates.
    public func markRead(_ conversationID: String, on server: ServerID, upTo position: MessagePosition? = nil) throws(OutpostError) {
        let partition = try partition(of: server)
        do { try partition.markRead(conversationID, upTo: position, now: configuration.clock.now()) } catch { throw .storage(error) }
        scheduleListRefresh()
    }

    // MARK: App lifecycle and reachability

    /// The app went to the background: the OS may kill sockets and timers stop.
    public func didEnterBackground() {
        isForeground = false
        broadcast(.appBackgrounded)
    }

    /// The app is in the foreground again: every server reconnects at once, in parallel.
    public func willEnterForeground() {
        isForeground = true
        broadcast(.appForegrounded)
    }

    /// The device lost its network.
    public func networkLost() {
        isReachable = false
        broadcast(.reachabilityLost)
    }

    /// The network is back: every server reconnects at once, without waiting for its backoff.
    public func networkRestored() {
        isReachable = true
        broadcast(.reachabilityRestored)
    }

    // MARK: Helpers

    private func ensureOpen() throws(OutpostError) {
        guard !closed else { throw OutpostError(.closed, "the client is closed") }
    }

    func partition(of id: ServerID) throws(OutpostError) -> Partition {
        try ensureOpen()
        guard let driver = drivers[id] else { throw OutpostError(.unknownServer, "no server \(id)") }
        return driver.partition
    }

    private func info(_ id: ServerID) -> ServerInfo? {
        guard let driver = drivers[id] else { return nil }
        return ServerInfo(id: id, origin: driver.partition.origin, name: driver.document.name,
                          capabilities: driver.document.capabilities, connectionState: driver.session.connectionState,
                          gapGuarantee: driver.session.gapGuarantee, pendingOutboxCount: driver.session.pendingOutboxCount)
    }

    private static func makeSession(
        _ partition: Partition, _ document: DiscoveryDocument, _ configuration: ServerSession.Configuration
    ) throws(StoreError) -> ServerSession {
        var random = SystemRandomNumberGenerator()
        return ServerSession(configuration: configuration, capabilities: ServerCapabilities(advertised: document.capabilities),
                             snapshot: try partition.sessionSnapshot(), seed: random.next())
    }

    private static func document(of partition: Partition) throws(StoreError) -> DiscoveryDocument? {
        guard let config = try partition.credentials().serverConfig else { return nil }
        return DiscoveryDocument(name: config.name, version: config.version ?? "", websocketURL: config.websocketURL,
                                 registration: config.registration, iconURL: config.iconURL, capabilities: config.capabilities)
    }

    /// 128 random bits, hex: unique without coordination, fixed at enqueue time.
    private func newClientMessageID() -> String {
        let high = messageIDRandom.next()
        let low = messageIDRandom.next()
        return String(format: "%016llx%016llx", high, low)
    }

    private func connect(_ id: ServerID) {
        if !isForeground { deliver(.appBackgrounded, to: id) }
        if !isReachable { deliver(.reachabilityLost, to: id) }
        deliver(.connectRequested, to: id)
    }

    private func broadcast(_ event: SessionEvent) {
        guard started else { return }
        for id in drivers.keys.sorted() { deliver(event, to: id) }
    }

    private func updateOutboxItem(
        _ clientMessageID: String, on server: ServerID, _ change: (Partition, Timestamp) throws(StoreError) -> Void
    ) throws(OutpostError) {
        let partition = try partition(of: server)
        let item: OutboxItem?
        do {
            try change(partition, configuration.clock.now())
            item = try partition.outboxItem(clientMessageID)
        } catch {
            throw .storage(error)
        }
        guard let item else { throw OutpostError(.unknownOutboxItem, "no outbox item \(clientMessageID)") }
        deliver(.outboxItemUpdated(item), to: server)
    }

    func removeListSubscriber(_ key: Int) {
        listSubscribers.removeValue(forKey: key)
    }
}
