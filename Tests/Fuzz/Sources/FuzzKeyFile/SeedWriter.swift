import Foundation
import FuzzSupport
import OutpostStore

/// libFuzzer calls this once before fuzzing. With `OUTPOST_FUZZ_WRITE_SEEDS=DIR` set, it writes
/// seed files made by the store itself instead, and exits: key files into `DIR/FuzzKeyFile`,
/// and the JSON files a new data directory holds (directory header, partition keys, registry,
/// server config) into `DIR/FuzzJSONSchema`. README.md says when to run it.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    guard let directory = ProcessInfo.processInfo.environment["OUTPOST_FUZZ_WRITE_SEEDS"], !directory.isEmpty else { return 0 }
    do {
        try writeSeeds(into: URL(fileURLWithPath: directory, isDirectory: true))
        exit(0)
    } catch {
        Fuzz.printError("cannot write seeds: \(error)")
        exit(1)
    }
}

private func writeSeeds(into corpus: URL) throws {
    let manager = FileManager.default
    let scratch = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("outpost-fuzz-seeds-\(getpid())")
    try? manager.removeItem(at: scratch)
    try manager.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? manager.removeItem(at: scratch) }

    // Key files: the cheapest Argon2id costs libsodium accepts, so the fuzzer's mutations of a
    // file that opens still run quickly.
    let keys = corpus.appendingPathComponent("FuzzKeyFile")
    try manager.createDirectory(at: keys, withIntermediateDirectories: true)
    let cheapest = Argon2Parameters(opsLimit: 1, memLimit: 8192)
    for (name, parameters) in [("keys.json", cheapest), ("keys-ops-3.json", Argon2Parameters(opsLimit: 3, memLimit: 65_536))] {
        let path = scratch.appendingPathComponent(name).path
        try PassphraseKeyFile.create(at: path, passphrase: passphrase, parameters: parameters)
        try? manager.removeItem(at: keys.appendingPathComponent(name))
        try manager.copyItem(atPath: path, toPath: keys.appendingPathComponent(name).path)
    }
    // The same file with a mem_limit no Int holds, which once trapped the store.
    let text = String(decoding: try Data(contentsOf: keys.appendingPathComponent("keys.json")), as: UTF8.self)
    let oversized = text.replacingOccurrences(of: "\"mem_limit\":8192", with: "\"mem_limit\":\(UInt64.max)")
    guard oversized != text else { throw CocoaError(.fileReadCorruptFile) }
    try Data(oversized.utf8).write(to: keys.appendingPathComponent("mem-limit-over-int-max.json"))

    // A data directory with one server, for the store's own schemas.
    let instances = corpus.appendingPathComponent("FuzzJSONSchema")
    try manager.createDirectory(at: instances, withIntermediateDirectories: true)
    let store = try Store.open(at: scratch.appendingPathComponent("data").path, keyProvider: InMemoryKeyProvider())
    _ = try store.addServer(try ServerOrigin(parsing: "https://chat.example.org"), now: .seconds(1_717_000_000))
    store.close()
    let files = manager.enumerator(at: scratch.appendingPathComponent("data"), includingPropertiesForKeys: nil)
    while let file = files?.nextObject() as? URL {
        guard file.pathExtension == "json" else { continue }
        try? manager.removeItem(at: instances.appendingPathComponent("store-" + file.lastPathComponent))
        try manager.copyItem(at: file, to: instances.appendingPathComponent("store-" + file.lastPathComponent))
    }
}
