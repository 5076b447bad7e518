import Foundation
import Outpost
import OutpostLoopbackServer
import Testing

/// The runtime against simulated Sovereign servers on real loopback sockets. Every wait is on
/// an event; the time limits only turn a hang into a failure.
@Suite("End to end over loopback", .serialized)
struct EndToEndTests {
    @Test func sendAndReceiveAcrossTwoServers() async throws {
        let directory = ScratchDirectory()
        let home = try await TestServer.start("Home")
        let work = try await TestServer.start("Work", behaviour: .legacy)
        let client = try makeClient(directory.path)
        let recorder = await EventRecorder.recording(client)
        await client.start()

        let (homeID, workID) = try await connect(home, work, to: client, recorder: recorder)
        #expect(await client.servers().map(\.name).sorted() == ["Home", "Work"])
        #expect(await client.server(homeID)?.gapGuarantee == .exact)
        #expect(await client.server(workID)?.gapGuarantee == GapGuarantee.none)

        let toHome = try await client.send(Array("hi home".utf8), to: "family", on: homeID)
        let toWork = try await client.send(Array("hi work".utf8), to: "work", on: workID)
        await home.host.post(from: "alice", to: "family", text: "hello from alice")
        await work.host.post(from: "bob", to: "work", text: "hello from bob")
        try await recorder.wait("both sent and both peers' messages stored") { events in
            events.sent(homeID, toHome.clientMessageID) && events.sent(workID, toWork.clientMessageID)
                && events.storedIDs(homeID).count >= 2 && events.storedIDs(workID).count >= 2
        }
        #expect(await home.host.storedCount(clientMessageID: toHome.clientMessageID, from: "me") == 1)
        // A legacy server knows nothing of client message ids: count by content.
        #expect(await work.host.storedMessages.filter { $0.senderID == "me" && $0.payload == Array("hi work".utf8) }.count == 1)

        // The unified list: both servers, each row tagged, filterable by server.
        let list = try await client.conversations()
        #expect(Set(list.map(\.serverID)) == [homeID, workID])
        #expect(list.map(\.summary.lastActivity) == list.map(\.summary.lastActivity).sorted(by: >))
        let onlyWork = try await client.conversations(servers: [workID])
        #expect(onlyWork.map(\.summary.conversationID) == ["work"])
        let family = try #require(list.first { $0.serverID == homeID && $0.summary.conversationID == "family" })
        #expect(family.summary.unreadCount == 1)

        let page = try await client.messages(in: "family", on: homeID)
        // In the server's order (alice's post may well be stored before the send arrives).
        let onServer = await home.host.storedMessages.filter { $0.conversationID == "family" }
        #expect(page.messages.map(\.messageID) == onServer.map(\.messageID))
        #expect(Set(page.messages.map { String(decoding: $0.payload, as: UTF8.self) }) == ["hi home", "hello from alice"])
        try await client.markRead("family", on: homeID)
        #expect(try await client.conversations(servers: [homeID]).first { $0.summary.conversationID == "family" }?.summary.unreadCount == 0)

        await client.close()
        await home.stop()
        await work.stop()
    }

    @Test func theLiveConversationListFollowsNewMessages() async throws {
        let directory = ScratchDirectory()
        let home = try await TestServer.start("Home")
        let client = try makeClient(directory.path)
        await client.start()
        let homeID = try await client.addServer(home.address, signIn: await home.signIn())
        var updates = await client.conversationList().makeAsyncIterator()
        _ = await updates.next()  // the list as it is now
        await home.host.post(from: "alice", to: "work", text: "news")
        while let list = await updates.next() {
            if list.first?.summary.conversationID == "work", list.first?.serverID == homeID,
               list.first?.summary.unreadCount == 1 { break }
        }
        await client.close()
        await home.stop()
    }

