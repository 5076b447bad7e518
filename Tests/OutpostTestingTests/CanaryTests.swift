@_spi(Simulation) import OutpostTesting
import Testing

/// Every property the checker holds a client to has a canary: a deliberately broken client
/// that violates it, caught on every server behaviour where the property can be seen. A check
/// that let its canary through would be a check that cannot fail.
@MainActor
struct CanaryTests {
    /// Received, acknowledged, then one in a hundred left unstored: lost, wherever it happens
    /// (on a legacy server too: the message reached the running client).
    @Test(arguments: [ServerBehaviour.legacy, .extended, .upstream])
    func aDroppedReceivedMessageIsCaught(behaviour: ServerBehaviour) async throws {
        let world = try SimulatedWorld(seed: 51, deliberateBug: .dropOneInHundred)
        let home = try world.addServer(behaviour, host: "home.example")
        try world.runUntilIdle()
        for number in 0..<250 {
            world.post("message \(number)", in: "general", on: home)
            world.advance(by: .milliseconds(200))
        }
        try expectCaught(world, "lost")
    }

    /// Acknowledged before it was committed, then the app dies: a server with history has
    /// ended the message's pending, and the cursor had moved past it. (On a legacy server
    /// pending ends when the push is queued, so there it cannot be told from the server's loss.)
    @Test func anAcknowledgementBeforeTheCommitIsCaught() async throws {
        let world = try SimulatedWorld(seed: 52, deliberateBug: .acknowledgeBeforeStoring)
        let home = try world.addServer(.extended, host: "home.example")
        try world.runUntilIdle()
        for number in 0..<20 { world.post("message \(number)", in: "general", on: home) }
        world.advance(by: .seconds(2))
        world.killApp()
        try expectCaught(world, "lost")
    }

    /// After a relaunch the outbox goes newest first: the server's order is not the user's.
    @Test(arguments: [ServerBehaviour.legacy, .extended, .upstream])
    func anOutboxOutOfOrderIsCaught(behaviour: ServerBehaviour) async throws {
        let world = try SimulatedWorld(seed: 53, deliberateBug: .reorderOutboxAfterRelaunch)
        let home = try world.addServer(behaviour, host: "home.example", conversations: ["family"])
        try world.runUntilIdle()
        world.pullPlug()
        for number in 1...3 { try await world.client.send(Array("family \(number)".utf8), to: "family", on: home) }
        world.killApp()
        world.advance(by: .seconds(30))
        world.plugIn()
        try expectCaught(world, "outbound order")
    }

    /// An item the server stored, expired waiting for the lost answer, left expired when the
    /// history shows it (only a server with client message ids and history can show it).
    @Test func anExpiredItemTheServerStoredIsCaught() async throws {
        let world = try SimulatedWorld(seed: 54, deliberateBug: .keepExpiredAfterSending)
        let home = try world.addServer(.extended, host: "home.example")
        try world.runUntilIdle()
        try await world.client.send(Array("stored, unanswered".utf8), to: "general", on: home, messageType: "text",
                                    lifespan: .seconds(10))
        world.advance(by: .milliseconds(45))
        world.blackHole([home], for: .seconds(120))
        world.advance(by: .seconds(100))  // expired while the black hole lasts
        try expectCaught(world, "shown expired, but the server stored it")
    }

    private func expectCaught(_ world: SimulatedWorld, _ verdict: String) throws {
        let failure = #expect(throws: WorldCheckFailure.self) { try world.check() }
        #expect(failure?.violations.contains { $0.contains(verdict) } == true, "\(failure?.violations ?? [])")
    }
}
