import OutpostStore

/// The in-memory side of one server's durable outbox: which items go on the wire, in what
/// order, and what happens to them.
///
/// - FIFO per conversation: at most one item of a conversation is in flight, and an item is
///   never sent before an earlier one of its conversation is settled.
/// - Several conversations are in flight at once (up to ``Configuration/maxInFlight``).
/// - An item keeps its client message id on every attempt; an expired item is never sent.
struct OutboxDrain {
    struct Configuration: Hashable, Sendable {
        var maxInFlight = 8
        var requestTimeout: Int64 = Micros.seconds(30)
        var rateLimitPause: Int64 = Micros.seconds(1)
        var transientErrorPause: Int64 = Micros.seconds(5)
    }

    enum Action: Hashable, Sendable {
        /// Persist the attempt, then put the item on the wire under `requestID`.
        case send(OutboxItem, requestID: String)
        case persist(PersistOperation)
        case setTimer(SessionTimer, at: Timestamp)
        case cancelTimer(SessionTimer)
        case notify(SessionNotification)
    }

    let configuration: Configuration
    /// Queued and in-flight items in FIFO order.
    private(set) var pending: [OutboxItem]
    /// Request id → client message id of each item in flight.
    private var inFlight: [String: String] = [:]
    private var pausedUntil: Timestamp?

    init(configuration: Configuration = Configuration(), pending: [OutboxItem]) {
        self.configuration = configuration
        // After a relaunch nothing is in flight any more: every pending item is simply queued.
        self.pending = pending.filter { $0.state == .queued || $0.state == .inFlight }
            .map { var item = $0; item.state = .queued; return item }
            .sorted { $0.queuePosition < $1.queuePosition }
    }

    var inFlightCount: Int { inFlight.count }

    func clientMessageID(forRequest requestID: String) -> String? { inFlight[requestID] }

    // MARK: Events

    mutating func enqueued(_ item: OutboxItem, now: Timestamp) -> [Action] {
        guard item.state == .queued, !pending.contains(where: { $0.clientMessageID == item.clientMessageID }) else { return [] }
        pending.append(item)
        pending.sort { $0.queuePosition < $1.queuePosition }
        return expiryTimer()
    }

    /// The front end changed an item through the store (retry, cancel, edit).
    mutating func itemUpdated(_ item: OutboxItem, now: Timestamp) -> [Action] {
        if let index = pending.firstIndex(where: { $0.clientMessageID == item.clientMessageID }) {
            // An item on the wire stays as it is: the store refuses to cancel or edit it.
            guard pending[index].state != .inFlight else { return [] }
            if item.state == .queued { pending[index] = item } else { pending.remove(at: index) }
        } else if item.state == .queued {
            pending.append(item)
            pending.sort { $0.queuePosition < $1.queuePosition }
        }
        return expiryTimer()
    }

    /// Puts every item that may go now on the wire. `nextRequestID` numbers the requests.
    mutating func drain(now: Timestamp, nextRequestID: () -> String) -> [Action] {
        var actions = expire(now: now)
        if let pausedUntil, now < pausedUntil { return actions }
        pausedUntil = nil
        var busyConversations = Set(pending.filter { $0.state == .inFlight }.map(\.conversationID))
        for index in pending.indices where inFlight.count < configuration.maxInFlight {
            let item = pending[index]
            guard item.state == .queued, !busyConversations.contains(item.conversationID) else {
                busyConversations.insert(item.conversationID)
                continue
            }
            let requestID = nextRequestID()
            pending[index].state = .inFlight
            pending[index].attempts += 1
            pending[index].lastRequestID = requestID
            inFlight[requestID] = item.clientMessageID
            busyConversations.insert(item.conversationID)
            actions += [.send(pending[index], requestID: requestID),
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
        if let requestID, !requestID.isEmpty, let id = inFlight[requestID] {
            matchedID = id
        } else if let clientMessageID, !clientMessageID.isEmpty,
                  pending.contains(where: { $0.clientMessageID == clientMessageID }) {
            matchedID = clientMessageID
        } else {
            matchedID = nil
        }
        guard let matchedID, let index = pending.firstIndex(where: { $0.clientMessageID == matchedID }) else { return nil }
        let item = pending.remove(at: index)
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
        guard let clientMessageID = inFlight.removeValue(forKey: requestID),
              let index = pending.firstIndex(where: { $0.clientMessageID == clientMessageID })
        else { return nil }
        var actions: [Action] = [.cancelTimer(.request(requestID))]
        switch SendErrorDisposition.classify(code) {
        case .rateLimited:
            pending[index].state = .queued
            actions += [.persist(.returnToQueue(clientMessageID: clientMessageID))] + pause(configuration.rateLimitPause, now: now)
        case .transient:
            pending[index].state = .queued
            actions += [.persist(.returnToQueue(clientMessageID: clientMessageID))] + pause(configuration.transientErrorPause, now: now)
        case .permanent(let notAMember):
            let item = pending.remove(at: index)
            let reason = message.isEmpty ? "server error \(code)" : message
            actions.append(.persist(.markFailed(clientMessageID: clientMessageID, code: code, reason: reason)))
            if notAMember { actions.append(.persist(.markNotMember(conversationID: item.conversationID))) }
            actions.append(.notify(.outboxItemFailed(clientMessageID: clientMessageID,
                                                     failure: OutboxFailure(code: code, reason: reason))))
        }
        return actions
    }

    /// The connection is gone: every item in flight goes back to the queue, id unchanged.
    mutating func connectionLost() -> [Action] {
        var actions: [Action] = []
        for (requestID, clientMessageID) in inFlight.sorted(by: { $0.key < $1.key }) {
            actions.append(.cancelTimer(.request(requestID)))
            if let index = pending.firstIndex(where: { $0.clientMessageID == clientMessageID }) {
                pending[index].state = .queued
                actions.append(.persist(.returnToQueue(clientMessageID: clientMessageID)))
            }
        }
        inFlight.removeAll()
        return actions
    }

    mutating func pauseEnded() {
        pausedUntil = nil
    }

    /// Queued items whose lifespan ran out leave the queue as expired: never sent silently.
    mutating func expire(now: Timestamp) -> [Action] {
        let due = pending.filter { $0.state == .queued && $0.expiresAt <= now }
        guard !due.isEmpty else { return [] }
        pending.removeAll { $0.state == .queued && $0.expiresAt <= now }
        return [.persist(.expireOutbox)] + due.map { .notify(.outboxItemExpired(clientMessageID: $0.clientMessageID)) } + expiryTimer()
    }

    // MARK: Helpers

    private mutating func pause(_ duration: Int64, now: Timestamp) -> [Action] {
        let until = now.adding(duration)
        pausedUntil = max(pausedUntil ?? until, until)
        return [.setTimer(.sendPause, at: pausedUntil!)]
    }

    private func expiryTimer() -> [Action] {
        guard let earliest = pending.filter({ $0.state == .queued }).map(\.expiresAt).min() else {
            return [.cancelTimer(.outboxExpiry)]
        }
        return [.setTimer(.outboxExpiry, at: earliest)]
    }
}
