import OrderedCollections
import OutpostModel

/// The in-memory side of one server's durable outbox, and its only authority: every item
/// enters, leaves and changes here, and the store's own state checks stay behind it as a guard.
///
/// - FIFO per conversation: at most one item of a conversation is in flight, and an item is
///   never sent before an earlier one of its conversation is settled.
/// - Several conversations are in flight at once (up to ``Configuration/maxInFlight``).
/// - An item keeps its client message id on every attempt; an expired item is never sent. One
///   that expired after it had been on the wire may have been stored all the same: when the
///   server shows it (an echo, a history page), it is sent after all.
/// - Sends are paced by a token bucket at the protocol's rate (30 a second, bursts of 10), so a
///   conforming server never has to refuse one; a server that still answers 3004 halves the
///   rate (once per burst), and the rate climbs back after a quiet minute.
struct OutboxDrain {
    struct Configuration: Hashable, Sendable {
        var maxInFlight = 8
        var requestTimeout: Int64 = Micros.seconds(30)
        var transientErrorPause: Int64 = Micros.seconds(5)
        /// PROTOCOL.md §6: 30 `MESSAGE_SEND` a second per connection, bursts of 10.
        var sendsPerSecond = 30.0
        var sendBurst = 10.0
        /// The slowest rate repeated 3004s can push the outbox down to.
        var minimumSendsPerSecond = 0.25
        /// How long without a 3004 before the rate doubles again.
        var rateRecovery: Int64 = Micros.seconds(60)
    }

    enum Action: Hashable, Sendable {
        /// Persist the attempt, then put the item on the wire under `requestID`.
        case send(OutboxItem, requestID: String)
        case persist(PersistOperation)
        case setTimer(SessionTimer, at: Timestamp)
        case cancelTimer(SessionTimer)
        case notify(SessionNotification)
    }

    private struct Attempt: Hashable {
        let clientMessageID: String
        let sentAt: Timestamp
    }

    let configuration: Configuration
    /// Queued and in-flight items in FIFO order (ascending queue position), by client message
    /// id: every echo, error and command finds its item without a scan of the queue.
    private var queue: OrderedDictionary<String, OutboxItem>
    /// The queue position the next new item takes.
    private(set) var nextQueuePosition: Int64
    /// Request id → the attempt in flight under it. Only looked up by key: the one walk over
    /// it (``connectionLost()``) sorts the request ids first, so the hash order never shows.
    private var inFlight: [String: Attempt] = [:]
    /// After a transient server error: nothing is sent before this.
    private var pausedUntil: Timestamp?
    private var rate: SendRate
    /// Expired items that had been on the wire: only looked up by key.
    private var expiredAfterSending: Set<String>

    init(configuration: Configuration = Configuration(), pending: [OutboxItem], nextQueuePosition: Int64,
         expiredAfterSending: [String] = []) {
        self.configuration = configuration
        // After a relaunch nothing is in flight any more: every pending item is simply queued.
        let items = pending.filter { $0.state == .queued || $0.state == .inFlight }
            .map { var item = $0; item.state = .queued; return item }
            .sorted { $0.queuePosition < $1.queuePosition }
        // The store keeps client message ids unique; should one still repeat, the earliest
        // item keeps it, the one every lookup by that id found first.
        queue = OrderedDictionary(items.lazy.map { ($0.clientMessageID, $0) }, uniquingKeysWith: { first, _ in first })
        self.nextQueuePosition = max(nextQueuePosition, (queue.values.last?.queuePosition ?? 0) + 1)
        rate = SendRate(configuration: configuration)
        self.expiredAfterSending = Set(expiredAfterSending)
    }

    /// Queued and in-flight items in FIFO order.
    ///
    /// - Complexity: O(1): the array shares the queue's storage.
    var pending: [OutboxItem] { queue.values.elements }

    var inFlightCount: Int { inFlight.count }

    /// The queued or in-flight item with this client message id.
    func item(_ clientMessageID: String) -> OutboxItem? { queue[clientMessageID] }

