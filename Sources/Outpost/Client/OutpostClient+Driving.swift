import OutpostStore
import OutpostSync

/// How the actor drives the sans-IO sessions: it hands each event to the server's
/// ``ServerSession`` with the clock's `now`, then carries out the effects in order with real
/// sockets, timers and the server's partition.
extension OutpostClient {
    func deliver(_ event: SessionEvent, to id: ServerID) {
        guard drivers[id] != nil else { return }
        let now = configuration.clock.now()
        guard let effects = drivers[id]?.session.handle(event, now: now) else { return }
        execute(effects, for: id, now: now)
    }

    private func execute(_ effects: [SessionEffect], for id: ServerID, now: Timestamp) {
        var pendingWrites: [PersistOperation] = []
        for (position, effect) in effects.enumerated() {
            guard drivers[id] != nil else { return }  // removed half way
            if case .persist(let operation) = effect {
                // Consecutive writes of one event are committed together, and before anything
                // after them (an acknowledgement) leaves: store, then acknowledge.
                pendingWrites.append(operation)
                if position + 1 < effects.count, case .persist = effects[position + 1] { continue }
                let writes = pendingWrites
                pendingWrites.removeAll()
                do {
                    try drivers[id]?.partition.apply(writes, now: now)
                } catch {
                    storageFailed(id, error)
                    return
                }
                continue
            }
            switch effect {
            case .openTransport(let connection):
                openTransport(connection, for: id)
            case .closeTransport(let connection, let code):
                // The session is done with this connection: its end is no news to it any more.
                let task = drivers[id]?.connectionTasks.removeValue(forKey: connection)
                if let open = drivers[id]?.openConnections.removeValue(forKey: connection) {
                    open.close(code: code)  // the task ends once the close frame is out
                } else {
                    task?.cancel()  // still connecting
                }
            case .send(let connection, let bytes):
                drivers[id]?.openConnections[connection]?.send(bytes)
            case .setTimer(let timer, let at):
                arm(timer, at: at, for: id)
            case .cancelTimer(let timer):
                drivers[id]?.timers.removeValue(forKey: timer)?.task.cancel()
            case .persist:
                break  // handled above
            case .notify(let notification):
                notify(notification, from: id)
            }
        }
    }

    // MARK: Transport

    private func openTransport(_ connection: ConnectionID, for id: ServerID) {
        guard let driver = drivers[id] else { return }
        let transport = configuration.transport
        let url = driver.document.websocketURL
        let task = Task { [weak self] in
            let opened: any WebSocketConnection
            do {
                opened = try await transport.connect(to: url)
            } catch {
                await self?.transportClosed(connection, code: nil, for: id)
                return
            }
            guard let self, await self.transportOpened(opened, as: connection, for: id) else {
                opened.close(code: 1000)
                return
            }
            let code = await opened.run { [weak self] bytes in
                await self?.received(bytes, on: connection, for: id)
            }
            await self.transportClosed(connection, code: code, for: id)
        }
        drivers[id]?.connectionTasks[connection] = task
    }

    /// Returns `false` when the session gave up on this connection while it was opening.
    private func transportOpened(_ opened: any WebSocketConnection, as connection: ConnectionID, for id: ServerID) -> Bool {
        guard drivers[id]?.connectionTasks[connection] != nil else { return false }
        drivers[id]?.openConnections[connection] = opened
        deliver(.transportOpened(connection), to: id)
        return true
    }

    private func received(_ bytes: [UInt8], on connection: ConnectionID, for id: ServerID) {
        guard drivers[id]?.openConnections[connection] != nil else { return }
        deliver(.received(connection, bytes), to: id)
    }

    private func transportClosed(_ connection: ConnectionID, code: UInt16?, for id: ServerID) {
        // Only a connection the session still owns is news to it.
        guard drivers[id]?.connectionTasks.removeValue(forKey: connection) != nil else { return }
        drivers[id]?.openConnections.removeValue(forKey: connection)
        deliver(.transportClosed(connection, code: code), to: id)
    }

    // MARK: Timers

    private func arm(_ timer: SessionTimer, at deadline: Timestamp, for id: ServerID) {
        drivers[id]?.timers.removeValue(forKey: timer)?.task.cancel()
        timerGeneration += 1
        let generation = timerGeneration
        let clock = configuration.clock
        let task = Task { [weak self] in
            do { try await clock.sleep(until: deadline) } catch { return }
            await self?.timerFired(timer, generation: generation, for: id)
        }
        drivers[id]?.timers[timer] = (generation, task)
    }

