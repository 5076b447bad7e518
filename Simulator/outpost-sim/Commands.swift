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

/// The command that runs `scenario` again; without a seed, the one the scenario names.
func reproduceCommand(_ scenario: String, seed: UInt64? = nil) -> String {
    "swift run -c release outpost-sim run \(scenario)" + (seed.map { " --seed \($0)" } ?? "")
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

    @Flag(help: "Keep the client's data directory, and print where it is.")
    var keep = false

    @Flag(help: "Print the client's redacted diagnostics at the end, as a user would paste them into a bug report.")
    var diagnostics = false

    func run() throws {
        let scratch = try ScratchDirectory.make()
        defer { if !keep { scratch.remove() } }
        let loaded = try ScenarioLibrary.load(scenario)
        let seed = self.seed ?? loaded.seed ?? 1
        var options = Simulation.Options(seed: seed, workDirectory: scratch.path)
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
        }
        if keep {
            let kept = scratch.clientDirectory(seed: seed)
            print(FileManager.default.fileExists(atPath: kept)
                ? "Kept the client's data directory at \(kept)"
                : "Kept \(scratch.path); the run wrote no client data directory")
        }
        if !result.passed { throw ExitCode.failure }
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
        let scratch = try ScratchDirectory.make()
        defer { scratch.remove() }
        let loaded = try ScenarioLibrary.load(scenario)
        let seeds = seeds.range.filter { shard == nil || $0 % shard!.count == shard!.index }
        var failures: [SimulationResult] = []
        var events = 0
        var progress = SweepProgress(total: seeds.count)
        let (_, wall) = measure {
            for seed in seeds {
                progress.starting(seed: seed, failed: failures.count)
                let (result, seedWall) = measure {
                    Simulation(scenario: loaded, options: .init(seed: seed, workDirectory: scratch.path)).run()
                }
                progress.finished(wallSeconds: seedWall)
                events += result.statistics.events
                if !result.passed { failures.append(result) }
            }
        }
        progress.end(failed: failures.count)
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
        let scratch = try ScratchDirectory.make()
        defer { scratch.remove() }
        let loaded = try ScenarioLibrary.load(scenario)
        var mismatches: [UInt64] = []
        for seed in seeds.range {
            let first = Simulation(scenario: loaded, options: .init(seed: seed, workDirectory: scratch.path)).run()
            let second = Simulation(scenario: loaded, options: .init(seed: seed, workDirectory: scratch.path)).run()
            if first.traceHash != second.traceHash { mismatches.append(seed) }
            print("seed \(seed): \(String(first.traceHash, radix: 16)) \(first.traceHash == second.traceHash ? "==" : "!=") \(String(second.traceHash, radix: 16))")
        }
        print(mismatches.isEmpty ? "Deterministic: \(seeds.range.count) seeds, identical traces." : "NOT deterministic for seeds \(mismatches)")
        if !mismatches.isEmpty { throw ExitCode.failure }
    }
}

struct Shrink: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reduce a failing run's fault schedule and workload to a minimal one and write it as a scenario file.",
        discussion: """
            The file carries the failing seed, so `outpost-sim run <file>` reproduces the failure \
            without --seed.
            """)

    @Argument(help: "The failing scenario.")
    var scenario: String

    @Option(help: "The failing seed.")
    var seed: UInt64

    @Option(help: "Where to write the shrunk scenario.")
    var output: String?

    func run() throws {
        let scratch = try ScratchDirectory.make()
        defer { scratch.remove() }
        let original = try ScenarioLibrary.load(scenario)
        let loaded = Shrinker.materialised(original, seed: seed)
        let outcome = Shrinker.shrink(loaded, seed: seed) { candidate in
            Simulation(scenario: candidate, options: .init(seed: seed, workDirectory: scratch.path)).run().violations
        }
        guard let outcome else {
            if loaded != original,
               !Simulation(scenario: original, options: .init(seed: seed, workDirectory: scratch.path)).run().passed {
                // Not a passing seed: the faults the swarm drew, once written out, no longer fail.
                throw CommandFailure("seed \(seed) of \(original.name) fails, but not with its swarm faults written out; nothing to shrink")
            }
            print("Seed \(seed) of \(loaded.name) passes: nothing to shrink.")
            return
        }
        let path = output ?? "\(outcome.scenario.name).json"
        try outcome.scenario.encoded().write(to: URL(fileURLWithPath: path))
        let faults = "Shrunk \(loaded.faults.count) faults to \(outcome.scenario.faults.count) in \(outcome.runs) runs"
        print(outcome.workloadReductions.isEmpty ? faults + "; the workload stays as it was." : faults + ", and the workload:")
        for reduction in outcome.workloadReductions { print("  \(reduction)") }
        print("It still fails with seed \(seed):")
        for violation in outcome.violations.prefix(5) { print("  ✗ \(violation)") }
        // `run` takes a bare word for a scenario's name: a file called so needs a directory in front.
        let argument = path.hasSuffix(".json") || path.contains("/") ? path : "./" + path
        print("Wrote \(path) (with seed \(seed)). Reproduce: \(reproduceCommand(argument))")
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the named scenarios.")

    func run() throws {
        let names = ScenarioLibrary.names()
        guard !names.isEmpty else {
            throw CommandFailure("no scenarios found: no Simulator/Scenarios above \(FileManager.default.currentDirectoryPath), and none built into the tool")
        }
        // As wide as the longest name: `padding(toLength:)` would cut a longer one short.
        let width = names.map(\.count).max() ?? 0
        for name in names {
            let scenario = try ScenarioLibrary.load(name)
            print("\(name.padding(toLength: width, withPad: " ", startingAt: 0))  \(scenario.servers.count) servers, \(scenario.durationSeconds) s: \(scenario.description)")
        }
    }
}
