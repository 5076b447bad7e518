import OutpostClientCore
import OutpostStore
import OutpostSync

/// Checks a finished run, in the manner of Jepsen's queue checker, per server and conversation:
/// nothing lost, nothing duplicated, nothing unseen, display order right, the outbox drained
/// (each item stored exactly once on an idempotent server), every gap filled, no row in the
/// wrong partition, no file left by a removed server, every session converged after the faults
/// healed; and what the front end was told: each message reported stored once, unread counts
/// that count every message that arrived after the last read, no storm of logins the server
/// ended at once.
///
/// A server without `history` loses messages by design: its "pending" ends when a push is
/// queued (PROTOCOL.md §9), so a message is lost for good when the server drops the push from a
/// full send buffer, when the push goes to another of the user's devices, when it is lost in
/// transit with a dying connection, when the client process that received it is killed before
/// committing it or cannot commit it (a failed write), or, on upstream, when the user's
/// connection is deaf. Those count against the server, exactly, as do messages that went with
/// a partition the user removed (a server without history cannot send them again); every other
/// loss is the client's.
struct Checker {
    let simulation: Simulation
    /// Messages servers without `history` lost (counted against the server).
    private(set) var serverLosses = 0
    /// Outbox items whose lifespan ran out before they were sent (never on the server).
    private(set) var expiredUnsent = 0

    /// A login that ends sooner than this after authenticating (µs) was refused in effect.
    static let shortLogin = Micros.seconds(10)
    /// More short logins than this in any ``stormWindow`` is a reconnect storm.
    static let stormLimit = 40
    static let stormWindow = Micros.seconds(300)

    mutating func check() -> [String] {
        var violations = simulation.storageErrors
        guard let process = simulation.client else {
            return violations + ["the client is not running at the end"]
        }
        for slot in simulation.slots {
            violations += check(slot, process)
        }
        return violations
    }