    func clientMessageID(forRequest requestID: String) -> String? { inFlight[requestID]?.clientMessageID }

    // MARK: Commands of the front end

    /// Queues a new message at the end of the outbox.
    mutating func enqueue(_ draft: OutboxDraft, now: Timestamp) throws(OutboxRefusal) -> (OutboxItem, [Action]) {
        guard draft.payload.count <= OutboxDraft.maxPayloadBytes else { throw .payloadTooLarge(draft.payload.count) }
        guard draft.lifespan > 0 else { throw .invalidLifespan }
        guard queue[draft.clientMessageID] == nil else { throw .duplicateClientMessageID(draft.clientMessageID) }
        let item = OutboxItem(queuePosition: nextQueuePosition, clientMessageID: draft.clientMessageID,
                              conversationID: draft.conversationID, messageType: draft.messageType, payload: draft.payload,
                              state: .queued, enqueuedAt: now, expiresAt: now.adding(draft.lifespan), updatedAt: now)
        nextQueuePosition += 1
        queue[item.clientMessageID] = item
        return (item, [.persist(.enqueue(item))] + expiryTimer())
    }

    /// Queues a failed or expired item again, same client message id, with a new lifespan.
    mutating func retry(_ item: OutboxItem, lifespan: Int64, now: Timestamp) throws(OutboxRefusal) -> [Action] {
        guard item.state == .failed || item.state == .expired else { throw .notAllowed(item, "retry") }
        guard lifespan > 0 else { throw .invalidLifespan }
        var queued = item
        queued.state = .queued
        queued.failure = nil
        queued.expiresAt = now.adding(lifespan)
        queued.updatedAt = now
        queue.removeValue(forKey: item.clientMessageID)
        expiredAfterSending.remove(item.clientMessageID)
        queue[queued.clientMessageID] = queued
        // Back to its place in the FIFO by queue position. A stable sort, as ever: the queue is in
        // order but for the appended item, which the stdlib's run-merging sort merges in one pass.
        queue.sort { $0.value.queuePosition < $1.value.queuePosition }
        return [.persist(.requeue(clientMessageID: item.clientMessageID, expiresAt: queued.expiresAt))] + expiryTimer()
    }

    /// Cancels an item that has never been on the wire. An item sent once (its echo lost, or
    /// still in flight) may already be stored by the server: cancelling it would hide a
    /// delivered message, so that is refused.
    mutating func cancel(_ item: OutboxItem, now: Timestamp) throws(OutboxRefusal) -> [Action] {
        let current = queue[item.clientMessageID] ?? item
        guard current.state != .inFlight else { throw .inFlight(item.clientMessageID) }
        switch current.state {
        case .queued, .expired:
            guard current.attempts == 0 else { throw .mayHaveBeenDelivered(item.clientMessageID) }
        case .failed:
            break
        case .sent, .cancelled, .inFlight:
            throw .notAllowed(current, "cancel")
        }
        queue.removeValue(forKey: item.clientMessageID)
        return [.persist(.cancel(clientMessageID: item.clientMessageID))] + expiryTimer()
    }

    /// Replaces the payload of an item that has never been on the wire (once sent, a server
    /// that deduplicates by client message id keeps the first version).
    mutating func edit(_ item: OutboxItem, payload: [UInt8], now: Timestamp) throws(OutboxRefusal) -> [Action] {
        guard payload.count <= OutboxDraft.maxPayloadBytes else { throw .payloadTooLarge(payload.count) }
        guard let index = queue.index(forKey: item.clientMessageID) else { throw .notAllowed(item, "edit") }
        guard queue.values[index].state == .queued else { throw .inFlight(item.clientMessageID) }
        guard queue.values[index].attempts == 0 else { throw .mayHaveBeenDelivered(item.clientMessageID) }
        queue.values[index].payload = payload
        queue.values[index].updatedAt = now
        return [.persist(.edit(clientMessageID: item.clientMessageID, payload: payload))]
    }

    // MARK: Sending

