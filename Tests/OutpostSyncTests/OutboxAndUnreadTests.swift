@testable import OutpostClientCore
import OutpostSimulation
import OutpostStore
import OutpostWire
import Testing
@testable import OutpostSync

/// The outbox's commands go through the session, its only authority.
@Suite("Outbox commands")
struct OutboxCommandTests {
    /// Before, `cancel` was allowed for an item sent once whose echo was lost: the message may
    /// be on the server, and cancelling it hid a delivered message (`edit` already refused).
    @Test func anItemSentOnceCannotBeCancelledOrEdited() throws {
        let harness = try SessionHarness(behaviour: .extended)
        harness.connect()
        harness.dropFromServer = { envelope in
            if case .messageReceive = envelope.frame, !envelope.requestID.isEmpty { return true }
            return false
        }
        try harness.enqueue("maybe delivered")
        harness.dropFromServer = nil
        harness.dropConnection()
        let item = try #require(try harness.partition.outboxItem("cm-maybe delivered"))
        #expect(item.state == .queued && item.attempts == 1)
        let cancel = harness.core.cancel(item.clientMessageID, now: harness.now)
        #expect(throws: OutpostError.self) { try cancel.result.get() }
        #expect((try? cancel.result.get()) == nil)
        if case .failure(let error) = cancel.result { #expect(error.code == .outboxItemNotChangeable) }
        let edit = harness.core.edit(item.clientMessageID, payload: [1], now: harness.now)
        if case .failure(let error) = edit.result { #expect(error.code == .outboxItemNotChangeable) } else { Issue.record("edited") }
        #expect(try harness.partition.outboxItem(item.clientMessageID)?.state == .queued, "nothing was written")
        // It goes out again with its id; the server keeps one copy.
        harness.advance(by: 2_000_000)
        #expect(try harness.partition.outboxItem(item.clientMessageID)?.state == .sent)
        #expect(harness.server.storedCount(clientMessageID: item.clientMessageID, from: "me") == 1)
    }

    /// What was never on the wire can be edited and cancelled; a failed item can be cancelled.
    @Test func anItemNeverSentCanBeEditedAndCancelled() throws {
        let harness = try SessionHarness(behaviour: .extended)
        try harness.enqueue("draft")
        let edited = harness.core.edit("cm-draft", payload: Array("better".utf8), now: harness.now)
        #expect(try edited.result.get().payload == Array("better".utf8))
        #expect(try harness.partition.outboxItem("cm-draft")?.payload == Array("better".utf8))
        let cancelled = harness.core.cancel("cm-draft", now: harness.now)
        #expect(try cancelled.result.get().state == .cancelled)
        harness.connect()
        #expect(harness.server.messages.isEmpty)
        #expect(harness.session.pendingOutboxCount == 0)
    }

    /// Before, every 3004 paused the outbox a fixed second: sustained sending reached 11 to 12
    /// messages a second against a 30-a-second limit. Now the outbox paces itself at the
    /// protocol's rate and a conforming server never has to refuse a send.
    @Test func sustainedSendingKeepsUpWithThirtyASecond() throws {
        var configuration = ServerSession.Configuration()
        configuration.maxSendsInFlight = 8
        let harness = try SessionHarness(behaviour: .extended, peers: ["alice"], configuration: configuration)
        let conversations = (0..<8).map { "c\($0)" }
        for conversation in conversations { harness.server.createConversation(conversation, title: "", members: ["me", "alice"]) }
        harness.connect()
        for number in 0..<300 {
            let outcome = harness.core.send([UInt8(number & 0xFF)], to: conversations[number % 8], clientMessageID: "m\(number)",
                                            now: harness.now)
            harness.perform(outcome.outputs)
        }
        harness.pump()
        let start = harness.now
        var elapsed: Int64 = 0
        while try harness.partition.outbox(states: [.sent]).count < 300, elapsed < 60_000_000 {
            harness.advance(by: 100_000)
            elapsed = harness.now.microseconds - start.microseconds
        }
        let refusals = harness.events.count { if case .outboxItemFailed = $0 { true } else { false } }
        #expect(refusals == 0)
        let rate = 300 / (Double(elapsed) / 1_000_000)
        #expect(rate >= 25, "\(rate) messages a second")
        #expect(harness.server.messages.count == 300, "each stored once")
    }

    /// A server stricter than the protocol: the outbox slows down to what it accepts and still
    /// delivers everything, each once.
    @Test func aStricterServerSlowsTheOutboxDown() throws {
        let harness = try SessionHarness(behaviour: .extended)
        harness.server.setRateLimit(perSecond: 1, burst: 1)
        harness.connect()
        for number in 0..<20 { try harness.enqueue("r\(number)") }
        harness.advance(by: 60_000_000)
        #expect(try harness.partition.outbox(states: [.sent]).count == 20)
        #expect(harness.server.messages.count == 20)
    }
}

/// Unread counts what arrived since the conversation was read, wherever its server's clock put
/// it.
@Suite("Unread counts")
struct UnreadTests {
    /// Before, unread meant "positioned after the read marker": after a server's clock stepped
    /// back, twenty new messages left the count at zero and the user was never told.
    @Test(arguments: [ServerBehaviour.legacy, .extended])
    func messagesStampedBehindTheReadMarkerAreUnread(behaviour: ServerBehaviour) throws {
        let harness = try SessionHarness(behaviour: behaviour)
        harness.connect()
        harness.peerPosts(3)
        harness.perform(harness.core.markRead(SessionHarness.conversation, upTo: nil, now: harness.now).outputs)
        #expect(try harness.partition.conversation(SessionHarness.conversation)?.unreadCount == 0)
        harness.server.stepClock(by: -3_600_000_000)  // an hour back
        harness.peerPosts(20)
        #expect(try harness.partition.conversation(SessionHarness.conversation)?.unreadCount == 20)
        harness.perform(harness.core.markRead(SessionHarness.conversation, upTo: nil, now: harness.now).outputs)
        #expect(try harness.partition.conversation(SessionHarness.conversation)?.unreadCount == 0)
    }
}

/// What a sent message costs the partition: one transaction to queue it and put it on the wire,
/// one to store its echo and mark it sent (the client before the core took five).
@Suite("Transactions per input")
struct TransactionCountTests {
    @Test func aSentMessageCostsTwoTransactions() throws {
        let harness = try SessionHarness(behaviour: .extended)
        harness.connect()
        try harness.enqueue("warm-up")
        let before = harness.store.transactionCount
        for number in 0..<50 {
            harness.now = harness.now.adding(microseconds: 100_000)  // the user types, one message at a time
            try harness.enqueue("m\(number)")
        }
        #expect(try harness.partition.outbox(states: [.sent]).count == 51)
        #expect(harness.store.transactionCount - before == 100)
    }
}
