@testable import OutpostClientCore
import OutpostSimulation
import OutpostStore
import OutpostWire
import Testing
@testable import OutpostSync

/// Catch-up on every subset of the extensions, and what the front end is told about it.
@Suite("Catch-up, the cursor and what is reported")
struct CatchUpRegressionTests {
    /// Before, a live push on a caught-up session moved the timestamp cursor, as if an earlier
    /// message not pushed were still pending. It is not when another device of the user has
    /// acknowledged it: history after the reconnect started past it, and it was never fetched.
    @Test func onHistoryWithoutSequenceALostPushIsFetchedAfterAnotherDeviceReadIt() throws {
        let harness = try SessionHarness(extensions: [.history])
        harness.connect()
        #expect(harness.session.gapGuarantee == .byTimestamp)
        // M1's push vanishes on the way; M2's arrives.
        harness.dropNextPush()
        harness.peerPosts(2)
        let (m1, m2) = (harness.serverMessageIDs()[0], harness.serverMessageIDs()[1])
        #expect(harness.storedMessageIDs == [m2])
        // The user's other device reads M1: the server no longer keeps it pending for the user.
        _ = harness.server.acknowledge(m1, by: "me")
        harness.dropConnection()
        harness.advance(by: 2_000_000)
        #expect(harness.session.connectionState == .connected)
        #expect(harness.storedMessageIDs == [m1, m2])
    }

    /// Live pushes alone never move a timestamp cursor; after enough of them a history page does.
    @Test func onHistoryWithoutSequencePushesMoveTheCursorOnlyThroughAHistoryPage() throws {
        var configuration = ServerSession.Configuration()
        configuration.catchUp.refreshAfterPushes = 5
        let harness = try SessionHarness(extensions: [.history], configuration: configuration)
        harness.connect()
        harness.peerPosts(4)
        #expect(try harness.partition.syncCursor() == .beginning)
        harness.peerPosts(1)
        #expect(try harness.partition.syncCursor().position.messageID == harness.serverMessageIDs().last)
        // The page brought the five again; each is reported stored once.
        #expect(harness.reportedStored == harness.serverMessageIDs())
    }

    /// Before, a redelivered push (or a history page overlapping pushes) was reported in
    /// `messagesStored` again: 10,100 ids for 10,000 messages in one catch-up.
    @Test(arguments: [ServerCapabilities(), .all, [.history], [.sequence], [.idempotentSend]])
    func messagesStoredNamesEachMessageOnce(extensions: ServerCapabilities) throws {
        let harness = try SessionHarness(extensions: extensions)
        harness.connect()
        harness.peerPosts(5)
        harness.route(harness.server.redeliver(to: "me", times: 3))
        harness.pump()
        harness.dropConnection()
        harness.advance(by: 2_000_000)  // a reconnect, with its pending push or history
        harness.peerPosts(2)
        #expect(harness.reportedStored == harness.serverMessageIDs())
        #expect(Set(harness.reportedStored).count == 7)
    }

    /// Before, a page cancelled nothing: its 30-second request timer stayed armed.
    @Test func aHistoryPageDisarmsItsRequestTimer() throws {
        let harness = try SessionHarness(behaviour: .extended)
        harness.peerPosts(3)
        harness.connect()
        #expect(harness.session.isCaughtUp)
        #expect(!harness.timers.keys.contains { if case .session(.request) = $0 { true } else { false } })
    }

    /// Before, `sequence` without `history` claimed an exact guarantee, stuck its cursor at the
    /// first hole and sent a history request the server refuses after every push.
    @Test func sequenceWithoutHistoryPromisesNothingAndAsksForNoHistory() throws {
        let harness = try SessionHarness(extensions: [.sequence])
        harness.connect()
        #expect(harness.session.gapGuarantee == GapGuarantee.none)
        harness.dropNextPush()
        harness.peerPosts(3)
        let requests = harness.outputsLog.filter { output in
            guard case .send(_, let bytes) = output, let envelope = try? WireCodec.decodeClientEnvelope(bytes) else { return false }
            if case .historyRequest = envelope.frame { return true }
            return false
        }
        #expect(requests.isEmpty)
        #expect(harness.storedMessageIDs.count == 2)
        #expect(try harness.partition.openGaps().isEmpty)
    }
}

/// A frame that never decodes is set aside: counted, reported, acknowledged, and everything
/// after it arrives. No connection is dropped over it.
@Suite("Messages that cannot be decoded")
struct SetAsideTests {
    static func setAside(_ harness: SessionHarness) -> [String?] {
        harness.events.compactMap { if case .messageSetAside(let id, _) = $0 { id } else { nil } }
    }

