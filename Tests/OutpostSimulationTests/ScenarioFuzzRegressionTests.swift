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
        // Counts the run could never finish, or that overflowed: 2^62 flaps trapped doubling the
        // count; a burst of 10^12 and 10^9 redeliveries never ended.
        (#"{"at_seconds":10,"kind":"flap","count":4611686018427387904}"#, "$.faults[0].count"),
        (#"{"at_seconds":10,"kind":"flap","count":20000}"#, "$.faults[0].count"),
        (#"{"at_seconds":10,"kind":"burst","amount":1000000000000}"#, "$.faults[0].amount"),
        (#"{"at_seconds":10,"kind":"redeliver","amount":1000000000}"#, "$.faults[0].amount"),
        // A negative amount was taken as 1 without a word.
        (#"{"at_seconds":10,"kind":"kill_at_write","amount":-5}"#, "$.faults[0].amount"),
        (#"{"at_seconds":10,"kind":"storage_failure","amount":0}"#, "$.faults[0].amount"),
        // Past Int64: the decoder's "not valid JSON" named no field.
        (#"{"at_seconds":10,"kind":"burst","amount":100000000000000000000}"#, "$.faults[0].amount"),
    ])
    func aFaultTheEngineCannotRepresentIsRefusedWhenLoading(fault: String, expected: String) {
        #expect { try Scenario.load(from: Self.scenario(fault: fault)) } throws: { error in
            String(describing: error).contains(expected)
        }
    }

    /// Rates that passed the schema: 10^300 messages an hour put every post at the same instant
    /// (virtual time stood still); 10^-300 trapped converting an endless wait to microseconds.
    @Test(arguments: [("peer_messages_per_hour", "1e300", "$.workload.peer_messages_per_hour"),
                      ("user_messages_per_hour", "1e300", "$.workload.user_messages_per_hour")])
    func aRateTheEngineCannotRunIsRefused(field: String, value: String, expected: String) {
        let data = String(decoding: Self.scenario(fault: #"{"at_seconds":10,"kind":"reset"}"#), as: UTF8.self)
            .replacingOccurrences(of: #""\#(field)":60"#, with: #""\#(field)":\#(value)"#)
        #expect { try Scenario.load(from: Data(data.utf8)) } throws: { error in
            String(describing: error).contains(expected)
        }
    }

    @Test func aVanishinglySmallRateRunsAndPostsNothing() throws {
        let data = String(decoding: Self.scenario(fault: #"{"at_seconds":10,"kind":"reset"}"#), as: UTF8.self)
            .replacingOccurrences(of: #""user_messages_per_hour":60"#, with: #""user_messages_per_hour":1e-300"#)
        let scenario = try Scenario.load(from: Data(data.utf8))
        let directory = NSTemporaryDirectory() + "outpost-fuzz-regression-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = Simulation(scenario: scenario, options: Simulation.Options(seed: 1, workDirectory: directory)).run()
        #expect(result.statistics.messagesQueued == 0)
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
