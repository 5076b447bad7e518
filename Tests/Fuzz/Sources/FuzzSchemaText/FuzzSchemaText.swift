import Foundation
import FuzzSupport
import OutpostJSONSchema

/// Schema text itself: `JSONSchema(data:)` compiles it (keywords, `$ref` resolution, the
/// reference-cycle check, regular expressions), and a schema that compiles validates a fixed
/// set of values and the schema document itself, which reach every keyword it has.
///
/// The project's schemas are its own files, not outside input, but the compiler must refuse a
/// bad schema with an error rather than trap, and its refusals are what a contributor sees.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = Data(Fuzz.bytes(start, count))
    let schema: JSONSchema
    do {
        schema = try JSONSchema(data: data)
    } catch {
        if !error.pointer.hasPrefix("#") { Fuzz.fail("a schema error outside the schema: \(error)") }
        return 0
    }
    if let document = try? JSONValue.parse(data) {
        _ = schema.validate(json: document)
    }
    for value in probes {
        _ = schema.validate(json: value)
    }
    return 0
}

/// One value of every type, with nesting, to drive the evaluator through a fuzzed schema.
private let probes: [JSONValue] = [
    .null, true, 0, -1.5, 1e300, "", "fault", "s0.sim.example",
    [], [1, 2, 2, "x", [true]],
    [:], ["kind": "reset", "at_seconds": 1, "servers": [0, 1], "name": ["nested": [:]]],
]

/// Structure-aware mutation: numbers rewritten to boundary values half the time (see
/// `Fuzz.mutateJSONNumbers`).
@_cdecl("LLVMFuzzerCustomMutator")
public func mutate(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    Fuzz.mutateJSONNumbers(data, size, maxSize, seed)
}
