import Foundation
@testable import OutpostClientCore
import OutpostSimulation
import OutpostStore
import OutpostWire
import Testing
@testable import OutpostSync

/// What a server that lies can do to the client: its own messages only, never a trap.
@Suite("A server that lies")
struct MaliciousServerTests {
    /// Timestamps at the very ends of the range (the protocol does not bound them): stored,
    /// shown first and last, acknowledged, and what follows arrives as usual.
    @Test func timestampsAtTheEndsOfTheRangeAreStoredInOrderAndTrapNothing() throws {
        let harness = try SessionHarness(behaviour: .legacy)
        harness.connect()
        guard let connection = harness.openConnection else { throw HarnessError(description: "not connected") }
        for (id, timestamp) in [("far-future", Int64.max), ("far-past", Int64.min), ("epoch", 0)] {
            let push = ServerEnvelope(requestID: "", frame: .messageReceive(Self.message(id, at: timestamp, from: "mallory")))
            harness.toClient.append((connection, try WireCodec.encode(push)))
        }
        harness.pump()
        harness.peerPosts(2)
        #expect(harness.storedMessageIDs.first == "far-past")
        #expect(harness.storedMessageIDs.last == "far-future")
        #expect(harness.storedMessageIDs.count == 5)
        // The session goes on: a heartbeat round and a reconnect later, nothing is lost.
        harness.advance(by: 60_000_000)
        harness.dropConnection()
        harness.advance(by: 60_000_000)
        #expect(harness.session.connectionState == .connected)
        harness.peerPosts(1)
        #expect(harness.storedMessageIDs.count == 6)
    }

    /// A server that answers every history request with an empty page that says "more": the
    /// client takes it as the end instead of asking again and again.
    @Test func anEmptyPageThatSaysMoreDoesNotMakeTheClientAskForEver() throws {
        let harness = try SessionHarness(behaviour: .extended)
        var requests = 0
        Self.answerEveryHistoryRequest(on: harness, with: HistoryResponse.with { $0.hasMore = true }) { requests += 1 }
        harness.connect()
        harness.advance(by: 600_000_000)
        #expect(requests == 1, "one request per login, however often the server says more")
        #expect(harness.connectionAttempts == 1)
        harness.peerPosts(1)
        #expect(harness.storedMessageIDs.count == 1)
    }

    /// A server that answers every history request with a page of messages the client has
    /// already passed, and says "more": asked again, less and less often.
    @Test func aPageThatNeverMovesTheCursorIsAskedForLessAndLessOften() throws {
        let harness = try SessionHarness(behaviour: .extended)
        harness.connect()
        harness.peerPosts(3)
        var requestTimes: [Int64] = []
        let page = HistoryResponse.with {
            $0.messages = [Self.message("old", at: 1, from: "alice")]
            $0.hasMore = true
        }
        Self.answerEveryHistoryRequest(on: harness, with: page) { [unowned harness] in requestTimes.append(harness.now.microseconds) }
        harness.dropConnection()
        harness.advance(by: 3_600_000_000)
        let waits = zip(requestTimes, requestTimes.dropFirst()).map { ($1 - $0) / 1_000_000 }
        // 5, 10, 20 … seconds, then every 5 minutes: a few dozen requests an hour, not 720.
        #expect(waits.prefix(6) == [5, 10, 20, 40, 80, 160])
        #expect(waits.dropFirst(6).allSatisfy { $0 == 300 })
        #expect(requestTimes.count < 20)
        #expect(harness.connectionAttempts == 2)
    }

    /// A message of the harness's conversation whose payload is its id.
    static func message(_ id: String, at timestamp: Int64, from sender: String) -> MessageReceive {
        MessageReceive.with {
            $0.messageID = id
            $0.conversationID = SessionHarness.conversation
            $0.senderID = sender
            $0.encryptedPayload = Data(id.utf8)
            $0.serverTimestamp = timestamp
            $0.messageType = "text"
        }
    }

    /// The server's own history pages vanish, and every history request is answered with
    /// `page` instead; `asked` runs for each request.
    static func answerEveryHistoryRequest(on harness: SessionHarness, with page: HistoryResponse, asked: @escaping () -> Void) {
        var lies: Set<ServerEnvelope> = []
        harness.dropFromServer = { envelope in
            if case .historyResponse = envelope.frame { return !lies.contains(envelope) }
            return false
        }
        harness.onSend = { [unowned harness] envelope in
            guard case .historyRequest = envelope.frame, let connection = harness.openConnection else { return }
            asked()
            let lie = ServerEnvelope(requestID: envelope.requestID, frame: .historyResponse(page))
            lies.insert(lie)
            harness.toClient.append((connection, try! WireCodec.encode(lie)))
        }
    }
}

/// The simulated servers' MLS delivery service, upstream's as observed.
@Suite("Key packages")
struct KeyPackageTests {
    /// Upstream's MLS delivery service: 5001 for an empty key package, each key package handed
    /// out once, then 5005; a server per PROTOCOL.md keeps answering with the one it has.
    @Test(arguments: [ServerBehaviour.upstream, .legacy])
    func keyPackagesAsEachServerHandsThemOut(behaviour: ServerBehaviour) throws {
        let harness = try SessionHarness(behaviour: behaviour)
        harness.connect()
        func errorCodes(_ answers: [ServerEnvelope]) -> [Int32] {
            answers.compactMap { if case .error(let error) = $0.frame { error.code } else { nil } }
        }
        let empty = try harness.serverAnswers(to: .mlsKeyPackageUpload(.with { $0.keyPackageData = Data() }))
        #expect(errorCodes(empty) == (behaviour == .upstream ? [5001] : []))
        #expect(try harness.serverAnswers(to: .mlsKeyPackageUpload(.with { $0.keyPackageData = Data([7]) })).isEmpty)
        let fetch = ClientFrame.mlsKeyPackageFetch(.with { $0.userID = "me" })
        let first = try harness.serverAnswers(to: fetch)
        #expect(first.contains { if case .mlsKeyPackageResponse(let response) = $0.frame { response.keyPackageData == Data([7]) } else { false } })
        #expect(errorCodes(try harness.serverAnswers(to: fetch)) == (behaviour == .upstream ? [5005] : []))
    }
}
