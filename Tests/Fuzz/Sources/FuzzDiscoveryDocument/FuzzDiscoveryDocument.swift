import Foundation
import FuzzSupport
import Outpost

/// A discovery document (`/.well-known/sovereign.json`) as a server publishes it:
/// `DiscoveryDocument(json:source:)` validates it against `discovery.schema.json`, decodes it
/// and parses its WebSocket URL (the same `Endpoint` parsing the transport does).
///
/// Invariant: a document that is accepted is one the schema accepts.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = Data(Fuzz.bytes(start, count))
    guard let document = try? DiscoveryDocument(json: data, source: "fuzz") else { return 0 }
    if !Fuzz.projectSchema("discovery").validate(data).isEmpty {
        Fuzz.fail("accepted a document its schema refuses: \(document)")
    }
    if !document.isPublished { Fuzz.fail("a parsed document must count as published") }
    return 0
}

/// Structure-aware mutation: numbers rewritten to boundary values half the time (see
/// `Fuzz.mutateJSONNumbers`).
@_cdecl("LLVMFuzzerCustomMutator")
public func mutate(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    Fuzz.mutateJSONNumbers(data, size, maxSize, seed)
}