    /// Puts every item that may go now on the wire. `nextRequestID` numbers the requests.
    mutating func drain(now: Timestamp, nextRequestID: () -> String) -> [Action] {
        var actions = expire(now: now)
        if let pausedUntil, now < pausedUntil { return actions + [.setTimer(.sendPause, at: pausedUntil)] }
        pausedUntil = nil
        rate.recover(now: now)
        var busyConversations = Set(queue.values.lazy.filter { $0.state == .inFlight }.map(\.conversationID))
        for index in queue.values.indices where inFlight.count < configuration.maxInFlight {
            let item = queue.values[index]
            guard item.state == .queued, !busyConversations.contains(item.conversationID) else {
                busyConversations.insert(item.conversationID)
                continue
            }
            guard rate.take(now: now) else {
                // Out of tokens: the next one is due shortly.
                actions.append(.setTimer(.sendPause, at: rate.nextTokenAt(now: now)))
                break
            }
            let requestID = nextRequestID()
            queue.values[index].state = .inFlight
            queue.values[index].attempts += 1
            queue.values[index].lastRequestID = requestID
            inFlight[requestID] = Attempt(clientMessageID: item.clientMessageID, sentAt: now)
            busyConversations.insert(item.conversationID)
            actions += [.send(queue.values[index], requestID: requestID),
                        .setTimer(.request(requestID), at: now.adding(configuration.requestTimeout))]
        }
        return actions
    }

    /// A `MESSAGE_RECEIVE` that may be this client's own message: matched by the request id of
    /// the send (echo) or, from a server with `idempotent-send`, by the client message id (echo,
    /// push or history after a reconnect). Returns `nil` when it matches no pending item.
    mutating func ownMessageSeen(
        requestID: String?, clientMessageID: String?, serverMessageID: String, serverTimestamp: Timestamp, now: Timestamp
    ) -> [Action]? {
        let matchedID: String?
        if let requestID, !requestID.isEmpty, let attempt = inFlight[requestID] {
            matchedID = attempt.clientMessageID
        } else if let clientMessageID, !clientMessageID.isEmpty, queue[clientMessageID] != nil {
            matchedID = clientMessageID
        } else if let clientMessageID, !clientMessageID.isEmpty, expiredAfterSending.remove(clientMessageID) != nil {
            // It expired waiting for an answer that was lost; the server had stored it.
            return [.persist(.markSent(clientMessageID: clientMessageID, serverMessageID: serverMessageID, serverTimestamp: serverTimestamp)),
                    .notify(.outboxItemSent(clientMessageID: clientMessageID, serverMessageID: serverMessageID))]
        } else {
            matchedID = nil
        }
        guard let matchedID, let item = queue.removeValue(forKey: matchedID) else { return nil }
        var actions: [Action] = []
        if let request = item.lastRequestID, inFlight.removeValue(forKey: request) != nil {
            actions.append(.cancelTimer(.request(request)))
        }
        actions += [.persist(.markSent(clientMessageID: matchedID, serverMessageID: serverMessageID, serverTimestamp: serverTimestamp)),
                    .notify(.outboxItemSent(clientMessageID: matchedID, serverMessageID: serverMessageID))]
        return actions + expiryTimer()
    }

    /// `ERROR` carrying the request id of a send.
    mutating func errorReceived(requestID: String, code: Int32, message: String, now: Timestamp) -> [Action]? {
        guard let attempt = inFlight.removeValue(forKey: requestID),
              let index = queue.index(forKey: attempt.clientMessageID)
        else { return nil }
        let clientMessageID = attempt.clientMessageID
        var actions: [Action] = [.cancelTimer(.request(requestID))]
        switch SendErrorDisposition.classify(code) {
        case .rateLimited:
            queue.values[index].state = .queued
            rate.rejected(sentAt: attempt.sentAt, now: now)
            actions += [.persist(.returnToQueue(clientMessageID: clientMessageID)),
                        .setTimer(.sendPause, at: rate.nextTokenAt(now: now))]
        case .transient:
            queue.values[index].state = .queued
            let until = now.adding(configuration.transientErrorPause)
            pausedUntil = max(pausedUntil ?? until, until)
            actions += [.persist(.returnToQueue(clientMessageID: clientMessageID)), .setTimer(.sendPause, at: pausedUntil!)]
        case .permanent(let notAMember):
            let item = queue.remove(at: index).value
            let reason = message.isEmpty ? "server error \(code)" : message
            actions.append(.persist(.markFailed(clientMessageID: clientMessageID, code: code, reason: reason)))
            if notAMember { actions.append(.persist(.markNotMember(conversationID: item.conversationID))) }
            actions.append(.notify(.outboxItemFailed(clientMessageID: clientMessageID,
                                                     failure: OutboxFailure(code: code, reason: reason))))
            actions += expiryTimer()
        }
        return actions
    }

