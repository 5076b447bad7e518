import Foundation
import OutpostTesting
import Testing

/// The testing kit from the outside, as an app's test target uses it.
@MainActor
struct SimulatedWorldTests {
    /// One short story: two servers, a pulled plug, messages written offline, a kill and a
    /// relaunch on the same data, peers writing meanwhile. Returns the world for inspection.
    private func story(seed: UInt64, behaviour: ServerBehaviour = .extended) async throws -> SimulatedWorld {
        let world = try SimulatedWorld(seed: seed)
        let home = try world.addServer(behaviour, host: "home.example", conversations: ["family", "friends"])
        let work = try world.addServer(.legacy, host: "work.example", conversations: ["team"], peers: ["bob"])
        try world.runUntilIdle()
        world.pullPlug()
        try await world.client.send(Array("one".utf8), to: "family", on: home)
        try await world.client.send(Array("two".utf8), to: "team", on: work)
        world.post("from alice", in: "family", on: home)
        world.advance(by: .seconds(30))
        world.killApp()
        world.advance(by: .seconds(10))
        world.plugIn()
        try world.runUntilIdle()
        return world
    }

    @Test func theSameCallsGiveTheSameTraceTwiceInOneProcess() async throws {
        let first = try await story(seed: 11)
        let second = try await story(seed: 11)
        let other = try await story(seed: 12)
        #expect(first.traceHash == second.traceHash)
        #expect(first.traceHash != other.traceHash)
        #expect(first.elapsed == second.elapsed)
        // Across processes: CI runs this test twice and compares what it writes here.
        if let path = ProcessInfo.processInfo.environment["OUTPOST_WORLD_TRACE_OUT"] {
            try "\(first.traceHash)\n".write(toFile: path, atomically: true, encoding: .utf8)
        }
    }

    @Test(arguments: [ServerBehaviour.legacy, .extended, .upstream])
    func writtenOfflineSentAfterRelaunch(behaviour: ServerBehaviour) async throws {
        let world = try await story(seed: 3, behaviour: behaviour)
        let servers = await world.client.servers()
        #expect(servers.map(\.name).sorted() == ["home.example", "work.example"])
        #expect(servers.map(\.pendingOutboxCount) == [0, 0])
        #expect(servers.allSatisfy { $0.connectionState == .connected })
        let home = servers.first { $0.name == "home.example" }!.id
        #expect(world.serverMessages(on: home, in: "family") == ["one", "from alice"] || world.serverMessages(on: home, in: "family") == ["from alice", "one"])
        let shown = try await world.client.messages(in: "family", on: home).messages.map { String(decoding: $0.payload, as: UTF8.self) }
        #expect(Set(shown) == ["one", "from alice"])
        try world.check()
    }

    @Test func aKilledAppsClientIsClosedAndItsStreamsEnd() async throws {
        let world = try SimulatedWorld(seed: 5)
        let home = try world.addServer(.extended, host: "home.example")
        let before = world.client
        let events = await before.events()
        world.killApp(relaunchAfter: nil)
        #expect(!world.isAppRunning)
        await #expect(throws: OutpostError.self) { try await before.send([1], to: "general", on: home) }
        var iterator = events.makeAsyncIterator()
        #expect(await iterator.next() == nil)
        world.relaunch()
        #expect(world.client !== before)
        #expect(world.client.isRunning)
        try world.runUntilIdle()
        #expect(await world.client.server(home)?.connectionState == .connected)
    }

    @Test func streamsMoveVirtualTimeUntilTheyHaveSomething() async throws {
        let world = try SimulatedWorld(seed: 9)
        let home = try world.addServer(.extended, host: "home.example")
        var states: [ConnectionState] = []
        for await state in await world.client.connectionStates(of: home) {
            states.append(state)
            if state == .connected { break }
        }
        #expect(states.first == .disconnected || states.first == .connecting)
        #expect(states.last == .connected)
        #expect(world.elapsed > .zero)
        // A message from someone else: the list updates, and a notification names it.
        let notifications = await world.client.notifications()
        world.post("hello", in: "general", on: home)
        var lists = await world.client.conversationList()
        var iterator = notifications.makeAsyncIterator()
        let notification = await iterator.next()
        #expect(notification?.conversations.first?.messageIDs.count == 1)
        var listIterator = lists.makeAsyncIterator()
        let list = await listIterator.next()
        #expect(list?.first?.summary.unreadCount == 1)
        lists = await world.client.conversationList()
        _ = lists
        // Nothing more happens: the stream ends instead of waiting for ever.
        try world.runUntilIdle()
        #expect(await iterator.next() == nil)
    }

    /// The example of the documentation (`GettingStarted.md`), as written there.
    @Test func waitingToSendSurvivesARelaunch() async throws {
        let world = try SimulatedWorld(seed: 7)
        let home = try world.addServer(.extended, host: "home.example", conversations: ["family"])
        world.pullPlug()
        try await world.client.send(Array("offline".utf8), to: "family", on: home)
        world.killApp(relaunchAfter: nil)
        world.relaunch()
        #expect(await world.client.server(home)?.pendingOutboxCount == 1)
        world.plugIn()
        try world.runUntilIdle()
        #expect(await world.client.server(home)?.pendingOutboxCount == 0)
        try world.check()
    }
}
