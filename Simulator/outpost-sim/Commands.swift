import ArgumentParser
import Foundation
import OutpostSimulation

/// Wall time for the summary table only; the simulation itself never reads a clock.
func measure<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let clock = ContinuousClock()
    let start = clock.now
    let value = try body()
    let elapsed = clock.now - start
    return (value, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}

func scratchDirectory() -> String {
    NSTemporaryDirectory() + "outpost-sim-\(ProcessInfo.processInfo.processIdentifier)"
}

func reproduceCommand(_ scenario: String, seed: UInt64) -> String {
    "swift run -c release outpost-sim run \(scenario) --seed \(seed)"
}

func printSummary(_ rows: [(SimulationResult, Double)]) {
    let header = ["scenario", "seed", "sim time", "events", "wall s", "events/s", "sim s/wall s", "kills", "server losses", "result"]
    var table = [header]
    for (result, wall) in rows {
        table.append([result.scenario, "\(result.seed)", String(format: "%.0f s", result.simulatedSeconds),
                      "\(result.statistics.events)", String(format: "%.2f", wall),
                      String(format: "%.0f", Double(result.statistics.events) / max(wall, 1e-9)),
                      String(format: "%.0f", result.simulatedSeconds / max(wall, 1e-9)), "\(result.statistics.kills)",
                      "\(result.statistics.serverLosses)",
                      result.passed ? "pass" : "FAIL (\(result.violations.count))"])
    }
    let widths = header.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
    for (index, row) in table.enumerated() {
        print(row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  "))
        if index == 0 { print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run one scenario (default: \(ScenarioLibrary.defaultScenario)).")

    @Argument(help: "A scenario name from Simulator/Scenarios or a path to a scenario file.")
    var scenario: String = ScenarioLibrary.defaultScenario

    @Option(help: "The root seed (default: the scenario's own, or 1).")
    var seed: UInt64?

    @Option(help: "Write the JSONL trace here.")
    var trace: String?

    @Option(help: "Write the HTML report here.")
    var report: String?

    @Flag(help: "Keep the client's data directory.")
    var keep = false

    @Flag(help: "Print the client's redacted diagnostics at the end, as a user would paste them into a bug report.")
    var diagnostics = false

    func run() throws {
        let loaded = try ScenarioLibrary.load(scenario)
        let seed = self.seed ?? loaded.seed ?? 1
        var options = Simulation.Options(seed: seed, workDirectory: scratchDirectory())
        options.keepFiles = keep
        options.tracePath = trace
        options.recordTimeline = report != nil
        options.collectDiagnostics = diagnostics
        print("Running \(loaded.name) (seed \(seed)): \(loaded.description)")
        let (result, wall) = measure { Simulation(scenario: loaded, options: options).run() }
        printSummary([(result, wall)])
        if let report {
            try Report.html(result).write(toFile: report, atomically: true, encoding: .utf8)
            print("Report: \(report)")
        }
        if let trace { print("Trace: \(trace)") }
        if let diagnostics = result.diagnostics { print(diagnostics) }
        print("Trace hash: \(String(result.traceHash, radix: 16))")
        if !result.passed {
            for violation in result.violations.prefix(40) { print("  ✗ \(violation)") }
            if result.violations.count > 40 { print("  … and \(result.violations.count - 40) more") }
            print("Reproduce: \(reproduceCommand(scenario, seed: seed))")
            throw ExitCode.failure
        }
    }
}

struct SeedRange: ExpressibleByArgument {
    let range: ClosedRange<UInt64>

    init?(argument: String) {
        let parts = argument.split(separator: "-").compactMap { UInt64($0) }
        guard parts.count == 2, parts[0] <= parts[1] else { return nil }
        range = parts[0]...parts[1]
    }
}

struct Shard: ExpressibleByArgument {
    let index: UInt64
    let count: UInt64

    init?(argument: String) {
        let parts = argument.split(separator: "/").compactMap { UInt64($0) }
        guard parts.count == 2, parts[1] > 0, parts[0] < parts[1] else { return nil }
        index = parts[0]
        count = parts[1]
    }
}

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a scenario over a range of seeds (swarm by default).")

    @Option(help: "Seeds as A-B.")
    var seeds: SeedRange

    @Option(help: "Run only shard i of n (i/n, 0-based): seed s belongs to shard s mod n.")
    var shard: Shard?

    @Option(help: "The scenario.")
    var scenario = "swarm"

    func run() throws {
        let loaded = try ScenarioLibrary.load(scenario)
        let seeds = seeds.range.filter { shard == nil || $0 % shard!.count == shard!.index }
        var failures: [SimulationResult] = []
        var events = 0
        let (_, wall) = measure {
            for (done, seed) in seeds.enumerated() {
                let result = Simulation(scenario: loaded, options: .init(seed: seed, workDirectory: scratchDirectory())).run()
                events += result.statistics.events
                if !result.passed { failures.append(result) }
                FileHandle.standardError.write(Data("\r\(done + 1)/\(seeds.count) seeds, \(failures.count) failed".utf8))
            }
        }
        FileHandle.standardError.write(Data("\n".utf8))
        print("\(seeds.count) seeds of \(loaded.name) in \(String(format: "%.1f", wall)) s (\(events) events): \(seeds.count - failures.count) passed, \(failures.count) failed")
        for failure in failures {
            print("  ✗ seed \(failure.seed): \(failure.violations.first ?? "")")
            print("    reproduce: \(reproduceCommand(scenario, seed: failure.seed))")
        }
        if !failures.isEmpty { throw ExitCode.failure }
    }
}

struct CheckDeterminism: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-determinism", abstract: "Run each seed twice and compare the trace hashes.")

    @Option(help: "Seeds as A-B.")
    var seeds = SeedRange(argument: "1-20")!

    @Option(help: "The scenario.")
    var scenario = "swarm"

    func run() throws {
        let loaded = try ScenarioLibrary.load(scenario)
        var mismatches: [UInt64] = []
        for seed in seeds.range {
            let first = Simulation(scenario: loaded, options: .init(seed: seed, workDirectory: scratchDirectory())).run()
            let second = Simulation(scenario: loaded, options: .init(seed: seed, workDirectory: scratchDirectory())).run()
            if first.traceHash != second.traceHash { mismatches.append(seed) }
            print("seed \(seed): \(String(first.traceHash, radix: 16)) \(first.traceHash == second.traceHash ? "==" : "!=") \(String(second.traceHash, radix: 16))")
        }
        print(mismatches.isEmpty ? "Deterministic: \(seeds.range.count) seeds, identical traces." : "NOT deterministic for seeds \(mismatches)")
        if !mismatches.isEmpty { throw ExitCode.failure }
    }
}

struct Shrink: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reduce a failing run's fault schedule to a minimal one and write it as a scenario file.")

    @Argument(help: "The failing scenario.")
    var scenario: String

    @Option(help: "The failing seed.")
    var seed: UInt64

    @Option(help: "Where to write the shrunk scenario.")
    var output: String?

    func run() throws {
        let loaded = Shrinker.materialised(try ScenarioLibrary.load(scenario), seed: seed)
        guard let outcome = Shrinker.shrink(loaded, fails: { candidate in
            Simulation(scenario: candidate, options: .init(seed: seed, workDirectory: scratchDirectory())).run().violations
        }) else {
            print("Seed \(seed) of \(loaded.name) passes: nothing to shrink.")
            return
        }
        let path = output ?? "\(outcome.scenario.name).json"
        try outcome.scenario.encoded().write(to: URL(fileURLWithPath: path))
        print("Shrunk \(loaded.faults.count) faults to \(outcome.scenario.faults.count) in \(outcome.runs) runs; still fails with:")
        for violation in outcome.violations.prefix(5) { print("  ✗ \(violation)") }
        print("Wrote \(path). Reproduce: \(reproduceCommand(path, seed: seed))")
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the named scenarios.")

    func run() throws {
        for name in ScenarioLibrary.names() {
            let scenario = try ScenarioLibrary.load(name)
            print("\(name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(scenario.servers.count) servers, \(scenario.durationSeconds) s: \(scenario.description)")
        }
    }
}