    private mutating func check(_ slot: Simulation.ServerSlot, _ process: Simulation.ClientProcess) -> [String] {
        let prefix = "server \(slot.index) (\(slot.server.configuration.behaviourName))"
        guard let id = slot.serverID else { return ["\(prefix): never added"] }
        var violations = reports(slot, prefix: prefix)
        if slot.removalRequested {
            if !slot.removed { violations.append("\(prefix): removal did not complete") }
            if FileSystemProbe.exists(simulation.dataDirectory + "/servers/" + id.hex) {
                violations.append("\(prefix): removed server left files")
            }
            if process.core.store.servers().contains(where: { $0.id == id }) { violations.append("\(prefix): removed server still listed") }
            return violations
        }
        guard let core = process.servers[slot.index], let partition = try? process.core.store.partition(for: id) else {
            return violations + ["\(prefix): no session at the end"]
        }
        let extensions = slot.extensions
        let history = extensions.contains(.history)
        if isDeafByOwnClose(slot) {
            violations.append("\(prefix): a close of the client's own, arriving after its newer login, left it deaf at the end")
        }
        // Liveness.
        if core.status.connectionState != .connected { violations.append("\(prefix): \(core.status.connectionState) at the end, not Connected") }
        if !core.status.isCaughtUp { violations.append("\(prefix): not caught up at the end") }
        do {
            // Outbox: drained, and each item stored exactly once (idempotent) or at least once.
            let outbox = try partition.outbox()
            for item in outbox where item.state != .sent {
                let stored = slot.server.messages.contains { $0.senderID == Simulation.userID && $0.payload == item.payload }
                switch item.state {
                case .expired where !stored:
                    // Its lifespan ran out before it could be sent, and the user was told: the
                    // promise of a lifespan, not a loss.
                    expiredUnsent += 1
                case .cancelled where !stored:
                    continue
                case .expired where !(history && extensions.contains(.idempotentSend)):
                    // Its answer was lost, and only a server that keeps client message ids and
                    // has a history can show the client that it stored it after all. Elsewhere
                    // the protocol leaves it ambiguous, and the user was told it expired.
                    expiredUnsent += 1
                case .expired, .cancelled:
                    violations.append("\(prefix): outbox item \(item.clientMessageID) is shown \(item.state.rawValue), but the server stored it (it was sent)")
                default:
                    violations.append("\(prefix): outbox item \(item.clientMessageID) is \(item.state.rawValue), not sent (unseen)")
                }
            }
            for item in outbox where item.state == .sent {
                let stored = slot.server.messages.filter { $0.senderID == Simulation.userID && $0.payload == item.payload }.count
                if stored == 0 { violations.append("\(prefix): \(item.clientMessageID) marked sent but the server never stored it") }
                if extensions.contains(.idempotentSend) && stored > 1 {
                    violations.append("\(prefix): \(item.clientMessageID) stored \(stored) times on an idempotent server")
                }
            }
            for queued in slot.queued where !outbox.contains(where: { $0.clientMessageID == queued.clientMessageID }) {
                violations.append("\(prefix): queued message \(queued.clientMessageID) is missing from the outbox (lost)")
            }
            violations += outboundOrderViolations(slot, outbox: outbox, prefix: prefix)
            // Inbound: every message owed is stored, once, in order, in this partition only.
            var stored: [String: Message] = [:]
            var contents = Set<[UInt8]>()
            for conversation in try partition.conversations() {
                let messages = try partition.messages(in: conversation.conversationID, limit: Int(Int32.max))
                for message in messages {
                    stored[message.messageID] = message
                    if !contents.insert(Self.contentKey(message.conversationID, message.senderID, message.payload)).inserted {
                        violations.append("\(prefix): \(message.messageID) duplicates an earlier message's content")
                    }
                    guard let original = slot.server.message(message.messageID) else {
                        violations.append("\(prefix): \(message.messageID) is not a message of this server (wrong partition)")
                        continue
                    }
                    if original.payload != message.payload || original.conversationID != message.conversationID {
                        violations.append("\(prefix): \(message.messageID) differs from what the server stored")
                    }
                    // The display order is the server's (timestamp, message id) order: a message
                    // stored under another time than the server's is shown in the wrong place.
                    if message.serverTimestamp.microseconds != original.serverTimestamp {
                        violations.append("\(prefix): \(message.messageID) is shown at \(message.serverTimestamp.microseconds), the server stamped it \(original.serverTimestamp) (wrong order)")
                    }
                    if original.isPoison { violations.append("\(prefix): \(message.messageID) is undecodable but was stored") }
                }
            }
            var losses = 0
            for owed in slot.server.messagesOwed(to: Simulation.userID) where !owed.isPoison {
                guard stored[owed.messageID] == nil else { continue }
                // A second copy of one send (a retry a server without idempotency stored again)
                // is shown once, under the first copy's id.
                if contents.contains(Self.contentKey(owed.conversationID, owed.senderID, owed.payload)) { continue }
                if history {
                    violations.append("\(prefix): message \(owed.messageID) in \(owed.conversationID) was lost")
                } else if isLostByServer(owed, slot) {
                    losses += 1
                } else if slot.server.isPending(owed.messageID, for: Simulation.userID) {
                    violations.append("\(prefix): message \(owed.messageID) in \(owed.conversationID) is still pending: the client's own late close left it deaf")
                } else {
                    violations.append("\(prefix): message \(owed.messageID) in \(owed.conversationID) reached the client and was lost")
                }
            }
            serverLosses += losses
            // Gaps and the cursor.
            if history {
                let open = try partition.openGaps()
                if !open.isEmpty { violations.append("\(prefix): \(open.count) gap(s) left unfilled") }
                if extensions.contains(.sequence) {
                    let owedCount = UInt64(slot.server.messagesOwed(to: Simulation.userID).count)
                    let cursor = try partition.syncCursor()
                    if cursor.sequence != owedCount {
                        violations.append("\(prefix): cursor at sequence \(cursor.sequence), the server is at \(owedCount)")
                    }
                }
            }
            // Unread: every message from someone else that arrived after the conversation was
            // last read.
            for conversation in slot.conversations {
                let arrivals = slot.observed.arrivals.dropFirst(slot.observed.readAt[conversation] ?? 0)
                let expected = arrivals.filter { id in
                    guard let message = slot.server.message(id) else { return false }
                    return message.conversationID == conversation && message.senderID != Simulation.userID
                }.count
                let shown = try partition.conversation(conversation)?.unreadCount ?? 0
                if shown != expected {
                    violations.append("\(prefix): \(conversation) shows \(shown) unread, but \(expected) arrived since it was read")
                }
            }
        } catch {
            violations.append("\(prefix): reading the partition failed: \(error)")
        }
        return violations
    }

