import OutpostTesting
import Testing

/// Every fault a test can call, on every server behaviour: the world runs it, heals, and the
/// simulator's checker finds nothing lost, duplicated, reordered or unseen.
@MainActor
struct FaultCallTests {
    enum FaultCall: String, CaseIterable, Sendable {
        case dropConnections, blackHole, partition, flap, background, pullPlug, killAndRelaunch, restartServer,
             clockStep, sessionExpiry, rateLimit, storageFailure, crashAtWrite, crashDuringRelaunch, lowPower

        @MainActor func apply(to world: SimulatedWorld, on server: ServerID) {
            switch self {
            case .dropConnections: world.dropConnections(on: [server])
            case .blackHole: world.blackHole([server], for: .seconds(90))
            case .partition: world.partition([server], for: .seconds(120))
            case .flap: world.flap([server], times: 3, every: .seconds(15))
            case .background: world.background(for: .seconds(300))
            case .pullPlug:
                world.pullPlug()
                world.advance(by: .seconds(200))
                world.plugIn()
            case .killAndRelaunch: world.killApp()
            case .restartServer: world.restartServer([server])
            case .clockStep: world.stepClock(on: [server], by: -90)
            case .sessionExpiry: world.expireSession(on: [server])
            case .rateLimit: world.rateLimit([server], for: .seconds(60))
            case .storageFailure: world.failStorage(atWrite: 2, count: 2, error: "io_error")
            case .crashAtWrite: world.crashAtWrite(3)
            case .crashDuringRelaunch: world.crashDuringRelaunch(atWrite: 2)
            case .lowPower: world.inject(.lowPower, for: .seconds(600))
            }
        }
    }

    @Test(arguments: FaultCall.allCases, [ServerBehaviour.legacy, .extended, .upstream])
    func aFaultHealsWithNothingLost(fault: FaultCall, behaviour: ServerBehaviour) async throws {
        let world = try SimulatedWorld(seed: 31)
        let home = try world.addServer(behaviour, host: "home.example", conversations: ["family", "friends"], peers: ["alice", "bob"])
        try world.runUntilIdle()
        for round in 0..<3 {
            world.post("before \(round)", in: "family", on: home)
            try await world.client.send(Array("mine before \(round)".utf8), to: "friends", on: home)
            world.advance(by: .seconds(2))
        }
        fault.apply(to: world, on: home)
        for round in 0..<3 {
            world.post("during \(round)", in: "friends", on: home, from: "bob")
            if world.isAppRunning {
                try await world.client.send(Array("mine during \(round)".utf8), to: "family", on: home)
            }
            world.advance(by: .seconds(20))
        }
        try world.check()
        #expect(await world.client.server(home)?.connectionState == .connected)
    }

    @Test func aSimulatedDayOfThreeServers() async throws {
        let world = try SimulatedWorld(seed: 32)
        let servers = [
            try world.addServer(.legacy, host: "legacy.example"),
            try world.addServer(.extended, host: "extended.example"),
            try world.addServer(.upstream, host: "upstream.example"),
        ]
        for hour in 0..<24 {
            for (number, server) in servers.enumerated() {
                world.post("hour \(hour)", in: "general", on: server)
                try await world.client.send(Array("mine \(hour)".utf8), to: "general", on: server)
                if hour % 6 == number { world.dropConnections(on: [server]) }
            }
            if hour == 12 { world.killApp() }
            world.advance(by: .seconds(3_600))
        }
        try world.check()
        #expect(world.elapsed >= .seconds(24 * 3_600))
    }

    /// Faults nest: a black hole that ends inside a partition leaves the partition in force.
    @Test func aBlackHoleEndingInsideAPartitionDoesNotLiftIt() async throws {
        let world = try SimulatedWorld(seed: 33)
        let home = try world.addServer(.extended, host: "home.example")
        try world.runUntilIdle()
        world.partition([home], for: .seconds(600))
        world.advance(by: .seconds(10))
        world.blackHole([home], for: .seconds(100))
        world.advance(by: .seconds(300))
        #expect(await world.client.server(home)?.connectionState != .connected, "the partition has 290 s to go")
        world.advance(by: .seconds(300))
        try world.runUntilIdle()
        #expect(await world.client.server(home)?.connectionState == .connected)
        try world.check()
    }

    /// What the user wrote offline reaches each conversation in the order written, across a
    /// relaunch; the checker compares the server's order with the user's.
    @Test(arguments: [ServerBehaviour.legacy, .extended, .upstream])
    func writtenOfflineArrivesInOrderAfterARelaunch(behaviour: ServerBehaviour) async throws {
        let world = try SimulatedWorld(seed: 34)
        let home = try world.addServer(behaviour, host: "home.example", conversations: ["family", "friends"])
        try world.runUntilIdle()
        world.pullPlug()
        for number in 1...4 {
            try await world.client.send(Array("family \(number)".utf8), to: "family", on: home)
            try await world.client.send(Array("friends \(number)".utf8), to: "friends", on: home)
        }
        world.killApp()
        world.advance(by: .seconds(30))
        world.plugIn()
        try world.runUntilIdle()
        #expect(world.serverMessages(on: home, in: "family") == ["family 1", "family 2", "family 3", "family 4"])
        #expect(world.serverMessages(on: home, in: "friends") == ["friends 1", "friends 2", "friends 3", "friends 4"])
        try world.check()
    }
}
