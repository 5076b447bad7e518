import Foundation
@_spi(Simulation) import OutpostClientCore
@_spi(Simulation) @testable import OutpostSimulation
import Testing

/// The named scenarios outside the repository: the copy built into the library must be the
/// repository's files, or the tool would run other scenarios than the ones a reader sees.
@Suite("Scenario library")
struct ScenarioLibraryTests {
    static func repositoryScenarios() throws -> (directory: String, names: [String]) {
        let directory = try #require(ScenarioLibrary.directory(startingAt: #filePath))
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
        return (directory, names)
    }

    @Test func theBuiltInScenariosAreTheRepositorysFilesByteForByte() throws {
        let (directory, names) = try Self.repositoryScenarios()
        #expect(ScenarioLibrary.embeddedNames == names,
                "Simulator/Scenarios and its built-in copy name different scenarios: run Scripts/embed-scenarios.sh")
        for name in names {
            let file = try #require(FileManager.default.contents(atPath: directory + "/\(name).json"))
            let embedded = ScenarioLibrary.embeddedText(of: name).map { Data($0.utf8) }
            #expect(embedded == file, "\(name).json differs from its built-in copy: run Scripts/embed-scenarios.sh")
        }
    }

    /// From a directory with no `Simulator/Scenarios` above it, as an installed tool runs.
    @Test func outsideTheRepositoryEveryNameLoadsFromTheBuiltInCopy() throws {
        let outside = "/"
        #expect(ScenarioLibrary.directory(startingAt: outside) == nil)
        let names = ScenarioLibrary.names(startingAt: outside)
        #expect(names == (try Self.repositoryScenarios().names))
        for name in names {
            let scenario = try ScenarioLibrary.load(name, startingAt: outside)
            #expect(scenario.name == name)
        }
        #expect(throws: ScenarioError.self) { try ScenarioLibrary.load("no-such-scenario", startingAt: outside) }
    }

    /// Inside the repository a name is its file, so an edit counts before the copy is regenerated.
    @Test func insideTheRepositoryANameLoadsTheRepositorysFile() throws {
        let (directory, _) = try Self.repositoryScenarios()
        #expect(try ScenarioLibrary.load("black-hole", startingAt: #filePath)
                == Scenario.load(path: directory + "/black-hole.json"))
    }
}

@Suite("Shrinker")
struct ShrinkerTests {
    /// The file `outpost-sim shrink` writes is run with the seed it names (`run` takes the
    /// scenario's own seed when none is given), so it must name the seed that fails, not the
    /// one of the scenario it was shrunk from.
    @Test func theShrunkScenarioCarriesTheSeedItFailsWith() throws {
        var scenario = try SimulationTests.scenario("black-hole")
        scenario.client.deliberateBug = .dropOneInHundred
        let ownSeed = try #require(scenario.seed)
        let failingSeed = try #require((UInt64(1)...40).first { seed in
            seed != ownSeed && !SimulationTests.run(scenario, seed: seed).passed
        }, "no seed but the scenario's own catches the client that drops messages")

        let outcome = try #require(Shrinker.shrink(scenario, seed: failingSeed) { candidate in
            SimulationTests.run(candidate, seed: failingSeed).violations
        })
        #expect(outcome.scenario.seed == failingSeed)
        #expect(!outcome.violations.isEmpty)
        #expect(outcome.scenario.servers.count <= scenario.servers.count)
        #expect(outcome.scenario.workload.peerMessagesPerHour <= scenario.workload.peerMessagesPerHour)

        // As `outpost-sim run <file>` does: load the file, run it with the seed it names.
        let reloaded = try Scenario.load(from: outcome.scenario.encoded())
        #expect(reloaded.seed == failingSeed)
        #expect(!SimulationTests.run(reloaded, seed: reloaded.seed ?? 1).passed)
    }

    @Test func aSeedThatPassesLeavesNothingToShrink() throws {
        let scenario = try SimulationTests.scenario("black-hole")
        #expect(Shrinker.shrink(scenario, seed: 1) { SimulationTests.run($0, seed: 1).violations } == nil)
    }

    /// Fewer servers must still make a valid scenario: faults lose the servers that are gone.
    @Test func keepingFewerServersRetargetsTheFaults() throws {
        let scenario = try SimulationTests.scenario("black-hole")
        #expect(scenario.faults.map(\.servers) == [[0, 1], nil])
        let one = scenario.keepingServers(1)
        #expect(one.servers.count == 1)
        #expect(one.faults.map(\.servers) == [[0], nil])
        var aimedAtTheLastServer = scenario
        aimedAtTheLastServer.faults.append(Scenario.Fault(atSeconds: 60, kind: .reset, servers: [3]))
        #expect(aimedAtTheLastServer.keepingServers(2).faults.count == scenario.faults.count)
        #expect(Shrinker.isValid(one))
    }
}
