@_spi(Simulation) import OutpostTesting
import Testing

/// The client's behaviour as a front end sees it through `OutpostClientProtocol`, in a
/// simulated world: logic, not sockets (the runtime's own tests keep what needs real ones).
@MainActor
struct ClientLogicTests {
    @Test(arguments: [ServerBehaviour.legacy, .extended, .upstream])
    func aPermanentFailureIsVisibleAndDoesNotBlockTheQueue(behaviour: ServerBehaviour) async throws {
        let world = try SimulatedWorld(seed: 21)
        let home = try world.addServer(behaviour, host: "home.example", conversations: ["family"])
        let client = world.client
        let stranger = try await client.send(Array("to a conversation I am not in".utf8), to: "secret", on: home)
        let later = try await client.send(Array("to family".utf8), to: "family", on: home)
        try world.runUntilIdle()
        let failed = try await client.outbox(on: home, states: [.failed])
        #expect(failed.map(\.clientMessageID) == [stranger.clientMessageID])
        #expect(failed.first?.failure?.reason.isEmpty == false)
        #expect(try await client.outbox(on: home, states: [.sent]).map(\.clientMessageID) == [later.clientMessageID])

        // Retried, it fails again with the same id; cancelled, it is never sent.
        let events = await client.events()
        try await client.retry(stranger.clientMessageID, on: home)
        var failures = 0
        for await event in events {
            if case .outboxItemFailed(let id, _) = event.kind, id == stranger.clientMessageID { failures += 1 }
        }
        #expect(failures == 1)
        try await client.cancel(stranger.clientMessageID, on: home)
        #expect(try await client.outbox(on: home, states: [.cancelled]).map(\.clientMessageID) == [stranger.clientMessageID])
        #expect(await client.server(home)?.pendingOutboxCount == 0)
    }

    @Test func losingTheNetworkWaitsAndItsReturnReconnectsAtOnce() async throws {
        let world = try SimulatedWorld(seed: 22)
        let home = try world.addServer(.extended, host: "home.example")
        try world.runUntilIdle()
        await world.client.networkLost()
        #expect(await world.client.server(home)?.connectionState == .disconnected)
        // However long the device is offline, nothing is tried …
        let events = await world.client.events()
        world.advance(by: .seconds(3_600))
        #expect(await world.client.server(home)?.connectionState == .disconnected)
        // … and when the network is back, the client reconnects without waiting for a backoff.
        await world.client.networkRestored()
        let back = world.elapsed
        for await event in events where event.server == home {
            if case .connectionStateChanged(.connected) = event.kind { break }
        }
        #expect(await world.client.server(home)?.connectionState == .connected)
        #expect(world.elapsed - back < .seconds(1), "reconnected \(world.elapsed - back) after the network came back")
        try world.check()
    }

    @Test func aServerThatCannotBeReachedSaysWhyAndWhenItTriesAgain() async throws {
        let world = try SimulatedWorld(seed: 23)
        let home = try world.addServer(.extended, host: "home.example")
        try world.runUntilIdle()
        let events = await world.client.events()
        world.inject(.outage, on: [home], for: .seconds(600))
        var reasons: [DisconnectReason.Kind] = []
        for await event in events where event.server == home {
            if case .disconnected(let reason) = event.kind { reasons.append(reason.kind) }
            if reasons.count == 3 { break }
        }
        // The first said the connection was lost; the attempts after it timed out.
        #expect(reasons.first == .connectionLost, "\(reasons)")
        #expect(reasons.dropFirst().allSatisfy { $0 == .timeout }, "\(reasons)")
        let info = try #require(await world.client.server(home))
        #expect(info.connectionState != .connected)
        #expect(info.lastError?.reason.kind == .timeout)
        #expect(info.lastError?.message.isEmpty == false)
        #expect(info.consecutiveFailures >= 2)
        let retry = try #require(info.nextRetryAt)
        #expect(retry > world.now)

        try world.runUntilIdle()
        let healed = try #require(await world.client.server(home))
        #expect(healed.connectionState == .connected)
        #expect(healed.consecutiveFailures == 0)
        #expect(healed.nextRetryAt == nil)
    }

