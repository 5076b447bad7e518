import Foundation
import FuzzSupport
import OutpostJSONSchema

/// A JSON document validated against every schema in `Schemas/json` (scenario, discovery, the
/// store's files): the checks that run on scenario files, discovery documents and the store's
/// own files before anything reads them.
///
/// Invariant: every violation has a path rooted at the document (`$`). Determinism and the
/// agreement of `validate(_: Data)` with `validate(json:)` are left to the unit tests: checking
/// them here would halve the executions per second of a target already slowed by seven schemas.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = Data(Fuzz.bytes(start, count))
    // Parsed once: a document that is not JSON gets the same one violation from every schema.
    guard let document = try? JSONValue.parse(data) else {
        _ = Fuzz.projectSchemas[0].schema.validate(data)
        return 0
    }
    for (name, schema) in Fuzz.projectSchemas {
        for violation in schema.validate(json: document) where !violation.path.hasPrefix("$") {
            Fuzz.fail("\(name): a violation outside the document: \(violation)")
        }
    }
    return 0
}

/// Structure-aware mutation: numbers rewritten to boundary values half the time (see
/// `Fuzz.mutateJSONNumbers`).
@_cdecl("LLVMFuzzerCustomMutator")
public func mutate(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    Fuzz.mutateJSONNumbers(data, size, maxSize, seed)
}