    @Test func aKilledServerComesBackTheQueueDrainsAndTheGapFills() async throws {
        let directory = ScratchDirectory()
        let home = try await TestServer.start("Home")
        let client = try makeClient(directory.path, speed: 8) { configuration in
            // Small pages, one of them at once: the rest of the backlog becomes a gap.
            configuration.session.historyPageSize = 5
            configuration.session.foregroundHistoryPages = 1
        }
        let recorder = await EventRecorder.recording(client)
        await client.start()
        let homeID = try await connect(home, to: client, recorder: recorder)

        await home.stop()  // killed: no close frames, connections refused
        try await recorder.wait("the loss noticed") { $0.state(of: homeID) != .connected }
        var queued: [String] = []
        for number in 1...3 {
            queued.append(try await client.send(Array("while down \(number)".utf8), to: "family", on: homeID).clientMessageID)
        }
        for number in 1...30 {
            await home.host.post(from: "alice", to: "family", text: "missed \(number)")
        }
        #expect(try await client.outbox(on: homeID, states: [.queued]).count == 3)

        try await home.restart()
        let sends = queued
        try await recorder.wait("queue drained and gap filled") { events in
            sends.allSatisfy { events.sent(homeID, $0) }
                && events.has(homeID) { if case .gapFilled = $0 { true } else { false } }
        }
        #expect(await recorder.events.has(homeID) { if case .gapOpened = $0 { true } else { false } })
        for id in queued {
            #expect(await home.host.storedCount(clientMessageID: id, from: "me") == 1)
        }
        // Everything the server holds for the conversation is on the device, once.
        let onServer = await home.host.storedMessages.filter { $0.conversationID == "family" }.map(\.messageID)
        let page = try await client.messages(in: "family", on: homeID, limit: 100)
        #expect(page.messages.map(\.messageID).sorted() == onServer.sorted())
        #expect(!page.items.contains { if case .gap = $0 { true } else { false } })

        await client.close()
        await home.stop()
    }

    @Test func theHeartbeatNoticesABlackHoledServer() async throws {
        let directory = ScratchDirectory()
        let home = try await TestServer.start("Home")
        let work = try await TestServer.start("Work")
        let client = try makeClient(directory.path, speed: 15)
        let recorder = await EventRecorder.recording(client)
        await client.start()
        let (homeID, workID) = try await connect(home, work, to: client, recorder: recorder)

        // No close, no error: only the missing PONG can tell.
        await home.host.blackhole(for: .seconds(600))
        try await recorder.wait("the silent link dropped") { $0.state(of: homeID) != .connected }
        #expect(await home.host.connectionCount <= 1)

        // The other server never noticed.
        let item = try await client.send(Array("still here".utf8), to: "work", on: workID)
        try await recorder.wait("sent on the healthy server") { $0.sent(workID, item.clientMessageID) }
        await client.close()
        await home.stop()
        await work.stop()
    }

    @Test func anExpiredSessionWaitsForANewToken() async throws {
        let directory = ScratchDirectory()
        let home = try await TestServer.start("Home")
        let client = try makeClient(directory.path)
        let recorder = await EventRecorder.recording(client)
        await client.start()
        let homeID = try await connect(home, to: client, recorder: recorder)

        await home.host.expireSessions(of: "me")
        try await recorder.wait("auth failed, and told") { events in
            events.state(of: homeID) == .authFailed
                && events.has(homeID) { if case .authFailed = $0 { true } else { false } }
        }
        let queued = try await client.send(Array("after expiry".utf8), to: "family", on: homeID)
        #expect(await client.server(homeID)?.connectionState == .authFailed)

        try await client.updateSessionToken(await home.host.issueToken(for: "me"), for: homeID)
        try await recorder.wait("reconnected and sent") { $0.state(of: homeID) == .connected && $0.sent(homeID, queued.clientMessageID) }
        await client.close()
        await home.stop()
    }