    /// Per conversation, the server stored the user's messages in the order the user wrote
    /// them (the outbox is FIFO per conversation; a retried copy counts where it first landed).
    private func outboundOrderViolations(_ slot: Simulation.ServerSlot, outbox: [OutboxItem], prefix: String) -> [String] {
        let conversationOf = Dictionary(outbox.map { ($0.clientMessageID, $0.conversationID) }, uniquingKeysWith: { first, _ in first })
        var written: [String: [[UInt8]]] = [:]
        for queued in slot.queued {
            guard let conversation = conversationOf[queued.clientMessageID] else { continue }
            written[conversation, default: []].append(queued.payload)
        }
        var violations: [String] = []
        for conversation in written.keys.sorted() {
            let mine = Set(written[conversation]!)
            var stored: [[UInt8]] = []
            var seen = Set<[UInt8]>()
            for message in slot.server.messages where message.conversationID == conversation && message.senderID == Simulation.userID
                && mine.contains(message.payload) && seen.insert(message.payload).inserted {
                stored.append(message.payload)
            }
            let expected = written[conversation]!.filter { seen.contains($0) }
            if let index = zip(expected, stored).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                let text = { (payload: [UInt8]) in String(decoding: payload, as: UTF8.self) }
                violations.append("\(prefix): in \(conversation) the server stored \(text(stored[index])) where the user wrote \(text(expected[index])) (outbound order)")
            }
        }
        return violations
    }

    /// What the front end was told about the server, whether or not it is still there.
    private func reports(_ slot: Simulation.ServerSlot, prefix: String) -> [String] {
        var violations: [String] = []
        for (id, count) in slot.observed.stored.sorted(by: { $0.key < $1.key }) where count > 1 {
            violations.append("\(prefix): messagesStored named \(id) \(count) times")
        }
        // Notifications: each new message from someone else exactly once, never the user's own.
        for (id, count) in slot.observed.notified.sorted(by: { $0.key < $1.key }) {
            if count > 1 { violations.append("\(prefix): notified \(id) \(count) times") }
            if slot.server.message(id)?.senderID == Simulation.userID {
                violations.append("\(prefix): notified the user's own message \(id)")
            }
        }
        for id in slot.observed.arrivals where slot.observed.notified[id] == nil {
            if let message = slot.server.message(id), message.senderID != Simulation.userID {
                violations.append("\(prefix): \(id) was stored but never notified")
            }
        }
        let logins = slot.observed.shortLogins
        var start = logins.startIndex
        for end in logins.indices {
            while logins[end].microseconds - logins[start].microseconds > Self.stormWindow { start += 1 }
            if end - start + 1 > Self.stormLimit {
                violations.append("\(prefix): \(end - start + 1) logins ended within \(Self.shortLogin / 1_000_000) s of authenticating in \(Self.stormWindow / 1_000_000) s, from \(logins[start]) (a reconnect storm)")
                break
            }
        }
        if let first = slot.observed.needlessSignIns.first {
            violations.append("\(prefix): asked the user to sign in again at \(first.at) though the session was valid (\(first.reason))")
        }
        return violations
    }

    /// Whether the protocol of a server without history lost `message` for this client (the
    /// loss is the server's), rather than the client (a violation).
    private func isLostByServer(_ message: SimulatedServer.StoredMessage, _ slot: Simulation.ServerSlot) -> Bool {
        let me = Simulation.userID
        // The user removed the server after it arrived: it went with the partition.
        if slot.destroyedByRemoval.contains(message.messageID) { return true }
        // The user's own messages are never pending for them: only a live copy brings them.
        if message.senderID == me, slot.reached[message.messageID] == nil { return true }
        // Dropped from a full send buffer.
        if slot.server.droppedPushes.contains(where: { $0.userID == me && $0.messageID == message.messageID }) { return true }
        // Still pending at the end: the next login brings it, unless upstream left the user's
        // connection deaf (and not by a late close of the client's own).
        if slot.server.isPending(message.messageID, for: me) { return slot.server.isDeaf(me) && !isDeafByOwnClose(slot) }
        // Queued for a push that never reached a client process: lost in transit, or pushed to
        // another of the user's devices.
        guard let process = slot.reached[message.messageID] else { return true }
        // Received by a process that was killed before it could commit it, or whose commit failed.
        return process != simulation.incarnations || slot.failedCommits.contains(message.messageID)
    }

    /// Upstream: the running client's connection is deaf, silenced by its own late close.
    private func isDeafByOwnClose(_ slot: Simulation.ServerSlot) -> Bool {
        guard slot.server.isDeaf(Simulation.userID), let incarnation = simulation.client?.incarnation else { return false }
        return slot.openLinks.contains { $0.value.process == incarnation && slot.deafenedByOwnClose.contains($0.key) }
    }

    private static func contentKey(_ conversationID: String, _ senderID: String, _ payload: [UInt8]) -> [UInt8] {
        Array(conversationID.utf8) + [0] + Array(senderID.utf8) + [0] + payload
    }
}

enum FileSystemProbe {
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
