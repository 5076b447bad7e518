import Logging
import OutpostStore
import OutpostSync
import OutpostWire

/// Everything between "something happened to one server" and "what leaves": the server's
/// sans-IO ``ServerSession`` and its partition, driven together.
///
/// This is the one place where a session's effects are carried out, for the runtime, the
/// simulator and the tests alike:
/// - **One write transaction per input.** Every write an input causes is committed in a single
///   transaction of the server's partition before any of its outputs is returned: store, then
///   acknowledge, whatever order the session listed its effects in.
/// - **Storage failures.** When that transaction fails (disk full, I/O error, a busy database),
///   nothing of the input leaves; the connection is closed (so the server sends again what was
///   not acknowledged), and the session starts again from what is on disk, after a wait that
///   grows with failures in a row. The in-memory cursor and outbox can never run ahead of the
///   partition.
/// - **Connection identity.** Connections and timers are named by handles unique across
///   servers, across a server removed and added again, and across sessions, so a late
///   callback of an old socket is recognised and ignored (or closed).
/// - **Close before login.** A new connection is authenticated only once the connections the
///   core closed have finished their close handshake, or ``Configuration/closeWait`` passed.
///   Some servers (the upstream one) keep one push registration per user, for the newest
///   connection, and drop it when *any* connection of the user closes: a close arriving after
///   the new login would leave the new connection deaf. When a close could not be confirmed in
///   time (a black-holed socket), the core logs in again at each of
///   ``Configuration/loginRefreshes``, which bounds how long a late close can keep the
///   connection deaf.
/// - **The outbox.** Send, retry, cancel and edit go through the session, the outbox's only
///   authority; the store's state checks stay behind it as a guard.
///
/// A value type with no clock, socket or task inside: the driver passes `now` and carries out
/// the ``ServerOutput``s. Deterministic for a seed.
public struct ServerCore: Sendable {
    public struct Configuration: Sendable {
        /// The sync core's settings: page sizes, sends in flight.
        public var session = ServerSession.Configuration()
        /// How long a message sent without a lifespan may wait (7 days).
        public var defaultLifespan: Int64 = Micros.seconds(7 * 24 * 3600)
        /// The wait after a storage failure before starting again; it doubles with each failure
        /// in a row, up to ``storageRetryCap``.
        public var storageRetryDelay: Int64 = Micros.seconds(1)
        public var storageRetryCap: Int64 = Micros.seconds(300)
        /// Deduplication records are kept this long (µs), and pruned once a day.
        public var dedupRetention: Int64 = Micros.seconds(Partition.dedupRetentionSeconds)
        /// How long a new connection waits for the close handshakes of the old ones before it
        /// authenticates anyway.
        public var closeWait: Int64 = Micros.seconds(2)
        /// After a login that went ahead without a close confirmed (see ``closeWait``), when to
        /// log in again, counted from that login: a close arriving late can leave the connection
        /// deaf only until the next of these. Past the last, a close is not expected any more
        /// (a TCP stack gives up retransmitting an abandoned socket's last segments within minutes).
        public var loginRefreshes: [Int64] = [Micros.seconds(60), Micros.seconds(300), Micros.seconds(900)]
        /// A deliberately broken client, for the simulator's own tests only.
        @_spi(Simulation) public var deliberateBug: DeliberateBug?

        public init() {}
    }

    /// The result of a command: its value or error, and the outputs to carry out either way.
    public struct Outcome<Value> {
        public var result: Result<Value, OutpostError>
        public var outputs: [ServerOutput]
    }