    @Test func aServerRemovedWhileItSyncsIsGoneAndTheOthersCarryOn() async throws {
        let directory = ScratchDirectory()
        let home = try await TestServer.start("Home")
        let work = try await TestServer.start("Work")
        for number in 1...400 { await home.host.post(from: "alice", to: "family", text: "backlog \(number)") }
        let client = try makeClient(directory.path)
        let recorder = await EventRecorder.recording(client)
        let homeID = try await client.addServer(home.address, signIn: await home.signIn())
        let workID = try await client.addServer(work.address, signIn: await work.signIn())
        await client.start()
        try await recorder.wait("catch-up under way") { !$0.storedIDs(homeID).isEmpty }

        try await client.removeServer(homeID)
        try await recorder.wait("told of the removal") { $0.has(homeID, .serverRemoved) }
        #expect(await client.servers().map(\.id) == [workID])
        #expect(try await client.conversations().allSatisfy { $0.serverID == workID })
        await #expect(throws: OutpostError.self) { try await client.send([1], to: "family", on: homeID) }
        let partitions = try FileManager.default.contentsOfDirectory(atPath: directory.path + "/servers")
        #expect(!partitions.contains(homeID.hex))

        let item = try await client.send(Array("work goes on".utf8), to: "work", on: workID)
        try await recorder.wait("sent on the remaining server") { $0.sent(workID, item.clientMessageID) }
        // Nothing more arrives for the removed server.
        let storedForHome = await recorder.storedIDsCount(homeID)
        await work.host.post(from: "bob", to: "work", text: "marker")
        try await recorder.wait("a later message on the other server") { $0.storedIDs(workID).count >= 2 }
        #expect(await recorder.storedIDsCount(homeID) == storedForHome)
        await client.close()
        await home.stop()
        await work.stop()
    }

    @Test func backgroundThenForegroundReconnectsEveryServer() async throws {
        let directory = ScratchDirectory()
        let home = try await TestServer.start("Home")
        let work = try await TestServer.start("Work")
        let client = try makeClient(directory.path)
        let recorder = await EventRecorder.recording(client)
        await client.start()
        let (homeID, workID) = try await connect(home, work, to: client, recorder: recorder)

        await client.didEnterBackground()
        // The OS kills the sockets of a backgrounded app.
        await home.host.dropAllConnections()
        await work.host.dropAllConnections()
        try await recorder.wait("both dropped") { $0.state(of: homeID) == .disconnected && $0.state(of: workID) == .disconnected }
        let queued = try await client.send(Array("written in the background".utf8), to: "family", on: homeID)
        let mark = await recorder.events.count

        await client.willEnterForeground()
        try await recorder.wait("both back and the message sent") { events in
            let after = Array(events.dropFirst(mark))
            return after.state(of: homeID) == .connected && after.state(of: workID) == .connected
                && after.sent(homeID, queued.clientMessageID)
        }
        await client.close()
        await home.stop()
        await work.stop()
    }

    @Test func queuedMessagesSurviveAnAppRestartAndAreSentOnce() async throws {
        let directory = ScratchDirectory()
        let home = try await TestServer.start("Home")
        var queued: [String] = []
        let homeID: ServerID
        do {
            let client = try makeClient(directory.path)
            homeID = try await client.addServer(home.address, signIn: await home.signIn())
            await home.host.setDown(true)
            await client.start()
            for number in 1...3 {
                queued.append(try await client.send(Array("queued \(number)".utf8), to: "family", on: homeID).clientMessageID)
            }
            await client.close()  // the app is killed
        }
        await home.host.setDown(false)
        let client = try makeClient(directory.path)
        let recorder = await EventRecorder.recording(client)
        #expect(try await client.outbox(on: homeID, states: [.queued]).map(\.clientMessageID) == queued)
        await client.start()
        let sends = queued
        try await recorder.wait("all sent") { events in sends.allSatisfy { events.sent(homeID, $0) } }
        for id in queued {
            #expect(await home.host.storedCount(clientMessageID: id, from: "me") == 1)
        }
        await client.close()
        await home.stop()
    }
}

extension EventRecorder {
    func storedIDsCount(_ server: ServerID) -> Int { events.storedIDs(server).count }
}
