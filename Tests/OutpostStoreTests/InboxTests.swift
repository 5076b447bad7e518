import Foundation
import Testing
@testable import OutpostStore

@Suite("Inbound messages, conversations, cursor, gaps and MLS state")
struct InboxTests {
    static func partition(_ scratch: ScratchDirectory) throws -> (Store, Partition) {
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: InMemoryKeyProvider())
        let partition = try store.addServer(origin("family.example"), now: t0)
        try partition.setOwnUserID("me", now: t0)
        return (store, partition)
    }

    @Test func duplicatesByIdAndByContentAreDropped() throws {
        let scratch = ScratchDirectory()
        let (_, partition) = try Self.partition(scratch)
        let first = message("m1", sender: "alice", at: 1, payload: "same ciphertext")
        let outcomes = try partition.storeInbound([
            first,
            first,                                                              // repeated push
            message("m2", sender: "alice", at: 2, payload: "same ciphertext"),  // stored twice by a legacy server
            message("m3", sender: "bob", at: 2, payload: "same ciphertext"),    // another sender: distinct
            message("m4", conversation: "c2", sender: "alice", at: 2, payload: "same ciphertext"),
        ], now: t0)
        #expect(outcomes == [.stored, .duplicateMessageID, .duplicateContent, .stored, .stored])
        #expect(try partition.messageCount() == 3)
        #expect(try partition.storeInbound([message("m2", sender: "alice", at: 2, payload: "x")], now: t0) == [.duplicateMessageID])
    }

    // Content duplicates are found in an in-memory set built from `inbound_dedup`: these check
    // that the set always agrees with the table.

    @Test func contentDuplicatesAreCaughtAfterAReopen() throws {
        let scratch = ScratchDirectory()
        let key = try RawKeyProvider(rawKey: [UInt8](repeating: 9, count: 32))
        do {
            let store = try Store.open(at: scratch.dataDirectory, keyProvider: key)
            let partition = try store.addServer(origin("family.example"), now: t0)
            _ = try partition.storeInbound([message("m1", sender: "alice", at: 1, payload: "once")], now: t0)
            store.close()
        }
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: key)
        let partition = try store.partition(for: store.serverID(for: origin("family.example")))
        #expect(try partition.storeInbound([message("m2", sender: "alice", at: 2, payload: "once")], now: t0) == [.duplicateContent])
    }

    @Test func aRolledBackBatchLeavesNoContentBehind() throws {
        let scratch = ScratchDirectory()
        let (_, partition) = try Self.partition(scratch)
        #expect(throws: StoreError.self) {
            try partition.inOneTransaction { () throws(StoreError) in
                _ = try partition.storeInbound([message("m1", sender: "alice", at: 1, payload: "undone")], now: t0)
                throw StoreError(.io, "abandoned")
            }
        }
        #expect(try partition.messageCount() == 0)
        // Neither the id nor the content was kept.
        #expect(try partition.storeInbound([message("m2", sender: "alice", at: 2, payload: "undone")], now: t0) == [.stored])
        #expect(try partition.storeInbound([message("m1", sender: "alice", at: 1, payload: "other")], now: t0) == [.stored])
    }

    @Test func aPrunedContentIsNoLongerADuplicate() throws {
        let scratch = ScratchDirectory()
        let (_, partition) = try Self.partition(scratch)
        _ = try partition.storeInbound([message("old", sender: "alice", at: 1, payload: "retried")], now: t0)
        #expect(try partition.pruneDedupRecords(olderThan: t0.adding(seconds: 50)) == 1)
        #expect(try partition.storeInbound([message("new", sender: "alice", at: 2, payload: "retried")], now: t0.adding(seconds: 100))
                == [.stored])
    }

    @Test func aSecondStoreOnTheSameDirectorySeesTheOthersRecords() throws {
        let scratch = ScratchDirectory()
        let key = try RawKeyProvider(rawKey: [UInt8](repeating: 9, count: 32))
        let first = try Store.open(at: scratch.dataDirectory, keyProvider: key)
        let partition = try first.addServer(origin("family.example"), now: t0)
        _ = try partition.storeInbound([message("m1", sender: "alice", at: 1, payload: "a")], now: t0)  // builds the set
        let second = try Store.open(at: scratch.dataDirectory, keyProvider: key)
        let other = try second.partition(for: partition.id)
        _ = try other.storeInbound([message("m2", sender: "bob", at: 2, payload: "b")], now: t0)
        #expect(try partition.storeInbound([message("m3", sender: "bob", at: 3, payload: "b")], now: t0) == [.duplicateContent])
    }

    @Test func afterPruningStoredMessagesStillRejectTheirIds() throws {
        let scratch = ScratchDirectory()
        let (_, partition) = try Self.partition(scratch)
        _ = try partition.storeInbound([message("old", at: 1)], now: t0)
        _ = try partition.storeInbound([message("new", at: 2)], now: t0.adding(seconds: 100))
        #expect(try partition.pruneDedupRecords(olderThan: t0.adding(seconds: 50)) == 1)
        #expect(try partition.dedupRecordCount() == 1)
        #expect(try partition.storeInbound([message("old", at: 1)], now: t0) == [.duplicateMessageID])
        #expect(try partition.messageCount() == 2)
    }

    @Test func displayOrderIsTimestampThenIdWithTiesAndAClockStepBack() throws {
        let scratch = ScratchDirectory()
        let (_, partition) = try Self.partition(scratch)
        // Arrival order differs from display order; two share a timestamp; the server clock
        // stepped back between "m5" and "m6".
        _ = try partition.storeInbound([
            message("m5", at: 50), message("m2", at: 20), message("m3b", at: 30), message("m3a", at: 30),
            message("m6", at: 10),
        ], now: t0)
        #expect(try partition.messages(in: "c1").map(\.messageID) == ["m6", "m2", "m3a", "m3b", "m5"])
        let page1 = try partition.messages(in: "c1", limit: 2)
        #expect(page1.map(\.messageID) == ["m3b", "m5"])
        let page2 = try partition.messages(in: "c1", before: page1.first!.position, limit: 2)
        #expect(page2.map(\.messageID) == ["m2", "m3a"])
        #expect(try partition.messages(in: "c1", after: page2.last!.position).map(\.messageID) == ["m3b", "m5"])
    }

    @Test func conversationSummariesCountUnreadAndFollowTheNewestMessage() throws {
        let scratch = ScratchDirectory()
        let (_, partition) = try Self.partition(scratch)
        _ = try partition.storeInbound([
            message("a1", conversation: "A", sender: "alice", at: 10),
            message("a2", conversation: "A", sender: "alice", at: 30),
            message("mine", conversation: "A", sender: "me", at: 40),
            message("b1", conversation: "B", sender: "bob", at: 20),
        ], now: t0)
        var summaries = try partition.conversations()
        #expect(summaries.map(\.conversationID) == ["A", "B"])
        #expect(summaries.map(\.unreadCount) == [2, 1], "own messages are never unread")
        #expect(summaries[0].lastActivity == MessagePosition(timestamp: .seconds(40), messageID: "mine"))

        try partition.markRead("A", upTo: MessagePosition(timestamp: .seconds(10), messageID: "a1"), now: t0)
        #expect(try partition.conversation("A")?.unreadCount == 1, "a2, after the marker")
        // Unread counts arrivals: messages that arrive after the read marker was set are unread
        // wherever their server stamped them, behind the marker too (a clock stepped back).
        _ = try partition.storeInbound([message("a0", conversation: "A", sender: "alice", at: 5),
                                        message("a15", conversation: "A", sender: "alice", at: 15)], now: t0)
        #expect(try partition.conversation("A")?.unreadCount == 3)
        // A marker that does not move changes nothing.
        try partition.markRead("A", upTo: MessagePosition(timestamp: .seconds(10), messageID: "a1"), now: t0)
        #expect(try partition.conversation("A")?.unreadCount == 3)
        // Moved past a2, it leaves unread only what sits after it.
        try partition.markRead("A", upTo: MessagePosition(timestamp: .seconds(30), messageID: "a2"), now: t0)
        #expect(try partition.conversation("A")?.unreadCount == 0)
        _ = try partition.storeInbound([message("a3", conversation: "A", sender: "alice", at: 1)], now: t0)
        #expect(try partition.conversation("A")?.unreadCount == 1)
        try partition.markRead("A", now: t0)
        #expect(try partition.conversation("A")?.unreadCount == 0)
        summaries = try partition.conversations()
        #expect(summaries[0].lastActivity.messageID == "mine")
    }

    @Test func theUnifiedListMergesServersNewestFirstFiltersAndFollowsWrites() throws {
        let scratch = ScratchDirectory()
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: InMemoryKeyProvider())
        let family = try store.addServer(origin("family.example"), now: t0)
        let work = try store.addServer(origin("work.example"), now: t0)
        _ = try family.storeInbound([message("f1", conversation: "dinner", at: 10)], now: t0)
        _ = try work.storeInbound([message("w1", conversation: "standup", at: 20), message("w2", conversation: "lunch", at: 5)], now: t0)
        var list = try store.unifiedConversations()
        #expect(list.map(\.summary.conversationID) == ["standup", "dinner", "lunch"])
        #expect(list.map(\.origin.host) == ["work.example", "family.example", "work.example"])
        #expect(try store.unifiedConversations(servers: [family.id]).map(\.summary.conversationID) == ["dinner"])

        _ = try family.storeInbound([message("f2", conversation: "dinner", at: 30)], now: t0)
        list = try store.unifiedConversations(limit: 2)
        #expect(list.map(\.summary.conversationID) == ["dinner", "standup"])
        #expect(list[0].summary.unreadCount == 2)
        try store.removeServer(work.id)
        #expect(try store.unifiedConversations().map(\.summary.conversationID) == ["dinner"])
    }

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func theUnifiedListsTopIsTheTopOfEveryConversationSorted(seed: UInt64) throws {
        let scratch = ScratchDirectory()
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: InMemoryKeyProvider())
        // Six servers, activity times drawn from a few values so that ties across servers,
        // and within one, are common.
        var generator = SplitMixGenerator(seed: seed)
        for server in 0..<6 {
            let partition = try store.addServer(origin("s\(server).example"), now: t0)
            let messages = (0..<8).map { number in
                message("m\(server)-\(number)", conversation: "c\(number % 5)", at: Int64.random(in: 1...4, using: &generator))
            }
            _ = try partition.storeInbound(messages, now: t0)
        }
        let everything = try store.unifiedConversations(limit: 1_000)
        #expect(everything.count == 30)
        let sorted = everything.sorted { lhs, rhs in
            if lhs.summary.lastActivity != rhs.summary.lastActivity { return lhs.summary.lastActivity > rhs.summary.lastActivity }
            if lhs.origin != rhs.origin { return lhs.origin < rhs.origin }
            return lhs.summary.conversationID < rhs.summary.conversationID
        }
        #expect(everything == sorted, "seed \(seed)")
        for limit in [1, 2, 3, 5, 8, 13, 29, 30, 31] {
            #expect(try store.unifiedConversations(limit: limit) == Array(sorted.prefix(limit)), "limit \(limit), seed \(seed)")
        }
    }

    @Test func groupMembershipFollowsTheFrames() throws {
        let scratch = ScratchDirectory()
        let (_, partition) = try Self.partition(scratch)
        try partition.recordGroup("g", title: "Climbing", members: [
            .init(userID: "me", role: "admin"), .init(userID: "alice"),
        ], now: t0)
        try partition.recordMemberAdded("g", member: .init(userID: "bob"), now: t0)
        try partition.recordMemberRemoved("g", userID: "alice", now: t0)
        #expect(try partition.members(of: "g").map(\.userID) == ["bob", "me"])
        #expect(try partition.conversation("g")?.kind == .group)
        #expect(try partition.conversation("g")?.title == "Climbing")
        try partition.recordMemberRemoved("g", userID: "me", now: t0)
        #expect(try partition.conversation("g")?.isMember == false)
    }

    @Test func cursorAndGapRecordsPersist() throws {
        let scratch = ScratchDirectory()
        let (store, partition) = try Self.partition(scratch)
        #expect(try partition.syncCursor() == .beginning)
        let cursor = SyncCursor(position: MessagePosition(timestamp: .seconds(5), messageID: "m5"), sequence: 5)
        try partition.setSyncCursor(cursor)
        let gap = try partition.recordGap(after: cursor, before: SyncCursor(position: MessagePosition(timestamp: .seconds(9), messageID: "m9"), sequence: 9), now: t0)
        try partition.updateGapProgress(gap.id, filledUpTo: SyncCursor(position: MessagePosition(timestamp: .seconds(7), messageID: "m7"), sequence: 7), now: t0)
        store.closeAllPartitions()
        #expect(try partition.syncCursor() == cursor)
        let open = try partition.openGaps()
        #expect(open.count == 1)
        #expect(open.first?.filledUpTo.sequence == 7)
        #expect(open.first?.before?.position.messageID == "m9")
        try partition.markGapFilled(gap.id, now: t0)
        #expect(try partition.openGaps().isEmpty)
        #expect(try partition.allGaps().map(\.state) == [.filled])
    }

    @Test func theMLSStateStoreKeepsOpaqueBlobs() throws {
        let scratch = ScratchDirectory()
        let (_, partition) = try Self.partition(scratch)
        try partition.saveMLSGroupState(groupID: "g", epoch: 1, state: [1], now: t0)
        try partition.saveMLSGroupState(groupID: "g", epoch: 2, state: [2], now: t0)
        try partition.saveMLSGroupState(groupID: "h", epoch: 7, state: [7], now: t0)
        #expect(try partition.latestMLSGroupState(groupID: "g")?.state == [2])
        try partition.deleteMLSGroupStates(groupID: "g", olderThan: 2)
        #expect(try partition.mlsGroupStates(groupID: "g").map(\.epoch) == [2])

        let package = try partition.addMLSKeyPackage([0xAA], now: t0)
        try partition.markMLSKeyPackageUploaded(package)
        #expect(try partition.mlsKeyPackages().map(\.uploaded) == [true])
        try partition.removeMLSKeyPackage(package)
        #expect(try partition.mlsKeyPackages().isEmpty)

        let welcome = try partition.recordInboundMLS(.welcome, conversationID: "g", senderID: "alice", data: [5], now: t0)
        try partition.recordInboundMLS(.commit, conversationID: "g", senderID: "bob", data: [6], now: t0)
        #expect(try partition.pendingInboundMLS().map(\.kind) == [.welcome, .commit])
        try partition.markInboundMLSProcessed(welcome)
        #expect(try partition.pendingInboundMLS().map(\.data) == [[6]])
    }
}
