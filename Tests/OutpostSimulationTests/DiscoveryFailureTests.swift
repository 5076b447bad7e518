import Foundation
import OutpostSimulation
import Testing

/// `discovery_failure` is a fault of the server's web front, not of its link.
struct DiscoveryFailureTests {
    private static let scenario = """
        {"name": "discovery-down", "description": "A removed server is added again while its discovery document fails.",
         "duration_seconds": 900, "liveness_seconds": 600, "swarm": false,
         "servers": {"count": 2, "behaviour": "extended", "peers_per_server": 2, "conversations_per_server": 2},
         "network": {"latency_ms": 40, "jitter_ms": 10},
         "workload": {"peer_messages_per_hour": 120, "user_messages_per_hour": 120},
         "client": {"pool_capacity": 32},
         "faults": [
           {"at_seconds": 100, "kind": "discovery_failure", "duration_seconds": 120},
           {"at_seconds": 110, "kind": "remove_server", "servers": [0]},
           {"at_seconds": 111, "kind": "readd_server", "servers": [0]}
         ]}
        """

    @Test func addingFailsWhileDiscoveryIsDownAndConnectionsCarryOn() throws {
        let directory = NSTemporaryDirectory() + "outpost-discovery-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = Simulation.Options(seed: 2, workDirectory: directory)
        options.tracePath = directory + ".jsonl"
        defer { try? FileManager.default.removeItem(atPath: directory + ".jsonl") }
        let result = Simulation(scenario: try Scenario.load(from: Data(Self.scenario.utf8)), options: options).run()
        #expect(result.passed, "\(result.violations)")
        #expect(result.statistics.serversReadded == 1)
        let trace = try String(contentsOfFile: directory + ".jsonl", encoding: .utf8).split(separator: "\n")
        let failedAdds = trace.filter { $0.contains("\"addingFailed\"") && $0.contains("discovery") }
        #expect(failedAdds.count >= 10, "retried every 10 s for the 110 s discovery stays down")
        // Server 1 was never affected: it connected once and stayed connected through the fault.
        let server1States = trace.filter { $0.contains("\"server\":1,") && $0.contains("\"state\"") }
        #expect(server1States.count == 3 && server1States.last?.contains("Connected") == true, "\(server1States)")
    }
}