    /// Before, one undecodable pushed message dropped the connection (1002); it came back after
    /// every login, the backoff reset at each, and the client reconnected every second for ever.
    @Test(arguments: [ServerCapabilities(), .all, [.history]])
    func aPoisonMessageIsSetAsideAndTheRestArrives(extensions: ServerCapabilities) throws {
        let harness = try SessionHarness(extensions: extensions)
        harness.connect()
        let connection = harness.openConnection
        harness.now = harness.now.adding(microseconds: 1_000)
        harness.route(harness.server.peerPost(from: "alice", conversationID: SessionHarness.conversation,
                                              payload: Array("poison".utf8), now: harness.now, poison: true))
        harness.pump()
        harness.peerPosts(2)
        #expect(harness.openConnection == connection, "the connection stays")
        let poison = try #require(harness.server.messages.first { $0.isPoison })
        #expect(Self.setAside(harness) == [poison.messageID])
        #expect(harness.storedMessageIDs == harness.serverMessageIDs().filter { $0 != poison.messageID })
        #expect(harness.core.status.setAsideCount == 1)
        // Acknowledged: a reconnect does not bring it back.
        harness.dropConnection()
        harness.advance(by: 2_000_000)
        #expect(Self.setAside(harness).count == 1)
        #expect(harness.session.isCaughtUp)
    }

    /// The same message pending at every login (a legacy server pushes it right after
    /// authentication) costs one login, not a reconnect every second.
    @Test func aPoisonMessagePendingAtLoginCausesNoReconnectStorm() throws {
        let harness = try SessionHarness(behaviour: .legacy)
        harness.route(harness.server.peerPost(from: "alice", conversationID: SessionHarness.conversation,
                                              payload: Array("poison".utf8), now: harness.now, poison: true))
        harness.peerPosts(2)
        harness.connect()
        harness.advance(by: 600_000_000)
        #expect(harness.connectionAttempts == 1)
        #expect(harness.storedMessageIDs.count == 2)
    }

    /// A history page with an undecodable message in it: the others are stored, and the cursor
    /// passes it.
    @Test func aPoisonMessageInAHistoryPageIsPassed() throws {
        var configuration = ServerSession.Configuration()
        configuration.historyPageSize = 3
        let harness = try SessionHarness(behaviour: .extended, configuration: configuration)
        harness.peerPosts(2)
        harness.now = harness.now.adding(microseconds: 1_000)
        harness.route(harness.server.peerPost(from: "alice", conversationID: SessionHarness.conversation,
                                              payload: Array("poison".utf8), now: harness.now, poison: true))
        harness.peerPosts(4)
        harness.server.acknowledgeEverything(for: "me")  // only history brings them
        harness.connect()
        #expect(harness.session.isCaughtUp)
        #expect(harness.storedMessageIDs.count == 6)
        #expect(try harness.partition.syncCursor().sequence == 7)
        #expect(Self.setAside(harness).count == 1)
    }

    /// A server that ends every login at once (close 4003: a sixth device of the user): the
    /// reconnects are damped, not repeated every second.
    @Test func loginsTheServerEndsAtOnceAreDamped() throws {
        let harness = try SessionHarness(behaviour: .extended)
        harness.connect()
        for _ in 0..<200 {
            guard let connection = harness.openConnection else {
                harness.advance(by: 1_000_000)
                continue
            }
            if harness.session.connectionState == .connected {
                harness.openConnection = nil
                harness.handle(.connectionClosed(connection, code: 4003))
            }
            harness.advance(by: 1_000_000)
        }
        // 200 simulated seconds: 1, 2, 4, 8, 16 then 30-second waits (× 0.5…1).
        #expect(harness.connectionAttempts <= 20, "\(harness.connectionAttempts) logins in 200 s")
    }
}

/// `AUTH_ERROR` by meaning: a fault of the server is retried, a refused credential waits for
/// a new one; either way the client closes the socket itself.
@Suite("Authentication errors")
struct AuthenticationErrorTests {
    /// Before, every `AUTH_ERROR` meant AuthFailed: a passing fault of the server (upstream
    /// reports them as 9001) forced the user to sign in again.
    @Test(arguments: [ServerBehaviour.legacy, .extended, .upstream])
    func aServerFaultAtLoginIsRetriedNotASignInAgain(behaviour: ServerBehaviour) throws {
        let harness = try SessionHarness(behaviour: behaviour)
        harness.server.setAuthGlitch(until: harness.now.adding(seconds: 20))
        harness.connect()
        #expect(harness.openConnection == nil, "closed by the client at once, not after the server's deadline")
        harness.advance(by: 60_000_000)
        #expect(harness.session.connectionState == .connected)
        #expect(!harness.events.contains { if case .authFailed = $0 { true } else { false } })
        #expect(harness.connectionAttempts > 1)
    }

    /// Upstream refuses an expired or revoked token with 1001 and keeps the socket open until
    /// its 10-second deadline: the client closes it itself and waits for a new token.
    @Test func aRefusedTokenOnUpstreamIsAuthFailedAndTheSocketClosesAtOnce() throws {
        let harness = try SessionHarness(behaviour: .upstream)
        harness.route(harness.server.expireSessions(of: "me"))
        harness.connect()
        #expect(harness.session.connectionState == .authFailed)
        #expect(harness.openConnection == nil)
        #expect(harness.server.openConnectionCount == 0)
        harness.advance(by: 600_000_000)
        #expect(harness.connectionAttempts == 1, "no retry loop")
    }
}
