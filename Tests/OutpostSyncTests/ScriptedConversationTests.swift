@testable import OutpostClientCore
import OutpostSimulation
import OutpostStore
import OutpostWire
import Testing
@testable import OutpostSync

/// Scripted conversations between the real core, the real store and a simulated server.
@Suite("Scripted conversations with a server")
struct ScriptedConversationTests {
    @Test func sendAndReceiveOverOneConnection() throws {
        let harness = try SessionHarness(behaviour: .extended)
        harness.connect()
        #expect(harness.session.connectionState == .connected)
        try harness.enqueue("hello")
        #expect(try harness.partition.outboxItem("cm-hello")?.state == .sent)
        harness.peerPosts(3)
        #expect(harness.storedMessageIDs == harness.serverMessageIDs())
        #expect(try harness.partition.conversation(SessionHarness.conversation)?.unreadCount == 3)
    }

    @Test(arguments: [ServerBehaviour.extended, .legacy])
    func aLostEchoThenReconnect(behaviour: ServerBehaviour) throws {
        let harness = try SessionHarness(behaviour: behaviour)
        harness.connect()
        // The server stores the message, but the echo never arrives: the connection dies.
        harness.dropFromServer = { envelope in
            if case .messageReceive = envelope.frame, !envelope.requestID.isEmpty { return true }
            return false
        }
        try harness.enqueue("once")
        #expect(try harness.partition.outboxItem("cm-once")?.state == .inFlight)
        harness.dropFromServer = nil
        harness.dropConnection()
        #expect(try harness.partition.outboxItem("cm-once")?.state == .queued, "back in the queue, same id")
        harness.advance(by: 2_000_000)  // the reconnect backoff
        harness.pump()
        #expect(harness.session.connectionState == .connected)
        #expect(try harness.partition.outboxItem("cm-once")?.state == .sent)
        let stored = harness.server.storedCount(clientMessageID: behaviour == .extended ? "cm-once" : "", from: "me")
        if behaviour == .extended {
            #expect(stored == 1, "an idempotent server stores a retried send once")
        } else {
            // A legacy server has no idempotency: the retry is stored again (at-least-once).
            #expect(harness.server.messages.filter { $0.senderID == "me" }.count == 2)
        }
        // Either way the client shows it once: the second copy has the same ciphertext.
        let mine = try harness.partition.messages(in: SessionHarness.conversation).filter { $0.senderID == "me" }
        #expect(mine.count == 1)
        #expect(try harness.partition.outbox().map(\.attempts) == [2])
    }

    @Test func aCrashBetweenStoreAndAcknowledgementRedeliversAndStoresOnce() throws {
        let harness = try SessionHarness(behaviour: .extended)
        harness.connect()
        harness.now = harness.now.adding(microseconds: 1_000)
        harness.route(harness.server.peerPost(from: "alice", conversationID: SessionHarness.conversation,
                                              payload: Array("survives a crash".utf8), now: harness.now))
        // The push arrives and is committed; the process dies before the ACK leaves.
        let (id, bytes) = harness.toClient.removeFirst()
        harness.handle(.received(id, bytes))
        #expect(harness.toServer.count == 1, "the ACK is waiting to leave")
        harness.toServer.removeAll()
        #expect(harness.storedMessageIDs.count == 1)

        try harness.relaunch()
        harness.connect()
        harness.advance(by: 1_000_000)
        // Never acknowledged, so pushed again after authentication; stored once.
        #expect(harness.storedMessageIDs == harness.serverMessageIDs())
        #expect(harness.storedMessageIDs.count == 1)
        #expect(try harness.partition.conversation(SessionHarness.conversation)?.unreadCount == 1)
    }

    @Test func historyPagesAcrossManyPagesAndBecomesABackgroundGap() throws {
        var configuration = ServerSession.Configuration()
        configuration.historyPageSize = 50
        configuration.foregroundHistoryPages = 3
        let harness = try SessionHarness(behaviour: .extended, configuration: configuration)
        // 1,234 messages arrive while this device is away; the user's other device reads them,
        // so nothing is pending: this device must page them in from history.
        harness.peerPosts(1_234)
        harness.server.acknowledgeEverything(for: "me")
        harness.connect()
        // Three pages right away; the rest of the backlog becomes a persisted gap.
        #expect(harness.events.contains { if case .gapOpened = $0 { true } else { false } })
        #expect(try harness.partition.openGaps().count == 1)
        #expect(try harness.partition.syncCursor().sequence == 150)
        #expect(harness.storedMessageIDs.count == 150)
        // The background fill completes it page by page.
        harness.advance(by: 60_000_000)
        #expect(try harness.partition.openGaps().isEmpty)
        #expect(harness.session.isCaughtUp)
        #expect(try harness.partition.syncCursor().sequence == 1_234)
        #expect(harness.storedMessageIDs == harness.serverMessageIDs())
        let requests = harness.outputsLog.filter {
            guard case .send(_, let bytes) = $0, let envelope = try? WireCodec.decodeClientEnvelope(bytes) else { return false }
            if case .historyRequest = envelope.frame { return true }
            return false
        }
        #expect(requests.count == 25, "ceil(1234 / 50) pages")
    }