    public let id: ServerID
    public let origin: ServerOrigin
    public let config: ServerConfig
    public let incarnation: UInt64
    let partition: Partition
    let configuration: Configuration
    let capabilities: ServerCapabilities
    private(set) var session: ServerSession
    private let telemetry: ServerTelemetry
    /// The latest failure of the connection or the storage.
    private(set) var lastError: ServerError?
    /// Connection attempts that failed since the last successful authentication.
    private(set) var consecutiveFailures = 0
    /// When the storage recovery timer is due, while one is armed.
    private var storageRecoveryAt: Timestamp?
    /// Whether the session ever tried to connect (the attempts after the first are reconnects).
    private var hasAttemptedConnection = false
    private var isLowPower = false
    /// The connection state and outbox depth last given to the gauges.
    private var gauged: (state: ConnectionState, depth: Int)?
    private var sessionGeneration: UInt64 = 1
    private var random: SplitMix64
    /// The generation of each armed timer.
    private var armed: [ServerTimer.Kind: UInt64] = [:]
    private var timerCounter: UInt64 = 0
    private var isStarted = false
    private var isForeground = true
    private var isReachable = true
    private(set) var isRemoved = false
    /// Storage failures in a row.
    private var storageFailures = 0
    /// The session could not be rebuilt from disk yet: only the recovery timer and removal act.
    private var awaitingRecovery = false
    private(set) var lastStorageError: String?
    private var lastPrune: Timestamp?
    /// Messages set aside as undecodable since launch.
    private(set) var setAsideCount = 0
    /// Their ids, so that one fetched again (a history page overlapping pushes) is reported once.
    private var setAsideIDs: Set<String> = []
    /// ``DeliberateBug/acknowledgeBeforeStoring`` only: inbound writes held back a turn.
    private var heldBackWrites: [PersistOperation] = []
    /// ``DeliberateBug/dropOneInHundred`` only: inbound messages seen.
    private var inboundSeen = 0
    /// Connections whose transport opened and has not ended yet.
    private var open: Set<ConnectionHandle> = []
    /// Open connections this core closed whose close handshake has not finished yet.
    private var closing: Set<ConnectionHandle> = []
    /// A new connection waiting for those handshakes before it authenticates.
    private var waitingToLogIn: ConnectionHandle?
    /// The login that went ahead without every close confirmed, and which of
    /// ``Configuration/loginRefreshes`` is next.
    private var refreshes: (since: Timestamp, next: Int)?

    init(id: ServerID, origin: ServerOrigin, config: ServerConfig, partition: Partition, snapshot: SessionSnapshot,
         incarnation: UInt64, random: SplitMix64, configuration: Configuration, telemetry: ServerTelemetry) {
        self.id = id
        self.origin = origin
        self.config = config
        self.partition = partition
        self.incarnation = incarnation
        self.configuration = configuration
        self.random = random
        capabilities = ServerCapabilities(advertised: config.capabilities)
        self.telemetry = telemetry
        session = ServerSession(configuration: configuration.session, capabilities: capabilities,
                                snapshot: Self.deliberatelyBroken(snapshot, configuration.deliberateBug), seed: self.random.next())
    }

    /// The snapshot as a deliberately broken client would read it.
    private static func deliberatelyBroken(_ snapshot: SessionSnapshot, _ bug: DeliberateBug?) -> SessionSnapshot {
        guard bug == .reorderOutboxAfterRelaunch else { return snapshot }
        // Wrong on purpose: the queue comes back from disk newest first.
        var broken = snapshot
        let positions = snapshot.pendingOutbox.map(\.queuePosition).reversed()
        broken.pendingOutbox = zip(snapshot.pendingOutbox, positions).map { item, position in
            OutboxItem(queuePosition: position, clientMessageID: item.clientMessageID, conversationID: item.conversationID,
                       messageType: item.messageType, payload: item.payload, state: item.state, enqueuedAt: item.enqueuedAt,
                       expiresAt: item.expiresAt, attempts: item.attempts, lastRequestID: item.lastRequestID,
                       serverMessageID: item.serverMessageID, serverTimestamp: item.serverTimestamp, failure: item.failure,
                       updatedAt: item.updatedAt)
        }
        return broken
    }

    // MARK: Observation

    /// What the front end lists about the server now.
    public var status: ServerStatus {
        ServerStatus(connectionState: session.connectionState, gapGuarantee: session.gapGuarantee,
                     pendingOutboxCount: session.pendingOutboxCount, isCaughtUp: session.isCaughtUp,
                     setAsideCount: setAsideCount, lastStorageError: lastStorageError, lastError: lastError,
                     consecutiveFailures: consecutiveFailures, nextRetryAt: session.reconnectScheduledAt ?? storageRecoveryAt,
                     isLowPower: isLowPower)
    }

    /// The server as the front end lists it.
    public var info: ServerInfo {
        let status = self.status
        var info = ServerInfo(id: id, origin: origin, availability: .available, name: config.name, capabilities: config.capabilities,
                              connectionState: status.connectionState, gapGuarantee: status.gapGuarantee,
                              pendingOutboxCount: status.pendingOutboxCount, hasDiscoveryDocument: config.documentAbsent != true)
        info.lastError = status.lastError
        info.consecutiveFailures = status.consecutiveFailures
        info.nextRetryAt = status.nextRetryAt
        return info
    }

    /// A redacted snapshot for a bug report (see ``ClientDiagnostics``).
    public func diagnostics() -> ServerDiagnostics {
        let status = self.status
        return ServerDiagnostics(
            server: id, unavailableReason: nil, connectionState: status.connectionState, capabilities: config.capabilities,
            gapGuarantee: status.gapGuarantee, outboxDepth: status.pendingOutboxCount,
            openGaps: (try? partition.openGaps().count) ?? 0, lastError: lastError, consecutiveFailures: consecutiveFailures,
            nextRetryAt: status.nextRetryAt, isLowPower: isLowPower, setAsideCount: setAsideCount,
            storage: try? partition.storageFacts())
    }

