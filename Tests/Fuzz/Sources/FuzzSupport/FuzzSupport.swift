import CLibFuzzer
import Foundation
import OutpostJSONSchema

/// The signature of `LLVMFuzzerTestOneInput`.
public typealias FuzzTarget = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// What the fuzz targets share: the fuzzer's bytes as Swift values, the repository's files, and
/// a way to report a broken invariant as a crash libFuzzer records.
public enum Fuzz {
    /// Runs libFuzzer on `target` with the process's arguments (libFuzzer's flags and corpus
    /// directories) and returns its exit status.
    public static func run(_ target: FuzzTarget) -> CInt {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        return LLVMFuzzerRunDriver(&argc, &argv, target)
    }

    /// The input libFuzzer hands to `LLVMFuzzerTestOneInput`, copied: the decoders take owned
    /// collections, and a copy keeps ASan's view of the fuzzer's buffer exact.
    public static func bytes(_ start: UnsafePointer<UInt8>?, _ count: Int) -> [UInt8] {
        guard let start, count > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: start, count: count))
    }

    /// A broken invariant: a crash, so libFuzzer keeps the input and stops (a thrown error is
    /// the expected way for a decoder to refuse input, so only invariants land here).
    public static func fail(_ message: String, file: StaticString = #file, line: UInt = #line) -> Never {
        fatalError("fuzz invariant broken: \(message)", file: file, line: line)
    }

    /// The repository root: `OUTPOST_REPOSITORY` when set (the script sets it), otherwise found
    /// from this file's place in the source tree (`Tests/Fuzz/Sources/FuzzSupport`).
    public static let repositoryRoot: URL = {
        if let root = ProcessInfo.processInfo.environment["OUTPOST_REPOSITORY"], !root.isEmpty {
            return URL(fileURLWithPath: root, isDirectory: true)
        }
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<5 { url.deleteLastPathComponent() }
        return url
    }()

    /// A file of the repository, e.g. `Schemas/json/scenario.schema.json`. A missing file is a
    /// broken setup, not a finding, so it stops the run with a clear message.
    public static func repositoryFile(_ relativePath: String) -> Data {
        let url = repositoryRoot.appendingPathComponent(relativePath)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            printError("cannot read \(url.path); set OUTPOST_REPOSITORY to the repository root")
            exit(2)
        }
        return data
    }

    /// A line on standard error (libFuzzer's own output goes there too).
    public static func printError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// The project's JSON Schemas (`Schemas/json`), compiled once, by name without the suffix.
    public static let projectSchemas: [(name: String, schema: JSONSchema)] = {
        let names = ["directory-header", "discovery", "master-key-file", "partition-keys",
                     "scenario", "server-config", "server-registry"]
        return names.map { name in
            do {
                return (name, try JSONSchema(data: repositoryFile("Schemas/json/\(name).schema.json")))
            } catch {
                fail("the project schema \(name) does not compile: \(error)")
            }
        }
    }()

    /// One project schema by name.
    public static func projectSchema(_ name: String) -> JSONSchema {
        guard let schema = projectSchemas.first(where: { $0.name == name })?.schema else { fail("no schema \(name)") }
        return schema
    }
}
