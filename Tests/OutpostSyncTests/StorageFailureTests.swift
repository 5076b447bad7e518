@testable import OutpostClientCore
import OutpostSimulation
@testable import OutpostStore
import OutpostWire
import Testing
@testable import OutpostSync

/// A write that fails while the app lives (a full disk, an I/O error, a database another
/// connection holds) must never cost a message: nothing of the input leaves, and the server's
/// session starts again from what is on disk.
@Suite("Storage failures while the app lives")
struct StorageFailureTests {
    static let failures: [StoreError.Code] = [.diskFull, .busy, .io]

    /// Before the client core, the runtime kept the session whose in-memory cursor had already
    /// moved past the page that failed to commit: the next history request started after it,
    /// and ten of thirty messages were lost for good.
    @Test(arguments: failures)
    func aHistoryPageThatFailsToCommitIsFetchedAgain(failure: StoreError.Code) throws {
        var configuration = ServerSession.Configuration()
        configuration.historyPageSize = 10
        let harness = try SessionHarness(extensions: [.history], configuration: configuration)
        harness.peerPosts(30)
        // Another device of the user read them all: only history brings them to this one.
        harness.server.acknowledgeEverything(for: "me")
        harness.handle(.start(foreground: true, reachable: true))
        harness.store.faultInjector = .fail(atWrite: 1, with: .simulatedFailure(failure))
        harness.pump()

        #expect(harness.events.contains { if case .storageFailed = $0 { true } else { false } })
        #expect(harness.storedMessageIDs.isEmpty, "the page did not commit")
        #expect(harness.openConnection == nil, "nothing of it was acknowledged: the connection closed")
        // The core waits a moment, starts again from disk, and fetches everything.
        harness.advance(by: 5_000_000)
        #expect(harness.storedMessageIDs == harness.serverMessageIDs())
        #expect(harness.storedMessageIDs.count == 30)
        #expect(try harness.partition.syncCursor().position.messageID == harness.serverMessageIDs().last)
        #expect(try harness.partition.openGaps().isEmpty)
        #expect(harness.session.isCaughtUp)
    }

    /// Before, an outbox item whose echo arrived while its write failed stayed "in flight" until
    /// the app restarted: the session thought it sent, the partition did not.
    @Test func anEchoThatFailsToCommitIsSentAgainAndStoredOnce() throws {
        let harness = try SessionHarness(behaviour: .extended)
        harness.connect()
        let outcome = harness.core.send(Array("hello".utf8), to: SessionHarness.conversation, clientMessageID: "cm-hello",
                                        now: harness.now)
        harness.perform(outcome.outputs)
        harness.store.faultInjector = .fail(atWrite: 1, with: .simulatedFailure(.diskFull))
        harness.pump()  // the echo arrives; its transaction fails
        #expect(try harness.partition.outboxItem("cm-hello")?.state == .inFlight)
        harness.advance(by: 5_000_000)
        #expect(try harness.partition.outboxItem("cm-hello")?.state == .sent)
        #expect(harness.server.storedCount(clientMessageID: "cm-hello", from: "me") == 1, "the retry was deduplicated")
        #expect(harness.storedMessageIDs.count == 1)
    }

    /// A send whose own transaction fails is refused with the storage error: never half queued.
    @Test func aSendThatCannotBeWrittenIsRefusedAndLeavesNothingBehind() throws {
        let harness = try SessionHarness(behaviour: .extended)
        harness.connect()
        harness.store.faultInjector = .fail(atWrite: 1, with: .simulatedFailure(.diskFull))
        #expect { try harness.enqueue("lost?") } throws: { ($0 as? OutpostError)?.code == .storage }
        #expect(try harness.partition.outbox().isEmpty)
        // The session was rebuilt from disk and knows nothing of it either.
        #expect(harness.session.pendingOutboxCount == 0)
        harness.advance(by: 5_000_000)
        try harness.enqueue("after")
        #expect(try harness.partition.outboxItem("cm-after")?.state == .sent)
    }

    /// Failures in a row make the core wait longer each time, not hammer the disk.
    @Test func repeatedFailuresBackOff() throws {
        let harness = try SessionHarness(behaviour: .extended)
        harness.connect()
        harness.store.faultInjector = StorageFaultInjector { _ in .fail(.simulatedFailure(.io)) }
        harness.peerPosts(1)
        harness.advance(by: 60_000_000)
        let failures = harness.events.filter { if case .storageFailed = $0 { true } else { false } }.count
        // Waits of 1, 2, 4, 8, 16, 32 s: six attempts in a minute, not sixty.
        #expect(failures == 6)
        harness.store.faultInjector = nil
        harness.advance(by: 300_000_000)
        #expect(harness.storedMessageIDs == harness.serverMessageIDs())
        #expect(harness.storedMessageIDs.count == 1)
    }
}

/// Deduplication records are pruned by a stated retention, and reopening a partition does not
/// scan them again.
@Suite("Deduplication records")
struct DedupRetentionTests {
    /// Before, nothing called `pruneDedupRecords`: the table grew for ever.
    @Test func recordsPastTheRetentionArePrunedAtStart() throws {
        let harness = try SessionHarness(behaviour: .extended)
        let old = harness.now.adding(seconds: -(Partition.dedupRetentionSeconds + 3_600))
        _ = try harness.partition.storeInbound([Message(messageID: "old", conversationID: "family", senderID: "alice",
                                                        serverTimestamp: old, payload: [1])], now: old)
        _ = try harness.partition.storeInbound([Message(messageID: "recent", conversationID: "family", senderID: "alice",
                                                        serverTimestamp: harness.now, payload: [2])], now: harness.now)
        #expect(try harness.partition.dedupRecordCount() == 2)
        harness.connect()
        #expect(try harness.partition.dedupRecordCount() == 1)
        // The pruned message's own row still refuses its id.
        #expect(try harness.partition.storeInbound([Message(messageID: "old", conversationID: "family", senderID: "alice",
                                                            serverTimestamp: old, payload: [1])], now: harness.now) == [.duplicateMessageID])
    }

    /// Before, every reopen of a partition by the pool rebuilt its content index by scanning
    /// the whole table on the client's executor.
    @Test func aReopenedPartitionTakesItsContentIndexBackInsteadOfScanning() throws {
        let harness = try SessionHarness(behaviour: .extended)
        let messages = (0..<50).map { Message(messageID: "m\($0)", conversationID: "family", senderID: "alice",
                                              serverTimestamp: .seconds(Int64($0)), payload: [UInt8($0)]) }
        _ = try harness.partition.storeInbound(messages, now: harness.now)
        let built = harness.store.contentIndexBuilds
        harness.store.closeAllPartitions()
        // A content duplicate is still caught after the reopen, and no scan was needed.
        let duplicate = Message(messageID: "other-id", conversationID: "family", senderID: "alice",
                                serverTimestamp: .seconds(99), payload: [7])
        #expect(try harness.partition.storeInbound([duplicate], now: harness.now) == [.duplicateContent])
        #expect(harness.store.contentIndexBuilds == built)
        // Another writer to the table makes the kept index stale: it is built again.
        harness.store.closeAllPartitions()
        try harness.partition.pruneDedupRecords(olderThan: harness.now.adding(seconds: 1))
        _ = try harness.partition.storeInbound([Message(messageID: "new", conversationID: "family", senderID: "alice",
                                                        serverTimestamp: .seconds(100), payload: [200])], now: harness.now)
        #expect(harness.store.contentIndexBuilds == built + 1)
    }
}