    // MARK: Inputs

    /// Hands one input to the server's session and returns what must happen, every write of it
    /// committed.
    public mutating func handle(_ input: ServerInput, now: Timestamp) -> [ServerOutput] {
        guard !isRemoved else { return [] }
        let outputs = outputs(for: input, now: now)
        recordGauges(now: now)
        return outputs
    }

    private mutating func outputs(for input: ServerInput, now: Timestamp) -> [ServerOutput] {
        switch input {
        case .start(let foreground, let reachable):
            isStarted = true
            isForeground = foreground
            isReachable = reachable
            guard !awaitingRecovery else { return [] }
            return run(startEvents().flatMap { session.handle($0, now: now) } + maintenance(now: now), now: now).outputs
        case .connectionOpened(let handle):
            guard current(handle) != nil else { return [.closeConnection(handle, code: 1000)] }
            open.insert(handle)
            guard closing.isEmpty else {
                // Authenticate once the old connections' closes are through (see the type's doc).
                waitingToLogIn = handle
                return [arm(.closeWait, at: now.adding(microseconds: configuration.closeWait))]
            }
            return logIn(handle, now: now)
        case .connectionClosed(let handle, let code):
            return ended(handle, now: now) { .transportClosed($0, code: code) }
        case .connectionFailed(let handle, let reason):
            return ended(handle, now: now) { .transportFailed($0, reason: reason) }
        case .received(let handle, let bytes):
            guard let connection = current(handle) else { return [] }
            return run(session.handle(.received(connection, bytes), now: now), now: now).outputs
        case .timerFired(let timer):
            guard armed[timer.kind] == timer.generation else { return [] }
            armed[timer.kind] = nil
            switch timer.kind {
            case .session(let sessionTimer):
                return run(session.handle(.timerFired(sessionTimer), now: now), now: now).outputs
            case .storageRecovery:
                storageRecoveryAt = nil
                return recover(now: now)
            case .closeWait:
                // The old close could not be confirmed (a black-holed socket): log in now, and
                // again later in case it arrives after this login.
                guard let waiting = waitingToLogIn else { return [] }
                closing.removeAll()
                refreshes = (since: now, next: 0)
                return logIn(waiting, now: now) + armNextRefresh()
            case .loginRefresh:
                let relogin = session.connectionState == .connected
                    ? run(session.handle(.reconnectRequested, now: now), now: now).outputs : []
                return relogin + armNextRefresh()
            }
        case .appBackgrounded:
            isForeground = false
            return lifecycle(.appBackgrounded, now: now)
        case .appForegrounded:
            isForeground = true
            return lifecycle(.appForegrounded, now: now)
        case .reachabilityLost:
            isReachable = false
            return lifecycle(.reachabilityLost, now: now)
        case .reachabilityRestored:
            isReachable = true
            return lifecycle(.reachabilityRestored, now: now)
        case .lowPowerModeChanged(let isOn):
            guard isOn != isLowPower else { return [] }
            isLowPower = isOn
            telemetry.logger.info(isOn ? "low-power mode on: heartbeat stretched" : "low-power mode off")
            return lifecycle(.lowPowerModeChanged(isOn), now: now)
        case .fillGapsNow:
            guard !awaitingRecovery else { return [] }
            return run(session.handle(.fillGapsNow, now: now), now: now).outputs
        case .reconnect:
            guard isStarted, !awaitingRecovery else { return [] }
            let event: SessionEvent = session.connectionState == .connected ? .reconnectRequested : .connectRequested
            return run(session.handle(event, now: now), now: now).outputs
        case .remove:
            let effects = session.handle(.removeRequested, now: now)
            isRemoved = true
            telemetry.logger.info("server being removed")
            // Nothing of a removed server is written: its partition is about to be destroyed.
            var outputs = translate(effects.filter { if case .persist = $0 { false } else { true } }, now: now)
            outputs += armed.keys.sorted().map { kind in .cancelTimer(ServerTimer(kind: kind, generation: armed[kind]!)) }
            armed.removeAll()
            return outputs
        }
    }

    // MARK: Commands of the front end

