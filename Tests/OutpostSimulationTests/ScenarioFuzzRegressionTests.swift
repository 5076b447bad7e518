import Foundation
import OutpostSimulation
import Testing

/// Scenario files the fuzzer (Tests/Fuzz, `FuzzScenario`) found to break the simulator: they
/// passed the schema, loaded, and then trapped the engine converting a fault's time, duration,
/// clock step or latency to `Int64` microseconds. The loader now checks what the schema cannot
/// (faults within the simulation's time and servers, amounts the engine can represent) and
/// refuses them, naming the field.
@Suite("Scenario files found by fuzzing")
struct ScenarioFuzzRegressionTests {
    /// A valid two-server scenario with `fault` as its only fault.
    static func scenario(fault: String) -> Data {
        Data(#"""
        {"name":"x","description":"d","duration_seconds":120,"liveness_seconds":60,"swarm":false,
         "servers":{"count":2,"behaviour":"extended","peers_per_server":1,"conversations_per_server":1},
         "network":{"latency_ms":30,"jitter_ms":10},"workload":{"peer_messages_per_hour":60,"user_messages_per_hour":60},
         "client":{"pool_capacity":2},"faults":[\#(fault)]}
        """#.utf8)
    }

    @Test(arguments: [
        // The fuzzer's input: a fault 1e17 s in trapped scheduling it in `Simulation.run`.
        (#"{"at_seconds":1e17,"kind":"clock_step","amount":-30,"servers":[0]}"#, "$.faults[0].at_seconds"),
        (#"{"at_seconds":1e13,"kind":"reset"}"#, "$.faults[0].at_seconds"),
        (#"{"at_seconds":181,"kind":"reset"}"#, "is after the end of the simulation"),
        // The fuzzer's input: a blackhole lasting Int64.max seconds trapped in `startFault`.
        (#"{"at_seconds":20,"kind":"blackhole","servers":[1],"duration_seconds":9223372036854775807}"#,
         "$.faults[0].duration_seconds"),
        (#"{"at_seconds":10,"kind":"blackhole","duration_seconds":1e13}"#, "$.faults[0].duration_seconds"),
        // Infinite once in microseconds: the other way the same conversion trapped.
        (#"{"at_seconds":20,"kind":"session_expiry","duration_seconds":1.7976931348623157e308}"#,
         "$.faults[0].duration_seconds"),
        (#"{"at_seconds":10,"kind":"clock_step","amount":-10000000000000}"#, "$.faults[0].amount"),
        // The fuzzer's input: a latency of 1e16 ms trapped in `Micros.milliseconds`.
        (#"{"at_seconds":60,"kind":"latency","amount":1e16,"duration_seconds":10}"#, "$.faults[0].amount"),
        (#"{"at_seconds":10,"kind":"latency","amount":-1}"#, "$.faults[0].amount"),
        (#"{"at_seconds":10,"kind":"reset","servers":[2]}"#, "server 2 does not exist"),
    ])
    func aFaultTheEngineCannotRepresentIsRefusedWhenLoading(fault: String, expected: String) {
        #expect { try Scenario.load(from: Self.scenario(fault: fault)) } throws: { error in
            String(describing: error).contains(expected)
        }
    }

    @Test func faultsWithinTheScenarioStillLoad() throws {
        let scenario = try Scenario.load(from: Self.scenario(fault: #"{"at_seconds":120,"kind":"clock_step","amount":-86400,"servers":[1]}"#))
        #expect(scenario.faults.count == 1)
        // What the engine does with it: runs to a result instead of trapping.
        let directory = NSTemporaryDirectory() + "outpost-fuzz-regression-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = Simulation(scenario: scenario, options: Simulation.Options(seed: 1, workDirectory: directory)).run()
    }
}
