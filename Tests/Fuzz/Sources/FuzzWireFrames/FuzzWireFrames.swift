import FuzzSupport
import OutpostWire

/// One WebSocket message's bytes, as a server (or a client, for the simulated servers) might
/// send them: through both decoders of `WireCodec` and its salvage path.
///
/// Invariants beyond "never traps": a decoded envelope that re-encodes decodes to the same
/// envelope (re-encoding may refuse an inbound envelope that uses the 1 KiB of headroom over
/// the outbound limit, which is fine).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = Fuzz.bytes(start, count)

    if let envelope = try? WireCodec.decodeServerEnvelope(bytes) {
        if let encoded = try? WireCodec.encode(envelope) {
            do {
                let again = try WireCodec.decodeServerEnvelope(encoded)
                if again != envelope { Fuzz.fail("server envelope changed over encode/decode: \(envelope) became \(again)") }
            } catch {
                Fuzz.fail("a server envelope the codec encoded does not decode: \(error)")
            }
        }
    }

    if let envelope = try? WireCodec.decodeClientEnvelope(bytes) {
        if let encoded = try? WireCodec.encode(envelope) {
            do {
                let again = try WireCodec.decodeClientEnvelope(encoded)
                if again != envelope { Fuzz.fail("client envelope changed over encode/decode: \(envelope) became \(again)") }
            } catch {
                Fuzz.fail("a client envelope the codec encoded does not decode: \(error)")
            }
        }
    }

    // The salvage path runs on whatever the decoder refused; here it runs on everything, which
    // covers the refused frames and more.
    _ = WireCodec.salvage(bytes)
    return 0
}