    /// Queues a message; the item is committed when this returns it.
    ///
    /// - Parameters:
    ///   - lifespan: how long (µs) it may wait to be sent; `nil` for ``Configuration/defaultLifespan``.
    ///   - clientMessageID: `nil` for a fresh random one.
    public mutating func send(
        _ payload: [UInt8], to conversationID: String, messageType: String = "text", lifespan: Int64? = nil,
        clientMessageID: String? = nil, now: Timestamp
    ) -> Outcome<OutboxItem> {
        let draft = OutboxDraft(clientMessageID: clientMessageID ?? newClientMessageID(), conversationID: conversationID,
                                messageType: messageType, payload: payload, lifespan: lifespan ?? configuration.defaultLifespan)
        return perform(.send(draft), now: now)
    }

    /// Queues a failed or expired item again, same client message id, with a fresh lifespan.
    public mutating func retry(_ clientMessageID: String, lifespan: Int64? = nil, now: Timestamp) -> Outcome<OutboxItem> {
        let lifespan = lifespan ?? configuration.defaultLifespan
        return withStoredItem(clientMessageID, now: now) { .retry($0, lifespan: lifespan) }
    }

    /// Cancels an item that has never been on the wire.
    public mutating func cancel(_ clientMessageID: String, now: Timestamp) -> Outcome<OutboxItem> {
        withStoredItem(clientMessageID, now: now) { .cancel($0) }
    }

    /// Replaces the payload of an item that has never been on the wire.
    public mutating func edit(_ clientMessageID: String, payload: [UInt8], now: Timestamp) -> Outcome<OutboxItem> {
        withStoredItem(clientMessageID, now: now) { .edit($0, payload: payload) }
    }

    /// Stores a new session token (after ``OutpostEvent/Kind/authFailed(reason:)``) and
    /// reconnects with it.
    public mutating func updateSessionToken(_ token: String, now: Timestamp) -> Outcome<Void> {
        guard let refusal = refusal() else {
            let run = self.run(session.handle(.sessionTokenUpdated(token), now: now), now: now)
            return Outcome(result: run.failure.map { .failure(.storage($0)) } ?? .success(()), outputs: run.outputs)
        }
        return Outcome(result: .failure(refusal), outputs: [])
    }

    /// Marks a conversation read (see ``OutpostStore/Partition/markRead(_:upTo:now:)``).
    public mutating func markRead(_ conversationID: String, upTo position: MessagePosition?, now: Timestamp) -> Outcome<Void> {
        if let refusal = refusal() { return Outcome(result: .failure(refusal), outputs: []) }
        do {
            try partition.markRead(conversationID, upTo: position, now: now)
            return Outcome(result: .success(()), outputs: [.conversationsChanged])
        } catch {
            return Outcome(result: .failure(.storage(error)), outputs: [.event(.storageFailed(error.description))])
        }
    }

    /// One page of a conversation, oldest first, with gap markers where messages are still
    /// missing; a page that shows a gap asks the session to fill it now.
    public mutating func messages(
        in conversationID: String, before: MessagePosition?, limit: Int, now: Timestamp
    ) -> Outcome<ConversationPage> {
        if let refusal = refusal() { return Outcome(result: .failure(refusal), outputs: []) }
        let page: ConversationPage
        do {
            let messages = try partition.messages(in: conversationID, before: before, limit: limit)
            let gaps = try partition.openGaps().filter { $0.conversationID == nil || $0.conversationID == conversationID }
            page = ConversationPage.merging(messages, gaps: gaps, before: before, isFull: messages.count == limit)
        } catch {
            return Outcome(result: .failure(.storage(error)), outputs: [])
        }
        let showsGap = page.items.contains { if case .gap = $0 { true } else { false } }
        return Outcome(result: .success(page), outputs: showsGap ? handle(.fillGapsNow, now: now) : [])
    }

    /// The outbox in FIFO order, optionally only items in `states`.
    public func outbox(states: Set<OutboxState>? = nil) throws(OutpostError) -> [OutboxItem] {
        if let refusal = refusal() { throw refusal }
        do { return try partition.outbox(states: states) } catch { throw .storage(error) }
    }

    // MARK: Running the session