    @Test func theCheckerFailsATestWithTheReproLine() async throws {
        // A client that leaves one received message in a hundred unstored, though acknowledged.
        let world = try SimulatedWorld(seed: 24, deliberateBug: .dropOneInHundred)
        let home = try world.addServer(.extended, host: "home.example")
        try world.runUntilIdle()
        for number in 0..<150 { world.post("message \(number)", in: "general", on: home) }
        try world.runUntilIdle()
        let failure = #expect(throws: WorldCheckFailure.self) { try world.check() }
        #expect(failure?.violations.isEmpty == false)
        #expect(failure?.violations.allSatisfy { $0.contains("was lost") } == true, "\(failure?.violations ?? [])")
        #expect(failure?.description.contains("reproduce: swift test --filter 'ClientLogicTests.theCheckerFailsATestWithTheReproLine'") == true,
                "\(failure?.description ?? "")")
    }

    /// A message that expires offline, never sent, is the lifespan's promise kept: the checker
    /// tells it apart from a lost one and lets it pass.
    @Test func anItemThatExpiredUnsentIsNotALoss() async throws {
        let world = try SimulatedWorld(seed: 25)
        let home = try world.addServer(.extended, host: "home.example")
        try world.runUntilIdle()
        world.pullPlug()
        let brief = try await world.client.send(Array("brief".utf8), to: "general", on: home, messageType: "text",
                                                lifespan: .seconds(5))
        world.advance(by: .seconds(60))
        world.plugIn()
        try world.check()
        #expect(try await world.client.outbox(on: home, states: [.expired]).map(\.clientMessageID) == [brief.clientMessageID])
        #expect(world.serverMessages(on: home, in: "general").isEmpty)
    }

    /// Sent, stored by the server, its answer lost in a black hole; its lifespan runs out while
    /// the client waits. When the history shows the message, the item is sent after all, not
    /// left expired (what the client once did; the checker calls that out). A server without
    /// history never shows it: there it stays expired, the protocol's ambiguity.
    @Test(arguments: [ServerBehaviour.extended, .upstream])
    func anItemThatExpiredAfterTheServerStoredItIsSent(behaviour: ServerBehaviour) async throws {
        let world = try SimulatedWorld(seed: 26)
        let home = try world.addServer(behaviour, host: "home.example")
        try world.runUntilIdle()
        let events = await world.client.events()
        let item = try await world.client.send(Array("stored, unanswered".utf8), to: "general", on: home, messageType: "text",
                                               lifespan: .seconds(10))
        world.advance(by: .milliseconds(45))  // on the server (30 ms away); its answer on the way back
        world.blackHole([home], for: .seconds(120))
        #expect(world.serverMessages(on: home, in: "general") == ["stored, unanswered"])
        var states: [String] = []
        let hasHistory = behaviour != .upstream
        for await event in events {
            switch event.kind {
            case .outboxItemExpired(let id) where id == item.clientMessageID: states.append("expired")
            case .outboxItemSent(let id, _) where id == item.clientMessageID: states.append("sent")
            default: continue
            }
            if states.last == "sent" { break }
        }
        #expect(states == (hasHistory ? ["expired", "sent"] : ["expired"]))
        let shown = try await world.client.outbox(on: home, states: [hasHistory ? .sent : .expired])
        #expect(shown.map(\.clientMessageID) == [item.clientMessageID])
        try world.check()
    }

    @Test func aScenarioFileRunsFromATest() throws {
        let result = try SimulatedWorld.runScenario("black-hole", seed: 3)
        #expect(result.passed)
        let again = try SimulatedWorld.runScenario("black-hole", seed: 3)
        #expect(again.traceHash == result.traceHash)
    }
}
