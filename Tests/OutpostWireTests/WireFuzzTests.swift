import Foundation
import OutpostWire
import Testing

/// Feeds the decoder 100,000 random and mutated envelopes from a fixed seed: every input must
/// give a frame or a typed error, never a crash.
@Suite("Wire codec fuzzing")
struct WireFuzzTests {
    /// SplitMix64, local to the test so that the corpus never changes with the library.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func seeds() throws -> [[UInt8]] {
        try (WireCodecTests.serverFrames.map { try WireCodec.encode(ServerEnvelope(requestID: "req-1", frame: $0)) })
            + (WireCodecTests.clientFrames.map { try WireCodec.encode(ClientEnvelope(requestID: "req-2", frame: $0)) })
    }

    static func mutate(_ input: [UInt8], _ random: inout Generator) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            switch Int.random(in: 0..<7, using: &random) {
            case 0 where !bytes.isEmpty:  // flip a bit
                let index = Int.random(in: 0..<bytes.count, using: &random)
                bytes[index] ^= 1 << UInt8.random(in: 0..<8, using: &random)
            case 1 where !bytes.isEmpty:  // truncate
                bytes.removeLast(Int.random(in: 1...bytes.count, using: &random))
            case 2:  // insert random bytes
                let index = Int.random(in: 0...bytes.count, using: &random)
                bytes.insert(contentsOf: (0..<Int.random(in: 1...8, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }, at: index)
            case 3 where !bytes.isEmpty:  // duplicate a slice
                let start = Int.random(in: 0..<bytes.count, using: &random)
                let end = min(bytes.count, start + Int.random(in: 1...16, using: &random))
                bytes.insert(contentsOf: bytes[start..<end], at: start)
            case 4 where bytes.count > 1:  // swap the type number
                bytes[1] = UInt8.random(in: 0...70, using: &random)
            case 5 where !bytes.isEmpty:  // set a byte to an edge value
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = [0x00, 0x7F, 0x80, 0xFF].randomElement(using: &random)!
            default:  // append a large length prefix
                bytes += [0x1A, 0xFF, 0xFF, 0xFF, 0x0F]
            }
        }
        return bytes
    }

    /// `nil` when `decode` produced a frame, else the typed error's code.
    static func outcome<T>(_ decode: () throws(WireError) -> T) -> WireError.Code? {
        do {
            _ = try decode()
            return nil
        } catch {
            return error.code
        }
    }

    @Test func oneHundredThousandEnvelopesGiveAFrameOrATypedError() throws {
        var random = Generator(state: 0x5EED)
        let seeds = try Self.seeds()
        var decoded = 0, refused = 0
        var codes: Set<String> = []
        for iteration in 0..<100_000 {
            let input: [UInt8]
            switch iteration % 10 {
            case 0...5:
                input = Self.mutate(seeds[Int.random(in: 0..<seeds.count, using: &random)], &random)
            case 6, 7:
                input = (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            case 8:
                input = seeds[Int.random(in: 0..<seeds.count, using: &random)]
            default:
                input = iteration % 1_000 == 9 ? Array(repeating: 0x0A, count: 65_537 + iteration % 7) : Self.mutate([], &random)
            }
            let asClient = Self.outcome { () throws(WireError) in try WireCodec.decodeServerEnvelope(input) }
            let asServer = Self.outcome { () throws(WireError) in try WireCodec.decodeClientEnvelope(input) }
            for outcome in [asClient, asServer] {
                if let code = outcome {
                    refused += 1
                    codes.insert(code.description)
                } else {
                    decoded += 1
                }
            }
        }
        #expect(decoded + refused == 200_000)
        #expect(decoded > 1_000)
        #expect(refused > 1_000)
        #expect(codes.isSuperset(of: ["malformed envelope", "unknown message type", "malformed payload", "wrong direction",
                                      "envelope too large", "unspecified message type"]), "\(codes.sorted())")
    }
}