    /// Commits every write of `effects` in one transaction, then turns the rest into outputs.
    /// On a failed commit nothing of them leaves; the session starts again from disk.
    private mutating func run(_ effects: [SessionEffect], now: Timestamp) -> (outputs: [ServerOutput], failure: StoreError?) {
        var writes: [PersistOperation] = []
        var rest: [SessionEffect] = []
        for effect in effects {
            if case .persist(let operation) = effect { writes.append(operation) } else { rest.append(effect) }
        }
        if configuration.deliberateBug == .dropOneInHundred {
            // Wrong on purpose: every hundredth inbound message is forgotten.
            writes = writes.map { operation in
                guard case .storeInbound(let messages) = operation else { return operation }
                return .storeInbound(messages.filter { _ in
                    inboundSeen += 1
                    return inboundSeen % 100 != 0
                })
            }
        }
        if configuration.deliberateBug == .keepExpiredAfterSending {
            // Wrong on purpose (as the client once was): an item that expired stays expired
            // when the server shows it stored it.
            writes = writes.filter { operation in
                guard case .markSent(let clientMessageID, _, _) = operation else { return true }
                return (try? partition.outboxItem(clientMessageID))?.state != .expired
            }
        }
        if configuration.deliberateBug == .acknowledgeBeforeStoring {
            // Wrong on purpose: inbound messages are stored with the next input's writes, after
            // their acknowledgements and the cursor have gone out.
            let inbound = writes.filter { if case .storeInbound = $0 { true } else { false } }
            writes = heldBackWrites + writes.filter { if case .storeInbound = $0 { false } else { true } }
            heldBackWrites = inbound
        }
        let outcome: PersistOutcome
        do {
            outcome = try partition.apply(writes, now: now)
        } catch {
            return (storageFailed(error, now: now), error)
        }
        if !writes.isEmpty { storageFailures = 0 }
        var outputs: [ServerOutput] = []
        let inbound = writes.reduce(0) { count, write in
            if case .storeInbound(let messages) = write { count + messages.count } else { count }
        }
        if inbound > 0 {
            telemetry.messagesStored.increment(by: outcome.storedMessages.count)
            telemetry.duplicatesDropped.increment(by: inbound - outcome.storedMessages.count)
            telemetry.logger.trace("inbound committed", metadata: ["stored": "\(outcome.storedMessages.count)",
                                                                   "duplicates": "\(inbound - outcome.storedMessages.count)"])
        }
        if !outcome.storedMessages.isEmpty {
            outputs.append(.event(.messagesStored(outcome.storedMessages.map(\.messageID))))
            if let notification = MessageNotification.grouping(outcome.storedMessages, server: id, serverName: config.name,
                                                               ownUserID: session.userID) {
                outputs.append(.notify(notification))
            }
        }
        outputs += translate(rest, now: now)
        if outcome.changedConversations { outputs.append(.conversationsChanged) }
        return (outputs, nil)
    }

    /// The session's effects other than writes, as outputs.
    private mutating func translate(_ effects: [SessionEffect], now: Timestamp) -> [ServerOutput] {
        var outputs: [ServerOutput] = []
        for effect in effects {
            switch effect {
            case .openTransport(let connection):
                outputs.append(.openConnection(handle(connection), url: config.websocketURL))
            case .closeTransport(let connection, let code):
                outputs += close(handle(connection), code: code)
            case .send(let connection, let bytes):
                outputs.append(.send(handle(connection), bytes))
            case .setTimer(let timer, let at):
                if timer == .reconnect {
                    let seconds = Double(at.microseconds - now.microseconds) / 1_000_000
                    telemetry.logger.info("next attempt after backoff", metadata: [
                        "delay_seconds": "\((seconds * 1000).rounded() / 1000)", "attempt": "\(session.backoffAttempt)"])
                }
                outputs.append(arm(.session(timer), at: at))
            case .cancelTimer(let timer):
                if let output = disarm(.session(timer)) { outputs.append(output) }
            case .persist:
                preconditionFailure("writes are committed before effects are translated")
            case .notify(let notification):
                if let event = event(for: notification, now: now) { outputs.append(.event(event)) }
            }
        }
        return outputs
    }

