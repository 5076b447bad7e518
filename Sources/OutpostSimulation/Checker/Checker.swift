import OutpostStore
import OutpostSync

/// Checks a finished run, in the manner of Jepsen's queue checker, per server and conversation:
/// nothing lost, nothing duplicated, nothing unseen, display order right, the outbox drained
/// (each item stored exactly once on an idempotent server), every gap filled, no row in the
/// wrong partition, no file left by a removed server, and every session converged after the
/// faults healed.
///
/// A legacy server loses messages by design (a push it dropped is never sent again; PROTOCOL.md
/// §9 "Pending"): those count against the server, not the client, and are reported apart.
struct Checker {
    let simulation: Simulation
    /// Messages legacy servers lost (counted against the server).
    private(set) var serverLosses = 0

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
        let prefix = "server \(slot.index) (\(slot.server.configuration.behaviour.rawValue))"
        guard let id = slot.serverID else { return ["\(prefix): never added"] }
        if slot.removalRequested {
            var violations: [String] = []
            if !slot.removed { violations.append("\(prefix): removal did not complete") }
            if FileSystemProbe.exists(simulation.dataDirectory + "/servers/" + id.hex) {
                violations.append("\(prefix): removed server left files")
            }
            if process.store.servers().contains(where: { $0.id == id }) { violations.append("\(prefix): removed server still listed") }
            return violations
        }
        guard let partition = process.partitions[slot.index], let session = process.sessions[slot.index] else {
            return ["\(prefix): no session at the end"]
        }
        var violations: [String] = []
        let extended = slot.server.configuration.behaviour == .extended
        // Liveness.
        if session.connectionState != .connected { violations.append("\(prefix): \(session.connectionState) at the end, not Connected") }
        if !session.isCaughtUp { violations.append("\(prefix): not caught up at the end") }
        do {
            // Outbox: drained, and each item stored exactly once (idempotent) or at least once (legacy).
            let outbox = try partition.outbox()
            for item in outbox where item.state != .sent {
                violations.append("\(prefix): outbox item \(item.clientMessageID) is \(item.state.rawValue), not sent (unseen)")
            }
            for item in outbox where item.state == .sent {
                let stored = slot.server.messages.filter { $0.senderID == Simulation.userID && $0.payload == item.payload }.count
                if stored == 0 { violations.append("\(prefix): \(item.clientMessageID) marked sent but the server never stored it") }
                if extended && stored > 1 { violations.append("\(prefix): \(item.clientMessageID) stored \(stored) times on an idempotent server") }
            }
            for queued in simulation.userMessages where queued.server == slot.index {
                if !outbox.contains(where: { $0.clientMessageID == queued.clientMessageID }) {
                    violations.append("\(prefix): queued message \(queued.clientMessageID) is missing from the outbox (lost)")
                }
            }
            // Inbound: every message owed is stored, once, in order, in this partition only.
            let dropped = Set(slot.server.droppedPushes.filter { $0.userID == Simulation.userID }.map(\.messageID))
            var stored: [String: Message] = [:]
            for conversation in try partition.conversations() {
                let messages = try partition.messages(in: conversation.conversationID, limit: Int(Int32.max))
                for (earlier, later) in zip(messages, messages.dropFirst()) where !(earlier.position < later.position) {
                    violations.append("\(prefix): \(conversation.conversationID) shows \(earlier.messageID) before \(later.messageID) (wrong order)")
                }
                var contents = Set<[UInt8]>()
                for message in messages {
                    stored[message.messageID] = message
                    if !contents.insert(Array(message.senderID.utf8) + [0] + message.payload).inserted {
                        violations.append("\(prefix): \(message.messageID) duplicates an earlier message's content")
                    }
                    guard let original = slot.server.message(message.messageID) else {
                        violations.append("\(prefix): \(message.messageID) is not a message of this server (wrong partition)")
                        continue
                    }
                    if original.payload != message.payload || original.conversationID != message.conversationID {
                        violations.append("\(prefix): \(message.messageID) differs from what the server stored")
                    }
                }
            }
            var legacyLosses = 0
            for owed in slot.server.messagesOwed(to: Simulation.userID) where owed.senderID != Simulation.userID {
                guard stored[owed.messageID] == nil else { continue }
                if !extended || dropped.contains(owed.messageID) {
                    legacyLosses += 1  // lost by the legacy server, not by the client
                } else {
                    violations.append("\(prefix): message \(owed.messageID) in \(owed.conversationID) was lost")
                }
            }
            serverLosses += legacyLosses
            // Gaps.
            if extended {
                let open = try partition.openGaps()
                if !open.isEmpty { violations.append("\(prefix): \(open.count) gap(s) left unfilled") }
                let owedCount = UInt64(slot.server.messagesOwed(to: Simulation.userID).count)
                let cursor = try partition.syncCursor()
                if cursor.sequence != owedCount {
                    violations.append("\(prefix): cursor at sequence \(cursor.sequence), the server is at \(owedCount)")
                }
            }
        } catch {
            violations.append("\(prefix): reading the partition failed: \(error)")
        }
        return violations
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
