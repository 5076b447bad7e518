import Foundation

/// Reduces a failing scenario's fault schedule to a minimal one that still fails (delta
/// debugging: drop halves, then single faults, while the run keeps failing).
public enum Shrinker {
    public struct Outcome: Sendable {
        public let scenario: Scenario
        public let runs: Int
        public let violations: [String]
    }

    /// - Parameter fails: runs a candidate and returns its violations (empty: it passed).
    public static func shrink(_ scenario: Scenario, fails: (Scenario) -> [String]) -> Outcome? {
        var runs = 1
        var current = scenario
        var violations = fails(current)
        guard !violations.isEmpty else { return nil }
        var chunk = max(current.faults.count / 2, 1)
        while chunk >= 1 && !current.faults.isEmpty {
            var start = 0
            var removedAny = false
            while start < current.faults.count {
                var candidate = current
                candidate.faults.removeSubrange(start..<min(start + chunk, candidate.faults.count))
                runs += 1
                let candidateViolations = fails(candidate)
                if !candidateViolations.isEmpty {
                    current = candidate
                    violations = candidateViolations
                    removedAny = true
                } else {
                    start += chunk
                }
            }
            if !removedAny { chunk /= 2 }
        }
        current.name = scenario.name + "-shrunk"
        current.description = "Shrunk from \(scenario.name): the smallest fault schedule found that still fails. " + scenario.description
        return Outcome(scenario: current, runs: runs, violations: violations)
    }

    /// The scenario with its swarm faults drawn and written out, so that shrinking can remove them.
    public static func materialised(_ scenario: Scenario, seed: UInt64) -> Scenario {
        guard scenario.swarm else { return scenario }
        let simulation = Simulation(scenario: scenario, options: .init(seed: seed, workDirectory: "/nonexistent"))
        var copy = scenario
        copy.swarm = false
        copy.faults = simulation.faults
        return copy
    }
}