    /// What the front end hears of a session notification. This is the server's choke point
    /// for logs and metrics: every change of the connection, the outbox and catch-up passes here.
    private mutating func event(for notification: SessionNotification, now: Timestamp) -> OutpostEvent.Kind? {
        let logger = telemetry.logger
        switch notification {
        case .connectionStateChanged(let state):
            switch state {
            case .connecting:
                if hasAttemptedConnection { telemetry.reconnects.increment() }
                hasAttemptedConnection = true
                logger.debug("connecting", metadata: connectionMetadata)
            case .authenticating:
                logger.debug("connection opened, authenticating", metadata: connectionMetadata)
            case .connected:
                consecutiveFailures = 0
                logger.info("authenticated", metadata: connectionMetadata)
            case .disconnected, .authFailed, .disconnecting:
                break
            }
            return .connectionStateChanged(state)
        case .disconnected(let reason):
            if reason.isFailure {
                consecutiveFailures += 1
                lastError = ServerError(reason: reason, at: now)
            }
            var metadata = connectionMetadata
            metadata["reason"] = "\(reason.kind)"
            if let code = reason.closeCode { metadata["close_code"] = "\(code)" }
            metadata["failures_in_a_row"] = "\(consecutiveFailures)"
            logger.log(level: reason.isFailure ? .notice : .info, "connection ended", metadata: metadata)
            // The message may quote the server's address (a transport error names its URL).
            logger.debug("connection ended: \(reason.message)", metadata: connectionMetadata)
            return .disconnected(reason: reason)
        case .authFailed(let reason):
            logger.warning("authentication refused: waiting for a new session token")
            logger.debug("authentication refused: \(reason)")
            return .authFailed(reason: reason)
        case .outboxItemSent(let clientMessageID, let messageID):
            logger.debug("sent", metadata: ["outbox_item": "\(clientMessageID)"])
            return .outboxItemSent(clientMessageID: clientMessageID, messageID: messageID)
        case .outboxItemFailed(let clientMessageID, let failure):
            logger.warning("send refused", metadata: ["outbox_item": "\(clientMessageID)",
                                                      "error_code": "\(failure.code.map { "\($0)" } ?? "none")"])
            logger.debug("send refused: \(failure.reason)", metadata: ["outbox_item": "\(clientMessageID)"])
            return .outboxItemFailed(clientMessageID: clientMessageID, failure: failure)
        case .outboxItemExpired(let clientMessageID):
            logger.info("outbox item expired unsent", metadata: ["outbox_item": "\(clientMessageID)"])
            return .outboxItemExpired(clientMessageID: clientMessageID)
        case .delivered(let messageID, let to): return .delivered(messageID: messageID, to: to)
        case .presence(let userID, let status): return .presence(userID: userID, status: status)
        case .gapOpened(let gap):
            telemetry.gapsOpened.increment()
            logger.info("gap opened", metadata: ["gap": "\(gap)"])
            return .gapOpened(id: gap)
        case .gapFilled(let gap):
            telemetry.gapsFilled.increment()
            logger.info("gap filled", metadata: ["gap": "\(gap)"])
            return .gapFilled(id: gap)
        case .historyPageReceived(let entries, let hasMore):
            telemetry.historyPages.increment()
            logger.debug("history page", metadata: ["entries": "\(entries)", "has_more": "\(hasMore)"])
            return nil
        case .caughtUp:
            logger.info("caught up", metadata: ["gap_guarantee": "\(session.gapGuarantee)"])
            return .caughtUp
        case .frame(let type, let requestID, let payload): return .frame(type: type, requestID: requestID, payload: payload)
        case .messageSetAside(let messageID, let reason):
            if let messageID, !setAsideIDs.insert(messageID).inserted { return nil }
            setAsideCount += 1
            logger.warning("undecodable message skipped", metadata: ["message": "\(messageID ?? "unknown")"])
            logger.debug("undecodable message skipped: \(reason)")
            return .messageSetAside(messageID: messageID, reason: reason)
        case .readyForRemoval:
            return nil  // the driver destroys the partition next, through the client core
        }
    }

    /// The app's state, then a connect request: each is a no-op for a session already in it, so
    /// starting again (after a heal, a storage recovery) is safe.
    private func startEvents() -> [SessionEvent] {
        [isForeground ? .appForegrounded : .appBackgrounded, isReachable ? .reachabilityRestored : .reachabilityLost,
         .lowPowerModeChanged(isLowPower), .connectRequested]
    }

    private mutating func lifecycle(_ event: SessionEvent, now: Timestamp) -> [ServerOutput] {
        guard isStarted, !awaitingRecovery else { return [] }
        return run(session.handle(event, now: now), now: now).outputs
    }

    /// Housekeeping that rides along with the first input of a day: deduplication records past
    /// their retention go.
    private mutating func maintenance(now: Timestamp) -> [SessionEffect] {
        if let lastPrune, now.microseconds - lastPrune.microseconds < Micros.seconds(24 * 3600) { return [] }
        lastPrune = now
        return [.persist(.pruneDedupRecords(olderThan: now.adding(microseconds: -configuration.dedupRetention)))]
    }

    // MARK: Storage failures