    @Test func aSequenceHoleIsAnExactGapAndIsFilled() throws {
        let harness = try SessionHarness(behaviour: .extended)
        harness.connect()
        harness.peerPosts(2)
        // Two pushes vanish on the way (the link is fine otherwise).
        var dropped = 0
        harness.dropFromServer = { envelope in
            if case .messageReceive = envelope.frame, envelope.requestID.isEmpty, dropped < 2 {
                dropped += 1
                return true
            }
            return false
        }
        harness.peerPosts(3)
        harness.dropFromServer = nil
        // The third push showed sequence 5 after 2: messages 3 and 4 were fetched by sequence.
        let gaps = try harness.partition.allGaps()
        #expect(gaps.count == 1)
        #expect(gaps.first?.after.sequence == 2)
        #expect(gaps.first?.before?.sequence == 5)
        #expect(gaps.first?.state == .filled)
        #expect(harness.storedMessageIDs == harness.serverMessageIDs())
        #expect(try harness.partition.syncCursor().sequence == 5)
    }

    @Test func theCursorNeverPassesAnUnfilledGap() throws {
        let harness = try SessionHarness(behaviour: .extended)
        harness.connect()
        harness.peerPosts(1)
        // The next two pushes and every history page are lost: the hole cannot be filled yet.
        var pushesToDrop = 2
        harness.dropFromServer = { envelope in
            switch envelope.frame {
            case .historyResponse:
                return true
            case .messageReceive where envelope.requestID.isEmpty && pushesToDrop > 0:
                pushesToDrop -= 1
                return true
            default:
                return false
            }
        }
        harness.peerPosts(3)
        #expect(try harness.partition.syncCursor().sequence == 1, "the cursor stays below the hole")
        #expect(try harness.partition.openGaps().count == 1)
        #expect(harness.storedMessageIDs.count == 2, "the message after the hole is stored all the same")
        // The unanswered history request times out; the next connection fills the hole.
        harness.dropFromServer = nil
        harness.advance(by: 40_000_000)
        #expect(try harness.partition.syncCursor().sequence == 4)
        #expect(try harness.partition.openGaps().isEmpty)
        #expect(harness.storedMessageIDs == harness.serverMessageIDs())
    }

    @Test func aServerClockSteppingBackwardsKeepsDisplayOrderAndLosesNothing() throws {
        let harness = try SessionHarness(behaviour: .legacy)
        harness.connect()
        harness.peerPosts(3)
        harness.server.stepClock(by: -60_000_000)  // one minute back
        harness.peerPosts(3)
        let stored = try harness.partition.messages(in: SessionHarness.conversation, limit: 100)
        #expect(stored.count == 6)
        #expect(zip(stored, stored.dropFirst()).allSatisfy { $0.position < $1.position })
        // The three later messages carry earlier timestamps and are shown first.
        #expect(stored.prefix(3).map(\.payload) == harness.server.messages.suffix(3).map(\.payload))
    }

    @Test func sessionExpiryMidQueueStopsRetryingUntilANewTokenThenDrains() throws {
        let harness = try SessionHarness(behaviour: .extended)
        harness.connect()
        harness.dropConnection()
        for index in 0..<5 { try harness.enqueue("queued-\(index)") }
        harness.route(harness.server.expireSessions(of: "me"))
        harness.advance(by: 2_000_000)
        #expect(harness.session.connectionState == .authFailed)
        #expect(harness.events.contains { if case .authFailed = $0 { true } else { false } })
        let attemptsBefore = harness.connectionAttempts
        harness.advance(by: 600_000_000)
        #expect(harness.connectionAttempts == attemptsBefore, "no retry loop")
        #expect(try harness.partition.pendingOutbox().count == 5)

        let token = harness.server.issueToken(for: "me", now: harness.now, random: &harness.random)
        harness.perform(harness.core.updateSessionToken(token, now: harness.now).outputs)
        harness.pump()
        harness.advance(by: 1_000_000)
        #expect(harness.session.connectionState == .connected)
        #expect(try harness.partition.outbox().map(\.state) == Array(repeating: .sent, count: 5))
        #expect(try harness.partition.outbox().map(\.clientMessageID) == (0..<5).map { "cm-queued-\($0)" })
    }