    /// The connection is gone: every item in flight goes back to the queue, id unchanged.
    mutating func connectionLost() -> [Action] {
        var actions: [Action] = []
        for (requestID, attempt) in inFlight.sorted(by: { $0.key < $1.key }) {
            actions.append(.cancelTimer(.request(requestID)))
            if let index = queue.index(forKey: attempt.clientMessageID) {
                queue.values[index].state = .queued
                actions.append(.persist(.returnToQueue(clientMessageID: attempt.clientMessageID)))
            }
        }
        inFlight.removeAll()
        return actions
    }

    /// Queued items whose lifespan ran out leave the queue as expired: never sent silently.
    mutating func expire(now: Timestamp) -> [Action] {
        let due = queue.values.filter { $0.state == .queued && $0.expiresAt <= now }
        guard !due.isEmpty else { return [] }
        queue.removeAll { $0.value.state == .queued && $0.value.expiresAt <= now }
        for item in due where item.attempts > 0 { expiredAfterSending.insert(item.clientMessageID) }
        return [.persist(.expireOutbox)] + due.map { .notify(.outboxItemExpired(clientMessageID: $0.clientMessageID)) } + expiryTimer()
    }

    // MARK: Helpers

    private func expiryTimer() -> [Action] {
        guard let earliest = queue.values.lazy.filter({ $0.state == .queued }).map(\.expiresAt).min() else {
            return [.cancelTimer(.outboxExpiry)]
        }
        return [.setTimer(.outboxExpiry, at: earliest)]
    }
}

/// A token bucket for `MESSAGE_SEND`, in virtual time.
private struct SendRate {
    let configuration: OutboxDrain.Configuration
    private(set) var perSecond: Double
    private var tokens: Double
    private var refilledAt: Timestamp?
    /// When the rate was last lowered: a 3004 for a send made before then is part of the same
    /// burst and does not lower it again.
    private var loweredAt: Timestamp?

    init(configuration: OutboxDrain.Configuration) {
        self.configuration = configuration
        perSecond = configuration.sendsPerSecond
        tokens = configuration.sendBurst
    }

    private var burst: Double { max(1, min(configuration.sendBurst, perSecond)) }

    private mutating func refill(now: Timestamp) {
        if let refilledAt, now > refilledAt {
            tokens = min(burst, tokens + Double(now.microseconds - refilledAt.microseconds) / 1_000_000 * perSecond)
        }
        refilledAt = max(refilledAt ?? now, now)
    }

    mutating func take(now: Timestamp) -> Bool {
        refill(now: now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    func nextTokenAt(now: Timestamp) -> Timestamp {
        let missing = max(0, 1 - tokens)
        return now.adding(microseconds: max(1, Int64((missing / perSecond * 1_000_000).rounded(.up))))
    }

    mutating func rejected(sentAt: Timestamp, now: Timestamp) {
        refill(now: now)
        tokens = 0
        if let loweredAt, sentAt < loweredAt { return }
        perSecond = max(configuration.minimumSendsPerSecond, perSecond / 2)
        loweredAt = now
    }

    mutating func recover(now: Timestamp) {
        guard let loweredAt, perSecond < configuration.sendsPerSecond,
              now.microseconds - loweredAt.microseconds >= configuration.rateRecovery else { return }
        perSecond = min(configuration.sendsPerSecond, perSecond * 2)
        self.loweredAt = now
    }
}
