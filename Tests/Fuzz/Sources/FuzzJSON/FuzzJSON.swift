import Foundation
import FuzzSupport
import OutpostJSONSchema

/// JSON text through the package's own parser (`JSONValue.parse`), which every schema check
/// runs first.
///
/// Invariants: a parsed value printed with `description` parses back to the same value, and
/// the `Data` and `String` entry points agree on valid UTF-8.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = Fuzz.bytes(start, count)
    let parsed: JSONValue
    do {
        parsed = try JSONValue.parse(Data(bytes))
    } catch {
        // A refusal must say where: lines and columns count from 1.
        if error.line < 1 || error.column < 1 { Fuzz.fail("parse error without a position: \(error)") }
        return 0
    }

    let printed = parsed.description
    do {
        let reparsed = try JSONValue.parse(printed)
        if reparsed != parsed { Fuzz.fail("\(printed) does not parse back to the value it was printed from") }
    } catch {
        Fuzz.fail("the printed form \(printed) does not parse: \(error)")
    }

    // The document parsed, so it is valid UTF-8 (the parser checks every string, and the rest
    // of a document is ASCII), and the String entry point must agree.
    let text = String(decoding: bytes, as: UTF8.self)
    if Array(text.utf8) == bytes {
        do {
            let fromText = try JSONValue.parse(text)
            if fromText != parsed { Fuzz.fail("parse(String) and parse(Data) disagree") }
        } catch {
            Fuzz.fail("parse(String) refuses what parse(Data) accepts: \(error)")
        }
    }
    return 0
}