    private mutating func storageFailed(_ error: StoreError, now: Timestamp) -> [ServerOutput] {
        storageFailures += 1
        lastStorageError = error.description
        heldBackWrites.removeAll()
        telemetry.storageErrors.increment()
        telemetry.logger.error("storage failure: the session starts again from disk",
                               metadata: ["error": "\(error.code)", "failures_in_a_row": "\(storageFailures)"])
        let reason = DisconnectReason(.storageFailure, closeCode: 1011, message: "a write to the server's storage failed: \(error)")
        lastError = ServerError(reason: reason, at: now)
        var outputs: [ServerOutput] = [.event(.storageFailed(error.description))]
        // What the server sent since the last commit was not acknowledged: it sends it again on
        // the next connection. The old session's connection and timers go with it.
        if let connection = session.currentConnection {
            outputs += close(handle(connection), code: 1011)
            outputs.append(.event(.disconnected(reason: reason)))
        }
        waitingToLogIn = nil
        outputs += armed.keys.sorted().map { kind in .cancelTimer(ServerTimer(kind: kind, generation: armed[kind]!)) }
        armed.removeAll()
        if session.connectionState != .disconnected { outputs.append(.event(.connectionStateChanged(.disconnected))) }
        rebuildSession()
        let exponent = min(storageFailures - 1, 20)
        let delay = min(configuration.storageRetryDelay << exponent, configuration.storageRetryCap)
        storageRecoveryAt = now.adding(microseconds: delay)
        outputs.append(arm(.storageRecovery, at: now.adding(microseconds: delay)))
        return outputs
    }

    /// A fresh session from what the partition holds; on failure, another try at the next
    /// recovery.
    private mutating func rebuildSession() {
        do {
            let snapshot = try partition.sessionSnapshot()
            session = ServerSession(configuration: configuration.session, capabilities: capabilities,
                                    snapshot: Self.deliberatelyBroken(snapshot, configuration.deliberateBug), seed: random.next())
            sessionGeneration += 1
            awaitingRecovery = false
        } catch {
            lastStorageError = error.description
            awaitingRecovery = true
        }
    }

    private mutating func recover(now: Timestamp) -> [ServerOutput] {
        if awaitingRecovery {
            rebuildSession()
            if awaitingRecovery {
                storageFailures += 1
                let exponent = min(storageFailures - 1, 20)
                let delay = min(configuration.storageRetryDelay << exponent, configuration.storageRetryCap)
                storageRecoveryAt = now.adding(microseconds: delay)
                return [arm(.storageRecovery, at: now.adding(microseconds: delay))]
            }
        }
        guard isStarted else { return [] }
        return run(startEvents().flatMap { session.handle($0, now: now) }, now: now).outputs
    }

    // MARK: Helpers

    /// The transport of `handle` ended (`event` tells the session how).
    private mutating func ended(_ handle: ConnectionHandle, now: Timestamp,
                                _ event: (ConnectionID) -> SessionEvent) -> [ServerOutput] {
        open.remove(handle)
        if closing.remove(handle) != nil {
            guard closing.isEmpty, let waiting = waitingToLogIn else { return [] }
            return (disarm(.closeWait).map { [$0] } ?? []) + logIn(waiting, now: now)
        }
        guard let connection = current(handle) else { return [] }
        if waitingToLogIn == handle { waitingToLogIn = nil }
        return run(session.handle(event(connection), now: now), now: now).outputs
    }

    /// The connection the session has open or is opening, for log metadata.
    private var connectionMetadata: Logger.Metadata {
        guard let connection = session.currentConnection else { return [:] }
        return ["connection": "\(handle(connection))"]
    }

    /// The gauges after an input: connection state and the outbox. Recorded when they change
    /// (and the age while something waits): most inputs change neither, and the simulator
    /// delivers millions.
    private mutating func recordGauges(now: Timestamp) {
        let state = session.connectionState
        let depth = session.pendingOutboxCount
        if let gauged, gauged.state == state, gauged.depth == depth, depth == 0 { return }
        if gauged?.state != state { telemetry.connectionState.record(ServerTelemetry.gaugeValue(state)) }
        if gauged?.depth != depth { telemetry.outboxDepth.record(depth) }
        let oldest = session.oldestPendingEnqueuedAt.map { Double(now.microseconds - $0.microseconds) / 1_000_000 } ?? 0
        telemetry.outboxOldestAge.record(max(oldest, 0))
        gauged = (state, depth)
    }

    private func refusal() -> OutpostError? {
        if isRemoved { return OutpostError(.unknownServer, "server \(id) is being removed") }
        if awaitingRecovery {
            return OutpostError(.storage, "server \(id)'s storage is failing: \(lastStorageError ?? "unknown error")")
        }
        return nil
    }

    private mutating func perform(_ command: OutboxCommand, now: Timestamp) -> Outcome<OutboxItem> {
        if let refusal = refusal() { return Outcome(result: .failure(refusal), outputs: []) }
        let item: OutboxItem
        let effects: [SessionEffect]
        do {
            (item, effects) = try session.perform(command, now: now)
        } catch {
            return Outcome(result: .failure(.outbox(error)), outputs: [])
        }
        let run = self.run(effects, now: now)
        recordGauges(now: now)
        if let failure = run.failure { return Outcome(result: .failure(.storage(failure)), outputs: run.outputs) }
        return Outcome(result: .success(item), outputs: run.outputs)
    }

