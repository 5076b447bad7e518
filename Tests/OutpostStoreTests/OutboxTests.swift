import Foundation
import Testing
@testable import OutpostStore

@Suite("Durable outbox")
struct OutboxTests {
    static func partition(_ scratch: ScratchDirectory, key: InMemoryKeyProvider = InMemoryKeyProvider()) throws -> (Store, Partition) {
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: key)
        return (store, try store.addServer(origin("family.example"), now: t0))
    }

    @Test func anEnqueuedMessageIsCommittedBeforeEnqueueReturns() throws {
        let scratch = ScratchDirectory()
        let key = InMemoryKeyProvider()
        let (store, partition) = try Self.partition(scratch, key: key)
        try partition.enqueue(conversationID: "c", messageType: "text", payload: [1, 2], clientMessageID: "A", now: t0)
        // Kill the process right after: the next write never happens, memory is lost.
        store.faultInjector = .crash(atWrite: 1)
        #expect(throws: StoreError.self) {
            try partition.enqueue(conversationID: "c", messageType: "text", payload: [3], clientMessageID: "B", now: t0)
        }
        let relaunched = try Store.open(at: scratch.dataDirectory, keyProvider: key)
        let items = try relaunched.partition(for: partition.id).outbox()
        #expect(items.map(\.clientMessageID) == ["A"])
        #expect(items.first?.payload == [1, 2])
        #expect(items.first?.state == .queued)
    }

    @Test func fifoOrderAndTheLifeOfAnItem() throws {
        let scratch = ScratchDirectory()
        let (_, partition) = try Self.partition(scratch)
        for id in ["A", "B", "C"] {
            try partition.enqueue(conversationID: "c", messageType: "text", payload: Array(id.utf8), clientMessageID: id, now: t0)
        }
        #expect(try partition.pendingOutbox().map(\.clientMessageID) == ["A", "B", "C"])
        try partition.markInFlight("A", requestID: "r1", now: t0)
        try partition.returnToQueue("A", now: t0)
        try partition.markInFlight("A", requestID: "r2", now: t0)
        let inFlight = try partition.outboxItem("A")!
        #expect(inFlight.state == .inFlight && inFlight.attempts == 2 && inFlight.lastRequestID == "r2")
        #expect(inFlight.clientMessageID == "A", "the id is fixed across retries")

        try partition.markSent("A", serverMessageID: "S1", serverTimestamp: .seconds(10), now: t0)
        try partition.markSent("A", serverMessageID: "S1", serverTimestamp: .seconds(10), now: t0)  // a repeated echo
        #expect(try partition.outboxItem("A")?.serverMessageID == "S1")

        try partition.markFailed("B", code: 3003, reason: "message too large", now: t0)
        let failed = try partition.outboxItem("B")!
        #expect(failed.state == .failed && failed.failure == OutboxFailure(code: 3003, reason: "message too large"))
        #expect(try partition.pendingOutbox().map(\.clientMessageID) == ["C"], "a failed item does not block the rest")
        try partition.retry("B", now: t0)
        #expect(try partition.pendingOutbox().map(\.clientMessageID) == ["B", "C"])
        try partition.cancel("C", now: t0)
        #expect(try partition.outboxItem("C")?.state == .cancelled)
        #expect(try partition.outbox(states: [.sent]).map(\.clientMessageID) == ["A"])
    }

    /// (state the item is in, action, allowed?)
    static let transitions: [(OutboxState, String, Bool)] = [
        (.queued, "inFlight", true), (.queued, "sent", true), (.queued, "failed", true), (.queued, "cancel", true),
        (.queued, "retry", false), (.queued, "returnToQueue", true),
        (.inFlight, "inFlight", true), (.inFlight, "sent", true), (.inFlight, "failed", true), (.inFlight, "cancel", false),
        (.inFlight, "retry", false), (.inFlight, "returnToQueue", true),
        (.sent, "inFlight", false), (.sent, "failed", false), (.sent, "cancel", false), (.sent, "retry", false),
        (.sent, "returnToQueue", false),
        (.failed, "inFlight", false), (.failed, "sent", true), (.failed, "cancel", true), (.failed, "retry", true),
        (.failed, "returnToQueue", false),
        (.cancelled, "inFlight", false), (.cancelled, "sent", false), (.cancelled, "retry", false), (.cancelled, "cancel", false),
        (.expired, "inFlight", false), (.expired, "retry", true), (.expired, "cancel", true), (.expired, "failed", false),
    ]

    @Test(arguments: transitions)
    func outboxTransitionTable(from state: OutboxState, action: String, allowed: Bool) throws {
        let scratch = ScratchDirectory()
        let (_, partition) = try Self.partition(scratch)
        try partition.enqueue(conversationID: "c", messageType: "text", payload: [1], clientMessageID: "X", now: t0, lifespanSeconds: 60)
        switch state {
        case .queued: break
        case .inFlight: try partition.markInFlight("X", requestID: "r", now: t0)
        case .sent: try partition.markSent("X", serverMessageID: "S", serverTimestamp: t0, now: t0)
        case .failed: try partition.markFailed("X", code: 2002, reason: "not a member", now: t0)
        case .cancelled: try partition.cancel("X", now: t0)
        case .expired: try partition.expireOutbox(now: t0.adding(seconds: 61))
        }
        #expect(try partition.outboxItem("X")?.state == state)
        let attempt: () throws -> Void = {
            switch action {
            case "inFlight": try partition.markInFlight("X", requestID: "r2", now: t0)
            case "sent": try partition.markSent("X", serverMessageID: "S2", serverTimestamp: t0, now: t0)
            case "failed": try partition.markFailed("X", code: nil, reason: "x", now: t0)
            case "cancel": try partition.cancel("X", now: t0)
            case "retry": try partition.retry("X", now: t0)
            case "returnToQueue": try partition.returnToQueue("X", now: t0)
            default: Issue.record("unknown action \(action)")
            }
        }
        if allowed {
            try attempt()
        } else {
            #expect { try attempt() } throws: { ($0 as? StoreError)?.code == .invalidOutboxTransition }
            #expect(try partition.outboxItem("X")?.state == state, "a refused transition changes nothing")
        }
    }

    @Test func expiredItemsAreNeverPendingAndEditIsOnlyBeforeFlight() throws {
        let scratch = ScratchDirectory()
        let (_, partition) = try Self.partition(scratch)
        try partition.enqueue(conversationID: "c", messageType: "text", payload: [1], clientMessageID: "old", now: t0, lifespanSeconds: 60)
        try partition.enqueue(conversationID: "c", messageType: "text", payload: [2], clientMessageID: "new", now: t0.adding(seconds: 50),
                              lifespanSeconds: 60)
        #expect(try partition.expireOutbox(now: t0.adding(seconds: 59)).isEmpty)
        let expired = try partition.expireOutbox(now: t0.adding(seconds: 60))
        #expect(expired.map(\.clientMessageID) == ["old"])
        #expect(try partition.pendingOutbox().map(\.clientMessageID) == ["new"])

        try partition.edit("new", payload: [9, 9], now: t0)
        #expect(try partition.outboxItem("new")?.payload == [9, 9])
        try partition.markInFlight("new", requestID: "r", now: t0)
        try partition.returnToQueue("new", now: t0)
        #expect { try partition.edit("new", payload: [7], now: t0) } throws: { ($0 as? StoreError)?.code == .invalidOutboxTransition }
    }

    @Test func aPayloadOver65000BytesIsRefusedAtEnqueueAndNeverQueued() throws {
        let scratch = ScratchDirectory()
        let (_, partition) = try Self.partition(scratch)
        try partition.enqueue(conversationID: "c", messageType: "file", payload: Array(repeating: 1, count: 65_000),
                              clientMessageID: "fits", now: t0)
        #expect {
            try partition.enqueue(conversationID: "c", messageType: "file", payload: Array(repeating: 1, count: 65_001),
                                  clientMessageID: "too-big", now: t0)
        } throws: { ($0 as? StoreError)?.code == .payloadTooLarge }
        #expect(try partition.outbox().map(\.clientMessageID) == ["fits"])
    }

    @Test func inFlightItemsReturnToTheQueueAfterARelaunch() throws {
        let scratch = ScratchDirectory()
        let (_, partition) = try Self.partition(scratch)
        try partition.enqueue(conversationID: "c", messageType: "text", payload: [1], clientMessageID: "A", now: t0)
        try partition.markInFlight("A", requestID: "r", now: t0)
        #expect(try partition.returnAllInFlightToQueue(now: t0) == 1)
        #expect(try partition.outboxItem("A")?.state == .queued)
    }
}