    private func timerFired(_ timer: SessionTimer, generation: UInt64, for id: ServerID) {
        guard drivers[id]?.timers[timer]?.generation == generation else { return }
        drivers[id]?.timers.removeValue(forKey: timer)
        deliver(.timerFired(timer), to: id)
    }

    // MARK: Notifications

    private func notify(_ notification: SessionNotification, from id: ServerID) {
        let kind: OutpostEvent.Kind
        switch notification {
        case .connectionStateChanged(let state): kind = .connectionStateChanged(state)
        case .authFailed(let reason): kind = .authFailed(reason: reason)
        case .outboxItemSent(let clientMessageID, let messageID):
            kind = .outboxItemSent(clientMessageID: clientMessageID, messageID: messageID)
        case .outboxItemFailed(let clientMessageID, let failure):
            kind = .outboxItemFailed(clientMessageID: clientMessageID, failure: failure)
        case .outboxItemExpired(let clientMessageID): kind = .outboxItemExpired(clientMessageID: clientMessageID)
        case .messagesStored(let ids):
            kind = .messagesStored(ids)
            scheduleListRefresh()
        case .delivered(let messageID, let to): kind = .delivered(messageID: messageID, to: to)
        case .presence(let userID, let status): kind = .presence(userID: userID, status: status)
        case .gapOpened(let gap): kind = .gapOpened(id: gap)
        case .gapFilled(let gap): kind = .gapFilled(id: gap)
        case .caughtUp: kind = .caughtUp
        case .frame(let type, let requestID, let payload): kind = .frame(type: type, requestID: requestID, payload: payload)
        case .readyForRemoval:
            return  // `removeServer` destroys the partition next, and reports any failure
        }
        eventBroadcaster.publish(OutpostEvent(server: id, kind: kind))
    }

    /// Destroys a removed server's partition once its session has let go of everything.
    func finishRemoval(_ id: ServerID) throws(OutpostError) {
        guard var driver = drivers.removeValue(forKey: id) else { return }
        driver.tearDown(closeCode: 1000)
        do {
            try store.removeServer(id)
        } catch {
            throw .storage(error)
        }
        eventBroadcaster.publish(OutpostEvent(server: id, kind: .connectionStateChanged(.disconnected)))
        eventBroadcaster.publish(OutpostEvent(server: id, kind: .serverRemoved))
        scheduleListRefresh()
    }

    /// A write failed: nothing after it may happen (no acknowledgement of what was not stored),
    /// so the server's connections close and the session reconnects and fetches again.
    private func storageFailed(_ id: ServerID, _ error: StoreError) {
        eventBroadcaster.publish(OutpostEvent(server: id, kind: .storageFailed("\(error)")))
        guard let connections = drivers[id]?.openConnections.keys.sorted() else { return }
        for connection in connections {
            drivers[id]?.openConnections[connection]?.close(code: 1011)
        }
    }

    // MARK: The live conversation list

    /// Recomputes the live conversation lists once for a burst of changes.
    func scheduleListRefresh() {
        guard !listSubscribers.isEmpty, !listRefreshScheduled else { return }
        listRefreshScheduled = true
        Task { [weak self] in await self?.refreshLists() }
    }

    private func refreshLists() {
        listRefreshScheduled = false
        guard !closed else { return }
        for key in listSubscribers.keys.sorted() {
            guard let subscriber = listSubscribers[key],
                  let list = try? store.unifiedConversations(limit: subscriber.limit, servers: subscriber.servers) else { continue }
            subscriber.continuation.yield(list)
        }
    }
}

extension ConversationPage {
    /// Puts each open gap after the last message at or before the point it is filled up to.
    static func merging(_ messages: [Message], gaps: [GapRecord], before: MessagePosition?, isFull: Bool) -> ConversationPage {
        let start = isFull ? messages.first?.position : nil
        let end = before
        let visible = gaps.filter { gap in
            let hole = gap.filledUpTo.position
            if let start, hole < start { return gap.before.map { $0.position > start } ?? true }
            if let end, hole >= end { return false }
            return true
        }.sorted { ($0.filledUpTo.position, $0.id) < ($1.filledUpTo.position, $1.id) }
        var items: [Item] = []
        var remaining = visible[...]
        for message in messages {
            while let gap = remaining.first, gap.filledUpTo.position < message.position {
                items.append(.gap(gap))
                remaining.removeFirst()
            }
            items.append(.message(message))
        }
        items += remaining.map(Item.gap)
        return ConversationPage(items: items, previousPageBefore: isFull ? messages.first?.position : nil)
    }
}
