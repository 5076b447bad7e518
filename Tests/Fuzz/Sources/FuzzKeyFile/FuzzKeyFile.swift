import Foundation
import FuzzSupport
import OutpostJSONSchema
import OutpostStore

/// A passphrase key file (`PassphraseKeyFile`, the master key sealed under Argon2id): the
/// bytes are written to a scratch file and read with `masterKey()`, the only public way in,
/// and validated against `master-key-file.schema.json`.
///
/// `masterKey()` parses, checks the format, KDF and salt, then runs Argon2id with the file's
/// own `ops_limit` and `mem_limit`, and opens the sealed key. Argon2id at real costs takes
/// hundreds of milliseconds and up to gigabytes, so an input whose parameters would make it
/// expensive is only validated against the schema; inputs with cheap parameters, or that fail
/// before the KDF, go all the way through. The corpus's key files use the cheapest parameters
/// and the passphrase below, so the fuzzer starts from files that open.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = Fuzz.bytes(start, count)
    let data = Data(bytes)
    _ = Fuzz.projectSchema("master-key-file").validate(data)

    if let parameters = try? JSONDecoder().decode(ParametersOnly.self, from: data).parameters {
        let cheap = parameters.opsLimit <= 3 && parameters.memLimit <= 1 << 20
        // A mem_limit beyond Int.max cannot reach Argon2id (libsodium takes a size_t): the
        // store must refuse it first, and once trapped converting it, so it always goes through.
        guard cheap || parameters.memLimit > UInt64(Int.max) else { return 0 }
    }
    // Without parameters that decode, the file cannot decode as a key file either, so reading
    // it stops before the KDF.
    guard FileManager.default.createFile(atPath: scratchPath, contents: data) else {
        Fuzz.fail("cannot write \(scratchPath)")
    }
    do {
        let key = try PassphraseKeyFile(path: scratchPath, passphrase: passphrase).masterKey()
        if key.count != 32 { Fuzz.fail("a master key of \(key.count) bytes") }
    } catch {
        // Refused: the expected outcome for nearly every input.
    }
    return 0
}

/// The passphrase the corpus's key files were sealed with.
let passphrase = "outpost fuzz passphrase"

/// The part of a key file that decides what Argon2id costs; decoded with the store's own
/// `Argon2Parameters` so the bounds match what `masterKey()` would use.
private struct ParametersOnly: Decodable {
    var parameters: Argon2Parameters
}

/// One scratch file per process (libFuzzer may run several processes side by side).
private let scratchPath: String = {
    let directory = NSTemporaryDirectory() + "outpost-fuzz-keyfile-\(getpid())"
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    return directory + "/keys.json"
}()

/// Structure-aware mutation: numbers rewritten to boundary values half the time (see
/// `Fuzz.mutateJSONNumbers`).
@_cdecl("LLVMFuzzerCustomMutator")
public func mutate(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    Fuzz.mutateJSONNumbers(data, size, maxSize, seed)
}
