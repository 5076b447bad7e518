import OutpostChatKit
import OutpostTesting
import Testing

/// The chat's own logic (its "waiting to send" count and its server list) through a pulled
/// plug and a relaunch, in a simulated world: no socket, no wall clock, the same run every time.
@MainActor
struct ChatModelTests {
    /// What the chat printed, in order.
    final class Transcript: @unchecked Sendable {
        // Only touched from the chat's actor while the test awaits it, one call at a time.
        var lines: [String] = []
    }

    struct Outcome: Equatable {
        var traceHash: UInt64
        var transcript: [String]
    }

    /// The story: a home server and a work server; the plug is pulled, the user writes two
    /// messages, the app is killed and relaunched offline, the plug goes back in.
    private func pulledPlugAndRelaunch(seed: UInt64, expectingWaiting waitingAfterRelaunch: Int = 2) async throws -> Outcome {
        let world = try SimulatedWorld(seed: seed)
        let home = try world.addServer(.extended, host: "home.example", conversations: ["family"])
        try world.addServer(.legacy, host: "work.example", conversations: ["team"], peers: ["bob"])
        try world.runUntilIdle()

        let transcript = Transcript()
        var chat = ChatModel(client: world.client, conversation: "family", output: { transcript.lines.append($0) },
                             now: { [world] in MainActor.assumeIsolated { world.now } })
        try await chat.open(serverNumber: 1, conversation: "family")
        #expect(await chat.server == home)
        #expect(try await chat.command("before the cut"))
        try world.runUntilIdle()
        try world.expect(await chat.waitingToSend(), 0, "waiting to send while online")

        world.pullPlug()
        _ = try await chat.command("written offline 1")
        _ = try await chat.command("written offline 2")
        try world.expect(await chat.waitingToSend(), 2, "waiting to send after writing offline")
        let offline = await chat.serverLines()
        #expect(offline[0].contains("home.example https://home.example: Disconnected, 2 waiting to send"), "\(offline)")
        #expect(offline[1].contains("work.example https://work.example: Disconnected, 0 waiting to send"), "\(offline)")

        // The app dies offline and comes back on the same data: a new client, a new chat.
        world.killApp(relaunchAfter: nil)
        world.advance(by: .seconds(20))
        world.relaunch()
        chat = ChatModel(client: world.client, conversation: "family", output: { transcript.lines.append($0) },
                         now: { [world] in MainActor.assumeIsolated { world.now } })
        try world.expect(await chat.waitingToSend(), waitingAfterRelaunch, "waiting to send after the relaunch")

        // The plug goes back in: the chat follows the events until both are confirmed sent.
        let events = await world.client.events()
        world.plugIn()
        var confirmed = 0
        for await event in events {
            try await chat.handle(event)
            if case .outboxItemSent = event.kind { confirmed += 1 }
            if confirmed == 2 { break }
        }
        try world.runUntilIdle()
        try world.expect(await chat.waitingToSend(), 0, "waiting to send once back online")
        #expect(await chat.serverLines().allSatisfy { $0.contains(": Connected, 0 waiting to send") })
        #expect(transcript.lines.filter { $0.hasPrefix("  ✓ sent") }.count == 2)
        #expect(world.serverMessages(on: home, in: "family") == ["before the cut", "written offline 1", "written offline 2"])
        try world.check()
        return Outcome(traceHash: world.traceHash, transcript: transcript.lines)
    }

    @Test func waitingToSendSurvivesAPulledPlugAndARelaunch() async throws {
        let first = try await pulledPlugAndRelaunch(seed: 42)
        let second = try await pulledPlugAndRelaunch(seed: 42)
        // Deterministic: the same trace, and the same lines on screen.
        #expect(first == second)
    }

    @Test func aWrongExpectationFailsWithTheReproLine() async throws {
        let failure = await #expect(throws: WorldCheckFailure.self) {
            try await pulledPlugAndRelaunch(seed: 42, expectingWaiting: 1)
        }
        let message = failure?.description ?? ""
        #expect(message.contains("waiting to send after the relaunch: expected 1, got 2"), "\(message)")
        #expect(message.contains("reproduce: swift test --filter 'ChatModelTests.aWrongExpectationFailsWithTheReproLine'"), "\(message)")
        #expect(message.contains("world seed 42"), "\(message)")
    }
}