    @Test func aPoisonMessageInTheMiddleOfTheQueueFailsAloneAndTheRestIsDelivered() throws {
        let harness = try SessionHarness(behaviour: .extended)
        // This server accepts smaller messages than the protocol allows: it answers 3003.
        harness.server.setMaxPayloadBytes(1_000)
        try harness.enqueue("first")
        try harness.enqueue("poison", payload: Array(repeating: 0x42, count: 2_000))
        try harness.enqueue("third")
        harness.connect()
        harness.advance(by: 1_000_000)
        let states = try harness.partition.outbox().map(\.state)
        #expect(states == [.sent, .failed, .sent])
        let failure = try harness.partition.outboxItem("cm-poison")?.failure
        #expect(failure?.code == 3003)
        #expect(harness.server.messages.map(\.payload.count) == [5, 5], "first and third only")
        // The user retries it after the server raised its limit: it goes through.
        harness.server.setMaxPayloadBytes(65_000)
        harness.perform(harness.core.retry("cm-poison", now: harness.now).outputs)
        harness.pump()
        #expect(try harness.partition.outboxItem("cm-poison")?.state == .sent)
    }

    @Test func rateLimitedSendsWaitAndRetryWithTheSameID() throws {
        let harness = try SessionHarness(behaviour: .extended)
        harness.connect()
        harness.server.setRateLimit(perSecond: 1, burst: 1)
        for index in 0..<4 {
            harness.server.createConversation("c\(index)", title: "", members: ["me", "alice"])
            try harness.enqueue("rl-\(index)", conversation: "c\(index)", payload: [UInt8(index)])
        }
        #expect(try harness.partition.outbox(states: [.sent]).count < 4)
        harness.advance(by: 10_000_000)
        #expect(try harness.partition.outbox().allSatisfy { $0.state == .sent })
        #expect(harness.server.messages.count == 4, "each stored once despite the 3004s")
    }

    @Test func expiredItemsAreNeverSent() throws {
        let harness = try SessionHarness(behaviour: .extended)
        try harness.enqueue("stale", payload: [1], lifespan: 60_000_000)
        harness.now = harness.now.adding(microseconds: 61_000_000)
        harness.connect()
        #expect(try harness.partition.outboxItem("cm-stale")?.state == .expired)
        #expect(harness.server.messages.isEmpty)
        #expect(harness.events.contains(.outboxItemExpired(clientMessageID: "cm-stale")))
    }

    @Test func groupAndMLSFramesLandInThePartition() throws {
        let harness = try SessionHarness(behaviour: .extended)
        harness.connect()
        let id = harness.openConnection!
        func serverSends(_ frame: ServerFrame) throws {
            harness.toClient.append((id, try WireCodec.encode(ServerEnvelope(requestID: "", frame: frame))))
            harness.pump()
        }
        try serverSends(.groupCreated(GroupCreated.with {
            $0.conversationID = "g1"
            $0.title = "Climbing"
            $0.members = [GroupMember.with { $0.userID = "me"; $0.role = "admin" }, GroupMember.with { $0.userID = "alice" }]
        }))
        try serverSends(.groupMemberAdded(GroupMemberAdded.with { $0.conversationID = "g1"; $0.userID = "bob"; $0.addedBy = "me" }))
        try serverSends(.groupMemberRemoved(GroupMemberRemoved.with { $0.conversationID = "g1"; $0.userID = "alice" }))
        try serverSends(.mlsWelcomeReceive(MlsWelcomeReceive.with { $0.conversationID = "g1"; $0.senderID = "bob"; $0.welcomeData = .init([1, 2]) }))
        try serverSends(.mlsCommitBroadcast(MlsCommitBroadcast.with { $0.conversationID = "g1"; $0.senderID = "bob"; $0.commitData = .init([3]) }))
        #expect(try harness.partition.members(of: "g1").map(\.userID) == ["bob", "me"])
        #expect(try harness.partition.conversation("g1")?.title == "Climbing")
        #expect(try harness.partition.pendingInboundMLS().map(\.kind) == [.welcome, .commit])
        #expect(try harness.partition.pendingInboundMLS().map(\.data) == [[1, 2], [3]])
        try serverSends(.groupMemberRemoved(GroupMemberRemoved.with { $0.conversationID = "g1"; $0.userID = "me" }))
        #expect(try harness.partition.conversation("g1")?.isMember == false)
    }

    @Test func inboundIsStoredBeforeItIsAcknowledged() throws {
        let harness = try SessionHarness(behaviour: .extended)
        harness.connect()
        var acknowledged: [(messageID: String, storedAlready: Bool)] = []
        let partition = harness.partition
        harness.onSend = { envelope in
            guard case .messageAck(let ack) = envelope.frame else { return }
            acknowledged.append((ack.messageID, (try? partition.message(ack.messageID)) != nil))
        }
        harness.peerPosts(3)
        #expect(acknowledged.count == 3)
        #expect(acknowledged.allSatisfy { $0.storedAlready }, "every ACK leaves after its message is committed")
    }
}

