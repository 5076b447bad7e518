import Foundation

/// Reduces a failing scenario to a minimal one that still fails: first its fault schedule (delta
/// debugging: drop halves, then single faults, while the run keeps failing), then its workload
/// (fewer servers, lower rates), and the faults again while the workload shrank.
public enum Shrinker {
    public struct Outcome: Sendable {
        /// The smallest scenario found; its `seed` is the seed it fails with, so running the
        /// file it is written to reproduces the failure without naming a seed.
        public let scenario: Scenario
        public let runs: Int
        public let violations: [String]
        /// What the workload lost, in the order it lost it, e.g. `servers: 20 → 5`.
        public let workloadReductions: [String]
    }

    /// - Parameters:
    ///   - seed: the seed `scenario` fails with. The outcome's scenario carries it: a scenario
    ///     file's own `seed` is the one `outpost-sim run` uses, and the file a shrink writes must
    ///     fail as it is, not with the seed of the scenario it came from.
    ///   - fails: runs a candidate with `seed` and returns its violations (empty: it passed).
    public static func shrink(_ scenario: Scenario, seed: UInt64, fails: (Scenario) -> [String]) -> Outcome? {
        // The state holds `fails` only for the length of this call.
        withoutActuallyEscaping(fails) { fails in
            var start = scenario
            start.seed = seed
            return shrink(State(current: start, fails: fails), from: scenario, seed: seed)
        }
    }

    private static func shrink(_ state: State, from scenario: Scenario, seed: UInt64) -> Outcome? {
        var state = state
        state.violations = state.run(state.current)
        guard !state.violations.isEmpty else { return nil }
        var reductions: [String] = []
        while true {
            state.shrinkFaults()
            let found = state.shrinkWorkload()
            // A smaller workload may need fewer faults to fail: go round again while it shrinks.
            if found.isEmpty { break }
            reductions += found
        }
        var current = state.current
        current.name = scenario.name + "-shrunk"
        current.description = "Shrunk from \(scenario.name) with seed \(seed): the smallest fault schedule and workload found that still fail. "
            + scenario.description
        return Outcome(scenario: current, runs: state.runs, violations: state.violations, workloadReductions: reductions)
    }

    /// The scenario with its swarm faults drawn and written out, so that shrinking can remove
    /// them. They are drawn from `seed`, so the scenario carries it.
    public static func materialised(_ scenario: Scenario, seed: UInt64) -> Scenario {
        guard scenario.swarm else { return scenario }
        let simulation = Simulation(scenario: scenario, options: .init(seed: seed, workDirectory: "/nonexistent"))
        var copy = scenario
        copy.swarm = false
        copy.faults = simulation.faults
        copy.seed = seed
        return copy
    }

    /// The smallest failing scenario so far, its violations, and how many runs it took.
    private struct State {
        var current: Scenario
        let fails: (Scenario) -> [String]
        var violations: [String] = []
        var runs = 0

        mutating func run(_ candidate: Scenario) -> [String] {
            runs += 1
            return fails(candidate)
        }

        /// Keeps `candidate` if it still fails.
        mutating func keepIfFailing(_ candidate: Scenario) -> Bool {
            let candidateViolations = run(candidate)
            guard !candidateViolations.isEmpty else { return false }
            current = candidate
            violations = candidateViolations
            return true
        }

        mutating func shrinkFaults() {
            var chunk = max(current.faults.count / 2, 1)
            while chunk >= 1 && !current.faults.isEmpty {
                var start = 0
                var removedAny = false
                while start < current.faults.count {
                    var candidate = current
                    candidate.faults.removeSubrange(start..<min(start + chunk, candidate.faults.count))
                    if keepIfFailing(candidate) {
                        removedAny = true
                    } else {
                        start += chunk
                    }
                }
                if !removedAny { chunk /= 2 }
            }
        }

