import Foundation

/// Finds scenarios: a path, or a name. A name is looked up in the repository's
/// `Simulator/Scenarios/` first (searched from the current directory upwards, so that edits
/// there count at once wherever in the repository the tool runs), then among the scenarios
/// built into the library (`EmbeddedScenarios.swift`, generated from those files), so that the
/// tool, and the tests of an app that links OutpostTesting, find them outside the repository.
public enum ScenarioLibrary {
    public static let defaultScenario = "commuters-day"

    /// The repository's `Simulator/Scenarios`, looked for in `start` and the directories above it.
    public static func directory(startingAt start: String = FileManager.default.currentDirectoryPath) -> String? {
        var url = URL(fileURLWithPath: start)
        for _ in 0..<8 {
            let candidate = url.appendingPathComponent("Simulator/Scenarios")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate.path }
            url.deleteLastPathComponent()
        }
        return nil
    }

    /// Every named scenario, the repository's (looked for from `start` upwards) and the
    /// built-in ones, sorted.
    public static func names(startingAt start: String = FileManager.default.currentDirectoryPath) -> [String] {
        var names = embedded.map(\.name)
        if let directory = directory(startingAt: start) {
            names += ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
                .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }
        }
        return Array(Set(names)).sorted()
    }

    /// Loads a scenario file (`nameOrPath` contains a `/` or ends in `.json`) or a named
    /// scenario: the repository's (looked for from `start` upwards), else the built-in one.
    public static func load(_ nameOrPath: String,
                            startingAt start: String = FileManager.default.currentDirectoryPath) throws -> Scenario {
        if nameOrPath.hasSuffix(".json") || nameOrPath.contains("/") {
            return try Scenario.load(path: nameOrPath)
        }
        if let directory = directory(startingAt: start) {
            let path = directory + "/" + nameOrPath + ".json"
            if FileManager.default.fileExists(atPath: path) { return try Scenario.load(path: path) }
        }
        if let json = embedded.first(where: { $0.name == nameOrPath })?.json {
            return try Scenario.load(from: Data(json.utf8))
        }
        throw ScenarioError(violations: ["no scenario named \(nameOrPath); known: \(names(startingAt: start).joined(separator: ", "))"])
    }

    /// The text of the built-in scenario `name`, as its file in `Simulator/Scenarios` was when
    /// `Scripts/embed-scenarios.sh` last ran.
    @_spi(Simulation) public static func embeddedText(of name: String) -> String? {
        embedded.first { $0.name == name }?.json
    }

    /// The names of the built-in scenarios, sorted.
    @_spi(Simulation) public static var embeddedNames: [String] {
        embedded.map(\.name)
    }
}
