import Foundation
import FuzzSupport
import OutpostSimulation

/// A scenario file for the simulator: `Scenario.load(from:)` validates it against
/// `scenario.schema.json`, decodes it and makes the checks the schema cannot; a scenario that
/// loads is set up as a simulation and, when it is small, run, because what a scenario can
/// break is mostly in the engine that reads its numbers (fault times, durations, amounts).
///
/// Invariants: a loaded scenario survives `encoded()` and loading again unchanged (the
/// shrinker writes scenarios that way), and a small scenario runs to a result.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = Data(Fuzz.bytes(start, count))
    guard let scenario = try? Scenario.load(from: data) else { return 0 }

    let encoded = scenario.encoded()
    do {
        let reloaded = try Scenario.load(from: encoded)
        if reloaded != scenario {
            Fuzz.fail("a scenario changed over encoded() and load: \(String(decoding: encoded, as: UTF8.self))")
        }
    } catch {
        Fuzz.fail("a loaded scenario's encoded() does not load: \(error)\n\(String(decoding: encoded, as: UTF8.self))")
    }

    guard isSmall(scenario) else { return 0 }
    let options = Simulation.Options(seed: scenario.seed ?? 1, workDirectory: workDirectory)
    _ = Simulation(scenario: scenario, options: options).run()
    return 0
}

/// Small enough to run in a few milliseconds: few servers, short, light workload, and fault
/// amounts that are loop counts kept low (a scenario may ask for a million-message burst; that
/// is slow by request, not a bug). Amounts that are durations or clock steps are not bounded,
/// since those are what overflows.
private func isSmall(_ scenario: Scenario) -> Bool {
    let loopCounts: Set<Scenario.FaultKind> = [.burst, .poison, .largePosts, .redeliver, .killAtWrite, .storageFailure]
    return scenario.servers.count <= 3
        && scenario.servers.peersPerServer <= 3
        && scenario.servers.conversationsPerServer <= 3
        && scenario.durationSeconds <= 600
        && scenario.livenessSeconds <= 600
        && scenario.workload.peerMessagesPerHour <= 120
        && scenario.workload.userMessagesPerHour <= 120
        && (scenario.workload.otherDeviceMessagesPerHour ?? 0) <= 120
        && (scenario.workload.readsPerHour ?? 0) <= 120
        && (scenario.workload.otherDevices ?? 0) <= 2
        && !scenario.swarm
        && scenario.faults.count <= 6
        && scenario.faults.allSatisfy { fault in
            !loopCounts.contains(fault.kind) || (fault.amount ?? 0) <= 20 && (fault.count ?? 0) <= 20
        }
        && scenario.faults.allSatisfy { ($0.count ?? 0) <= 20 }
}

/// The simulations' scratch directory (each run removes its own files).
private let workDirectory: String = {
    let directory = NSTemporaryDirectory() + "outpost-fuzz-scenario-\(getpid())"
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    return directory
}()

/// Structure-aware mutation: numbers rewritten to boundary values half the time (see
/// `Fuzz.mutateJSONNumbers`).
@_cdecl("LLVMFuzzerCustomMutator")
public func mutate(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    Fuzz.mutateJSONNumbers(data, size, maxSize, seed)
}
