import Foundation
@_spi(Simulation) import OutpostClientCore
@_spi(Simulation) import OutpostSimulation
import OutpostSync
import Testing

/// The simulator's own guarantees, checked through the same library `outpost-sim` uses.
@Suite("Simulator")
struct SimulationTests {
    /// A new, empty directory: tests run in parallel, and each run needs its own.
    static func scratch() -> String {
        var template = Array((NSTemporaryDirectory() + "outpost-simulation-XXXXXX").utf8CString)
        return String(cString: template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!)! })
    }

    static func run(_ scenario: Scenario, seed: UInt64) -> SimulationResult {
        let directory = scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return Simulation(scenario: scenario, options: .init(seed: seed, workDirectory: directory)).run()
    }

    static func scenario(_ name: String) throws -> Scenario {
        try ScenarioLibrary.load(ScenarioLibrary.directory(startingAt: #filePath)! + "/\(name).json")
    }

    /// Every named scenario except the thousand-server day, which `.ci/run` runs in a release build.
    static let namedScenarios = [
        "commuters-day", "legacy-buffer-weakness", "clock-step-back", "session-expiry-full-queue", "removal-during-catch-up",
        "kill-during-catch-up", "half-partitioned", "flapping-network", "black-hole", "restarts-and-rate-limits", "swarm",
        "storage-failures", "remove-and-readd-while-connecting", "history-without-sequence", "poison-messages",
        "redelivery-storm", "clock-steps-and-unread", "six-devices", "unavailable-partition", "upstream-two-devices",
        "upstream-kills-and-large-posts", "swarm-upstream", "low-power",
    ]

    @Test(arguments: namedScenarios)
    func aNamedScenarioPassesItsChecker(name: String) throws {
        let scenario = try Self.scenario(name)
        let result = Self.run(scenario, seed: scenario.seed ?? 1)
        #expect(result.violations.isEmpty, "\(result.violations.prefix(5))")
        #expect(result.statistics.events > 1_000)
    }

    /// The scenarios of the client core's faults really exercise them (a scenario whose fault
    /// never happened would pass for nothing).
    @Test(arguments: [
        ("storage-failures", \Simulation.Statistics.storageFailures),
        ("remove-and-readd-while-connecting", \Simulation.Statistics.serversReadded),
        ("poison-messages", \Simulation.Statistics.messagesSetAside),
        ("unavailable-partition", \Simulation.Statistics.unavailableRemoved),
        ("upstream-two-devices", \Simulation.Statistics.lateCloseDeafenings),
        ("upstream-kills-and-large-posts", \Simulation.Statistics.oversizedPushes),
    ])
    func aFaultScenarioExercisesItsFault(name: String, counter: KeyPath<Simulation.Statistics, Int> & Sendable) throws {
        let scenario = try Self.scenario(name)
        let result = Self.run(scenario, seed: scenario.seed ?? 1)
        #expect(result.passed, "\(result.violations.prefix(5))")
        #expect(result.statistics[keyPath: counter] > 0)
    }

    @Test func everyScenarioFileIsValidAndTheLibraryHasAtLeastTenBesidesSwarm() throws {
        let names = ScenarioLibrary.names()
        #expect(Set(Self.namedScenarios + ["thousand-servers-day"]).isSubset(of: Set(names)))
        #expect(names.filter { $0 != "swarm" }.count >= 10)
        let thousand = try Self.scenario("thousand-servers-day")
        #expect(thousand.servers.count == 1_000 && thousand.durationSeconds == 24 * 3600)
        #expect(try Self.scenario("commuters-day").servers.count == 20)
    }

    @Test(arguments: [
        (#"{"name": "x"}"#, "$: required property \"description\" is missing"),
        (#"{"name":"x","description":"d","duration_seconds":10,"liveness_seconds":60,"swarm":false,"servers":{"count":0,"behaviour":"legacy","peers_per_server":1,"conversations_per_server":1},"network":{"latency_ms":1,"jitter_ms":0},"workload":{"peer_messages_per_hour":1,"user_messages_per_hour":1},"client":{"pool_capacity":4},"faults":[]}"#,
         "$.servers.count: 0 is less than the minimum 1"),
        (#"{"name":"x","description":"d","duration_seconds":10,"liveness_seconds":60,"swarm":false,"servers":{"count":1,"behaviour":"legacy","peers_per_server":1,"conversations_per_server":1},"network":{"latency_ms":1,"jitter_ms":0},"workload":{"peer_messages_per_hour":1,"user_messages_per_hour":1},"client":{"pool_capacity":4},"faults":[{"at_seconds":1,"kind":"flop"}]}"#,
         "$.faults[0].kind: \"flop\" is not one of"),
        (#"{"name":"x","description":"d","duration_seconds":"long","liveness_seconds":60,"swarm":false,"servers":{"count":1,"behaviour":"legacy","peers_per_server":1,"conversations_per_server":1},"network":{"latency_ms":1,"jitter_ms":0},"workload":{"peer_messages_per_hour":1,"user_messages_per_hour":1},"client":{"pool_capacity":4},"faults":[]}"#,
         "$.duration_seconds: expected integer, got string \"long\""),
    ])
    func aBadScenarioFileGetsAnErrorNamingTheFieldAndWhy(json: String, expected: String) {
        #expect { try Scenario.load(from: Data(json.utf8)) } throws: { error in
            String(describing: error).contains(expected)
        }
    }

    @Test func theSameSeedGivesTheSameTraceOverTwentySeeds() throws {
        let scenario = try Self.scenario("swarm")
        for seed in UInt64(1)...20 {
            let first = Self.run(scenario, seed: seed)
            let second = Self.run(scenario, seed: seed)
            #expect(first.traceHash == second.traceHash, "seed \(seed)")
            #expect(first.statistics == second.statistics, "seed \(seed)")
        }
        #expect(Self.run(scenario, seed: 1).traceHash != Self.run(scenario, seed: 2).traceHash)
    }

    /// A hundred swarm seeds, in two shards of fifty that run side by side (CI sweeps three
    /// hundred more with the release build, where they cost a fraction of this).
    @Test(arguments: 0..<2)
    func aSweepOfAHundredSwarmSeedsPasses(shard: Int) throws {
        let scenario = try Self.scenario("swarm")
        var failures: [String] = []
        for seed in UInt64(1_000 + 50 * shard)..<UInt64(1_050 + 50 * shard) {
            let result = Self.run(scenario, seed: seed)
            if !result.passed { failures.append("seed \(seed): \(result.violations.first ?? "")") }
        }
        #expect(failures.isEmpty, "\(failures.prefix(5))")
    }

    /// Kill the process at every storage write k = 1…N of a catch-up, in turn: every run passes.
    @Test func crashAnywhereDuringCatchUp() throws {
        let base = try Self.scenario("kill-during-catch-up")
        for k in Int64(1)...60 {
            var scenario = base
            scenario.faults = base.faults.filter { $0.kind != .killAtWrite }
                + [Scenario.Fault(atSeconds: 3_059, kind: .killAtWrite, amount: k)]
            let result = Self.run(scenario, seed: 1)
            #expect(result.passed, "kill at write \(k): \(result.violations.prefix(3))")
            #expect(result.statistics.kills >= 1, "kill at write \(k) never happened")
        }
    }

    /// A client that forgets one message in a hundred is caught on every kind of server, upstream
    /// included: the checker's accounting of what a server without history loses by design
    /// leaves no room to hide a loss of the client's.
    @Test(arguments: ["upstream", "legacy", "extended"])
    func aClientThatDropsMessagesIsCaughtOnEveryKindOfServer(behaviour: String) throws {
        var scenario = try Self.scenario("upstream-two-devices")
        scenario.servers.behaviour = behaviour
        let honest = Self.run(scenario, seed: 1)
        #expect(honest.passed, "\(honest.violations.prefix(3))")
        scenario.client.deliberateBug = .dropOneInHundred
        let broken = Self.run(scenario, seed: 1)
        #expect(broken.violations.contains { $0.contains("was lost") }, "\(broken.violations.prefix(3))")
    }

    /// A client that acknowledges before it stores is caught by the checker, and shrinking
    /// keeps only the faults needed to show it.
    @Test func aDeliberatelyBrokenClientIsCaughtAndShrunk() throws {
        var scenario = try Self.scenario("kill-during-catch-up")
        scenario.client.deliberateBug = .acknowledgeBeforeStoring
        // Add noise the shrinker should remove.
        scenario.faults += [
            Scenario.Fault(atSeconds: 4_000, kind: .reset), Scenario.Fault(atSeconds: 4_500, kind: .background, durationSeconds: 60),
            Scenario.Fault(atSeconds: 5_000, kind: .clockStep, servers: [0], amount: -5),
        ]
        var caught: (seed: UInt64, k: Int64, result: SimulationResult)?
        search: for k in Int64(15)...40 {
            var candidate = scenario
            candidate.faults = scenario.faults.filter { $0.kind != .killAtWrite } + [Scenario.Fault(atSeconds: 3_059, kind: .killAtWrite, amount: k)]
            let result = Self.run(candidate, seed: 1)
            if !result.passed {
                caught = (1, k, result)
                scenario = candidate
                break search
            }
        }
        let failure = try #require(caught, "the checker never caught the broken client")
        #expect(failure.result.violations.contains { $0.contains("was lost") })

        let shrunk = try #require(Shrinker.shrink(scenario, seed: 1) { Self.run($0, seed: 1).violations })
        #expect(!shrunk.violations.isEmpty)
        #expect(shrunk.scenario.faults.count < scenario.faults.count)
        #expect(shrunk.scenario.faults.contains { $0.kind == .killAtWrite })
        #expect(!shrunk.scenario.faults.contains { $0.kind == .reset || $0.kind == .clockStep || $0.kind == .background })
        // The shrunk schedule is a valid scenario file that still fails.
        let reloaded = try Scenario.load(from: shrunk.scenario.encoded())
        #expect(!Self.run(reloaded, seed: 1).passed)
    }

    /// Low-power mode stretches the heartbeat and nothing else: the same day without it sends
    /// far more heartbeats and opens as many connections. (Without the black hole, which a
    /// slower heartbeat notices later, so the reconnects that follow it fall differently.)
    @Test func lowPowerModeStretchesTheHeartbeatAndKeepsEveryConnection() throws {
        var lowPower = try Self.scenario("low-power")
        lowPower.faults.removeAll { $0.kind == .blackhole }
        var normal = lowPower
        normal.faults.removeAll { $0.kind == .lowPower }
        let stretched = Self.run(lowPower, seed: 1)
        let usual = Self.run(normal, seed: 1)
        #expect(stretched.passed, "\(stretched.violations.prefix(5))")
        #expect(usual.passed, "\(usual.violations.prefix(5))")
        #expect(Double(stretched.statistics.heartbeats) < 0.6 * Double(usual.statistics.heartbeats),
                "\(stretched.statistics.heartbeats) heartbeats in low-power mode, \(usual.statistics.heartbeats) without")
        #expect(stretched.statistics.connectionsOpened == usual.statistics.connectionsOpened,
                "\(stretched.statistics.connectionsOpened) connections in low-power mode, \(usual.statistics.connectionsOpened) without")
    }

    @Test func theLegacyBufferWeaknessLosesMessagesAndTheCheckerBlamesTheServer() throws {
        let result = Self.run(try Self.scenario("legacy-buffer-weakness"), seed: 1)
        #expect(result.passed)
        #expect(result.statistics.droppedPushes > 0)
        #expect(result.statistics.serverLosses > 0)
    }

    @Test func theReportShowsATimelinePerServer() throws {
        let scenario = try Self.scenario("black-hole")
        let directory = Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = Simulation.Options(seed: 1, workDirectory: directory)
        options.recordTimeline = true
        let result = Simulation(scenario: scenario, options: options).run()
        let html = Report.html(result)
        #expect(result.timeline.servers.count == scenario.servers.count)
        #expect(html.contains("server 0 (") && html.contains("server 3 ("), "each row names the server's behaviour")
        #expect(html.contains("Connected"))
        // A time axis, and a mark for each fault, its end and the heal, at the time it happened.
        #expect(html.contains(">0:00:00</text>") && html.contains(">0:10:00</text>"))
        #expect(result.timeline.markers.map(\.kind) == [.fault, .faultEnds, .fault, .faultEnds, .heal])
        #expect(html.contains("0:10:00: blackhole on servers 0, 1") && html.contains("1:00:00: every fault heals"))
        #expect(html.contains("The checker found nothing wrong with the client."))
    }

    @Test func theReportCountsWhatLegacyServersLoseApartFromTheClient() throws {
        let directory = Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = Simulation.Options(seed: 1, workDirectory: directory)
        options.recordTimeline = true
        let result = Simulation(scenario: try Self.scenario("legacy-buffer-weakness"), options: options).run()
        let html = Report.html(result)
        #expect(result.passed && result.statistics.serverLosses > 0)
        #expect(html.contains("Servers without history lost \(result.statistics.serverLosses) message(s) by their protocol's design"))
    }

    @Test func aLargeRunsReportShowsTheServersThatMatter() {
        let servers = Array(0..<1_000)
        let rows = Report.selectedRows(servers, violations: ["server 512 (legacy): message m1 was lost", "storage error"])
        #expect(rows == Array(0..<Report.firstRows) + [512])
        #expect(Report.selectedRows(Array(0..<12), violations: []) == Array(0..<12))
        #expect(Report.clock(3_723_000_000) == "1:02:03")
    }

    @Test func theEngineReadsNoClockAndNoSystemRandomness() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let forbidden = ["Date()", "UUID()", "SystemRandomNumberGenerator", "Task.sleep", "ContinuousClock", "SuspendingClock",
                         "DispatchTime.now", "ProcessInfo.processInfo.systemUptime", "Int.random(in:", ".random(in: 0...255)"]
        var hits: [String] = []
        for folder in ["Sources/OutpostSync", "Sources/OutpostSimulation", "Sources/OutpostWire", "Sources/OutpostTesting"] {
            let enumerator = FileManager.default.enumerator(atPath: root.appendingPathComponent(folder).path)
            while let file = enumerator?.nextObject() as? String {
                guard file.hasSuffix(".swift") else { continue }
                let text = try String(contentsOf: root.appendingPathComponent(folder + "/" + file), encoding: .utf8)
                for needle in forbidden where text.contains(needle) {
                    hits.append("\(folder)/\(file): \(needle)")
                }
            }
        }
        #expect(hits.isEmpty, "\(hits)")
    }
}