    private mutating func withStoredItem(
        _ clientMessageID: String, now: Timestamp, _ command: (OutboxItem) -> OutboxCommand
    ) -> Outcome<OutboxItem> {
        if let refusal = refusal() { return Outcome(result: .failure(refusal), outputs: []) }
        let stored: OutboxItem?
        do { stored = try partition.outboxItem(clientMessageID) } catch {
            return Outcome(result: .failure(.storage(error)), outputs: [])
        }
        guard let stored else {
            return Outcome(result: .failure(OutpostError(.unknownOutboxItem, "no outbox item \(clientMessageID)")), outputs: [])
        }
        return perform(command(stored), now: now)
    }

    /// Closes `handle`; when it was open, the next login waits for its close handshake.
    private mutating func close(_ handle: ConnectionHandle, code: UInt16) -> [ServerOutput] {
        if open.remove(handle) != nil { closing.insert(handle) }
        if waitingToLogIn == handle { waitingToLogIn = nil }
        return [.closeConnection(handle, code: code)]
    }

    /// Arms the next of ``Configuration/loginRefreshes``, if one is left.
    private mutating func armNextRefresh() -> [ServerOutput] {
        guard let (since, next) = refreshes, next < configuration.loginRefreshes.count else {
            refreshes = nil
            return []
        }
        refreshes = (since, next + 1)
        return [arm(.loginRefresh, at: since.adding(microseconds: configuration.loginRefreshes[next]))]
    }

    /// The session learns that `handle` is open: it authenticates.
    private mutating func logIn(_ handle: ConnectionHandle, now: Timestamp) -> [ServerOutput] {
        waitingToLogIn = nil
        guard let connection = current(handle) else { return [] }
        return run(session.handle(.transportOpened(connection), now: now) + maintenance(now: now), now: now).outputs
    }

    /// The session's connection `handle` names, when it is the one open or opening now.
    private func current(_ handle: ConnectionHandle) -> ConnectionID? {
        guard handle.incarnation == incarnation, handle.session == sessionGeneration,
              handle.connection == session.currentConnection else { return nil }
        return handle.connection
    }

    private func handle(_ connection: ConnectionID) -> ConnectionHandle {
        ConnectionHandle(server: id, incarnation: incarnation, session: sessionGeneration, connection: connection)
    }

    private mutating func arm(_ kind: ServerTimer.Kind, at: Timestamp) -> ServerOutput {
        timerCounter += 1
        armed[kind] = timerCounter
        return .setTimer(ServerTimer(kind: kind, generation: timerCounter), at: at)
    }

    private mutating func disarm(_ kind: ServerTimer.Kind) -> ServerOutput? {
        guard let generation = armed.removeValue(forKey: kind) else { return nil }
        return .cancelTimer(ServerTimer(kind: kind, generation: generation))
    }

    /// 128 random bits, hex: unique without coordination, fixed at enqueue time.
    private mutating func newClientMessageID() -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for _ in 0..<2 {
            let value = random.next()
            for shift in stride(from: 60, through: 0, by: -4) { text.append(digits[Int((value >> UInt64(shift)) & 0xF)]) }
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// A server's state as the front end lists it.
public struct ServerStatus: Hashable, Sendable {
    public var connectionState: ConnectionState
    public var gapGuarantee: GapGuarantee
    public var pendingOutboxCount: Int
    public var isCaughtUp: Bool
    /// Undecodable messages skipped since launch.
    public var setAsideCount: Int
    /// The latest storage failure, if any.
    public var lastStorageError: String?
    /// The latest failure of the connection or the storage.
    public var lastError: ServerError?
    /// Connection attempts that failed since the last successful authentication.
    public var consecutiveFailures: Int
    /// When the next connection attempt (or storage recovery) is due, while one waits.
    public var nextRetryAt: Timestamp?
    public var isLowPower: Bool
}

/// Deliberately wrong behaviours, switched on only by tests of the simulator's checker.
@_spi(Simulation) public enum DeliberateBug: String, Hashable, Sendable, Codable {
    /// Acknowledge messages and move the cursor before the messages are committed.
    case acknowledgeBeforeStoring = "ack_before_store"
    /// Receive and acknowledge every message, but leave one in a hundred unstored.
    case dropOneInHundred = "drop_one_in_hundred"
    /// After a relaunch, send what waits in the outbox newest first.
    case reorderOutboxAfterRelaunch = "reorder_outbox_after_relaunch"
    /// Leave an item expired when the server shows that it stored it.
    case keepExpiredAfterSending = "keep_expired_after_sending"
}