        /// Tries each reduction of the workload in turn, as far as the run keeps failing, and
        /// says what it kept.
        mutating func shrinkWorkload() -> [String] {
            var found: [String] = []
            for reduction in Reduction.all {
                let before = reduction.describe(current)
                // A step that passed once is not run again (the zero a rate tries first comes
                // back after every halving).
                var tried: Set<Scenario> = []
                var reduced = false
                search: while true {
                    for candidate in reduction.steps(current) where candidate != current && !tried.contains(candidate) {
                        tried.insert(candidate)
                        guard Shrinker.isValid(candidate) else { continue }
                        if keepIfFailing(candidate) {
                            reduced = true
                            continue search
                        }
                    }
                    break
                }
                if reduced { found.append("\(reduction.name): \(before) → \(reduction.describe(current))") }
            }
            return found
        }
    }

    /// One way to make a scenario's workload smaller: the steps to try from a scenario, the
    /// boldest first, and how to show the value they change.
    private struct Reduction {
        let name: String
        let describe: (Scenario) -> String
        let steps: (Scenario) -> [Scenario]

        /// Servers first (the largest saving per run), then each rate, then the other devices.
        /// Each tries the least first (a failure that needs none of it says so in one run), then
        /// half.
        static var all: [Reduction] {
            [
                Reduction(name: "servers", describe: { "\($0.servers.count)" }, steps: { scenario in
                    let count = scenario.servers.count
                    return count > 1 ? [scenario.keepingServers(1), scenario.keepingServers(count / 2)] : []
                }),
                rate("peer messages per hour", get: { $0.workload.peerMessagesPerHour },
                     set: { $0.workload.peerMessagesPerHour = $1 }),
                rate("user messages per hour", get: { $0.workload.userMessagesPerHour },
                     set: { $0.workload.userMessagesPerHour = $1 }),
                rate("other devices' messages per hour", get: { $0.workload.otherDeviceMessagesPerHour ?? 0 },
                     set: { $0.workload.otherDeviceMessagesPerHour = $1 }),
                rate("reads per hour", get: { $0.workload.readsPerHour ?? 0 }, set: { $0.workload.readsPerHour = $1 }),
                Reduction(name: "other devices", describe: { "\($0.workload.otherDevices ?? 0)" }, steps: { scenario in
                    guard let devices = scenario.workload.otherDevices, devices > 0 else { return [] }
                    return [0, devices / 2].map { count in
                        var copy = scenario
                        copy.workload.otherDevices = count
                        return copy
                    }
                }),
            ]
        }

        /// None, then half, in whole messages an hour so that the halving ends.
        static func rate(_ name: String, get: @escaping (Scenario) -> Double,
                         set: @escaping (inout Scenario, Double) -> Void) -> Reduction {
            Reduction(name: name, describe: { format(get($0)) }, steps: { scenario in
                let value = get(scenario)
                guard value > 0 else { return [] }
                return [0, (value / 2).rounded(.down)].map { reduced in
                    var copy = scenario
                    set(&copy, reduced)
                    return copy
                }
            })
        }

        static func format(_ value: Double) -> String {
            value == value.rounded() ? String(Int64(value)) : String(value)
        }
    }

    /// Whether a candidate would load from the file it is written to: a reduction must never
    /// produce a scenario `outpost-sim run` refuses.
    static func isValid(_ candidate: Scenario) -> Bool {
        (try? Scenario.load(from: candidate.encoded())) != nil
    }
}

extension Scenario {
    /// The scenario with its first `count` servers only. Faults aimed at the others lose them
    /// as targets, and go when none is left; a fault aimed at every server stays.
    func keepingServers(_ count: Int) -> Scenario {
        var copy = self
        copy.servers.count = count
        copy.faults = faults.compactMap { fault in
            guard let targets = fault.servers else { return fault }
            let kept = targets.filter { $0 < count }
            guard !kept.isEmpty else { return nil }
            var copy = fault
            copy.servers = kept
            return copy
        }
        return copy
    }
}
