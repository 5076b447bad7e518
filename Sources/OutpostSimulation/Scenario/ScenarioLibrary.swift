import Foundation

/// Finds scenario files: a path, or a name in `Simulator/Scenarios/` (looked up from the
/// current directory upwards, so the tool works from anywhere inside the repository).
public enum ScenarioLibrary {
    public static let defaultScenario = "commuters-day"

    public static func directory(startingAt start: String = FileManager.default.currentDirectoryPath) -> String? {
        var url = URL(fileURLWithPath: start)
        for _ in 0..<8 {
            let candidate = url.appendingPathComponent("Simulator/Scenarios")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate.path }
            url.deleteLastPathComponent()
        }
        return nil
    }

    public static func names() -> [String] {
        guard let directory = directory() else { return [] }
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }

    public static func load(_ nameOrPath: String) throws -> Scenario {
        if nameOrPath.hasSuffix(".json") || nameOrPath.contains("/") {
            return try Scenario.load(path: nameOrPath)
        }
        guard let directory = directory() else {
            throw ScenarioError(violations: ["Simulator/Scenarios not found; run from the repository or give a path"])
        }
        let path = directory + "/" + nameOrPath + ".json"
        guard FileManager.default.fileExists(atPath: path) else {
            throw ScenarioError(violations: ["no scenario named \(nameOrPath); known: \(names().joined(separator: ", "))"])
        }
        return try Scenario.load(path: path)
    }
}
