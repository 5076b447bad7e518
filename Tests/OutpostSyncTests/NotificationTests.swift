import Foundation
@testable import OutpostClientCore
import OutpostSimulation
import OutpostStore
@testable import OutpostSync
import Testing

/// What a notification needs (RFC-0006 "Notification handling"): new messages from others,
/// grouped by server then conversation, each reported once, never the user's own, never one
/// already read.
@Suite("Notifications")
struct NotificationTests {
    /// Every message id the core reported for a notification, in order.
    static func notified(_ harness: SessionHarness) -> [String] {
        harness.notifications.flatMap { $0.conversations.flatMap(\.messageIDs) }
    }

    /// The peers' messages on the server, oldest first.
    static func peerMessages(_ harness: SessionHarness) -> [String] {
        harness.server.messages.filter { $0.senderID != "me" }
            .sorted { ($0.serverTimestamp, $0.messageID) < ($1.serverTimestamp, $1.messageID) }.map(\.messageID)
    }

    @Test(arguments: [ServerBehaviour.legacy, .extended, .upstream])
    func aRedeliveredMessageIsNotReportedAgain(behaviour: ServerBehaviour) throws {
        let harness = try SessionHarness(behaviour: behaviour)
        harness.connect()
        harness.peerPosts(3)
        #expect(Self.notified(harness) == Self.peerMessages(harness))
        harness.route(harness.server.redeliver(to: "me", times: 2))
        harness.pump()
        // After a reconnect, a legacy server's pending push and an extended server's history
        // bring nothing new either.
        harness.dropConnection()
        harness.advance(by: 2_000_000)
        #expect(harness.session.connectionState == .connected)
        #expect(Self.notified(harness) == Self.peerMessages(harness))
        #expect(Self.notified(harness).count == 3)
    }

    /// On a `history` server without `sequence`, pushes move the cursor only through a history
    /// page, so the page after a reconnect brings the pushed messages again. (A legacy server
    /// has no history: its overlap is the redelivery above.)
    @Test func aHistoryPageOverlappingPushesReportsOnlyWhatIsNew() throws {
        let harness = try SessionHarness(extensions: [.history])
        harness.connect()
        harness.peerPosts(4)
        harness.dropConnection()
        _ = harness.server.peerPost(from: "alice", conversationID: SessionHarness.conversation, payload: Array("while away".utf8),
                                    now: harness.now)
        harness.advance(by: 2_000_000)
        #expect(harness.outputsLog.contains { output in
            if case .event(.caughtUp) = output { true } else { false }
        })
        #expect(Self.notified(harness) == Self.peerMessages(harness))
        #expect(Self.notified(harness).count == 5)
        #expect(harness.notifications.last?.conversations.first?.messageIDs == [Self.peerMessages(harness).last!])
    }

    @Test(arguments: [ServerBehaviour.legacy, .extended, .upstream])
    func theUsersOwnMessagesAreNeverReported(behaviour: ServerBehaviour) throws {
        let harness = try SessionHarness(behaviour: behaviour)
        harness.connect()
        try harness.enqueue("from this device")
        // The user writes from another device; the server pushes it here too (not upstream).
        harness.route(harness.server.peerPost(from: "me", conversationID: SessionHarness.conversation,
                                              payload: Array("from my laptop".utf8), now: harness.now))
        harness.pump()
        harness.peerPosts(1)
        let own = harness.server.messages.filter { $0.senderID == "me" }.map(\.messageID)
        #expect(own.count == 2)
        #expect(Set(Self.notified(harness)).isDisjoint(with: own))
        #expect(Self.notified(harness) == Self.peerMessages(harness))
    }

    @Test(arguments: [ServerBehaviour.legacy, .extended])
    func aMessageAlreadyReadIsNeverReportedAndReadingWithdrawsIt(behaviour: ServerBehaviour) throws {
        let harness = try SessionHarness(behaviour: behaviour)
        harness.connect()
        harness.peerPosts(2)
        var digest = NotificationDigest()
        for notification in harness.notifications { digest.add(notification) }
        #expect(digest.servers.first?.conversations.first?.count == 2)

        // The user reads the conversation: its notification goes, and the messages read never
        // come back, however the server sends them again.
        harness.perform(harness.core.markRead(SessionHarness.conversation, upTo: nil, now: harness.now).outputs)
        digest.markRead(NotificationTarget(server: harness.core.id, conversationID: SessionHarness.conversation))
        #expect(digest.isEmpty)
        let before = harness.notifications.count
        harness.route(harness.server.redeliver(to: "me", times: 1))
        harness.pump()
        harness.dropConnection()
        harness.advance(by: 2_000_000)
        for notification in harness.notifications.dropFirst(before) { digest.add(notification) }
        #expect(harness.notifications.count == before)
        #expect(digest.isEmpty)

        // Something new after the read is reported.
        harness.peerPosts(1)
        for notification in harness.notifications.dropFirst(before) { digest.add(notification) }
        #expect(digest.servers.first?.conversations.first?.messageIDs == [Self.peerMessages(harness).last!])
    }

    @Test func notificationsAreGroupedByServerThenConversationWithTheServersName() throws {
        let harness = try SessionHarness(behaviour: .extended, peers: ["alice", "bob"])
        harness.server.createConversation("work", title: "Work", members: ["me", "bob"])
        harness.connect()
        harness.peerPosts(2)
        harness.now = harness.now.adding(microseconds: 1_000)
        harness.route(harness.server.peerPost(from: "bob", conversationID: "work", payload: Array("standup".utf8), now: harness.now))
        harness.pump()
        var digest = NotificationDigest()
        for notification in harness.notifications { digest.add(notification) }
        #expect(harness.notifications.allSatisfy { $0.serverName == "Family" && $0.server == harness.core.id })
        let servers = digest.servers
        #expect(servers.count == 1)
        #expect(servers[0].serverName == "Family")
        #expect(servers[0].conversations.map(\.conversationID) == ["work", SessionHarness.conversation], "newest first")
        #expect(servers[0].conversations.map(\.count) == [1, 2])
        let newest = harness.server.messages.map(\.serverTimestamp).max()!
        #expect(servers[0].conversations[0].newestTimestamp.microseconds == newest)
    }

    @Test func aTappedIdentifierNamesExactlyItsServerAndConversation() {
        let server = ServerID(hex: "0123456789abcdef0123456789abcdef")
        for conversation in ["family", "work:team/1", "naïve ☃", "", "a%20b"] {
            let target = NotificationTarget(server: server, conversationID: conversation)
            #expect(NotificationTarget(identifier: target.identifier) == target, "\(target.identifier)")
            #expect(!target.identifier.contains(" "))
        }
        #expect(NotificationTarget(server: server, conversationID: "family").identifier
            == "outpost:v1:0123456789abcdef0123456789abcdef:family", "stable across launches and versions")
        for bad in ["", "outpost:v1:", "outpost:v1:zz:family", "outpost:v2:00:family", "https://home.example/family"] {
            #expect(NotificationTarget(identifier: bad) == nil, "\(bad)")
        }
    }
}
