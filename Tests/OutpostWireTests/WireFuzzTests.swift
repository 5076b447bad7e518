import Foundation
import OutpostWire
import Testing

/// Feeds both decoders 100,000 inputs from a fixed seed: random bytes, valid envelopes mutated in
/// many ways, and oversized envelopes. Every input must give an envelope or a typed error, never
/// a crash; an input over the limit must be refused as too large; and an envelope that decodes
/// must survive re-encoding.
@Suite("Wire codec fuzzing")
struct WireFuzzTests {
    /// SplitMix64: local to the test, so the corpus never changes with the standard library.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let iterations = 100_000

    /// Valid envelopes of every type, both directions.
    static func seeds() throws -> [[UInt8]] {
        try WireCodecTests.serverFrames.map { try WireCodec.encode(ServerEnvelope(requestID: "req-1", frame: $0.0)) }
            + WireCodecTests.clientFrames.map { try WireCodec.encode(ClientEnvelope(requestID: "req-2", frame: $0.0)) }
            + WireCodecTests.serverFrames.map { try WireCodec.encode(ServerEnvelope(requestID: "", frame: $0.0)) }
    }

    /// Type numbers to swap in: every valid one, 0, gaps, the extension range and big numbers.
    static let typeNumbers: [UInt64] = MessageType.allCases.map { UInt64($0.rawValue) }
        + [12, 19, 24, 36, 47, 52, 63, 127, 128, 300, 1 << 31, UInt64.max]

    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value, bytes: [UInt8] = []
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        return bytes + [UInt8(value)]
    }

    static func randomBytes(_ count: Int, _ random: inout SplitMix64) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    static func mutate(_ input: [UInt8], seeds: [[UInt8]], _ random: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            switch Int.random(in: 0..<9, using: &random) {
            case 0 where !bytes.isEmpty:  // flip a bit
                let index = Int.random(in: 0..<bytes.count, using: &random)
                bytes[index] ^= 1 << UInt8.random(in: 0..<8, using: &random)
            case 1 where !bytes.isEmpty:  // truncate
                bytes.removeLast(Int.random(in: 1...bytes.count, using: &random))
            case 2:  // insert random bytes
                let index = Int.random(in: 0...bytes.count, using: &random)
                bytes.insert(contentsOf: randomBytes(Int.random(in: 1...8, using: &random), &random), at: index)
            case 3 where !bytes.isEmpty:  // duplicate a slice
                let start = Int.random(in: 0..<bytes.count, using: &random)
                let end = min(bytes.count, start + Int.random(in: 1...16, using: &random))
                bytes.insert(contentsOf: bytes[start..<end], at: start)
            case 4:  // swap the type number (field 1, a varint at the start of an encoded envelope)
                var rest = bytes.first == 0x08 ? Array(bytes.dropFirst()) : bytes
                if bytes.first == 0x08 { while let first = rest.first, first & 0x80 != 0 { rest.removeFirst() }; rest = Array(rest.dropFirst()) }
                bytes = [0x08] + varint(typeNumbers.randomElement(using: &random)!) + rest
            case 5 where !bytes.isEmpty:  // set a byte to an edge value
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = [0x00, 0x7F, 0x80, 0xFF].randomElement(using: &random)!
            case 6:  // append a field with a huge length prefix
                bytes += [0x1A, 0xFF, 0xFF, 0xFF, 0x0F]
            case 7:  // append another envelope (protobuf merges them)
                bytes += seeds.randomElement(using: &random)!
            default:  // mutate inside the payload, keeping the envelope valid
                guard var envelope = try? Envelope(serializedBytes: bytes) else { continue }
                var payload = [UInt8](envelope.payload)
                if !payload.isEmpty, Bool.random(using: &random) {
                    payload[Int.random(in: 0..<payload.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
                } else {
                    payload.insert(contentsOf: randomBytes(Int.random(in: 1...6, using: &random), &random),
                                   at: Int.random(in: 0...payload.count, using: &random))
                }
                envelope.payload = Data(payload)
                bytes = (try? envelope.serializedBytes()) ?? bytes
            }
        }
        return bytes
    }

    /// A seed grown with an unknown length-delimited field to a total near the limit
    /// (65,530 ... 65,545 bytes): valid below and at 65,536, too large above.
    static func nearTheLimit(_ seed: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        // Around the limit of either direction: 65,536, and 1 KiB more for what servers send.
        let limit = Bool.random(using: &random) ? WireCodec.maxEnvelopeBytes : WireCodec.maxInboundEnvelopeBytes
        let target = limit - 6 + Int.random(in: 0...15, using: &random)
        // Field 15, wire type 2, with a 3-byte length: 1 + 3 + n bytes.
        let filler = target - seed.count - 4
        return seed + [0x7A] + varint(UInt64(filler)) + [UInt8](repeating: 0x41, count: filler)
    }

    /// What one decoder made of an input, and the size limit it applies.
    enum Outcome { case decoded(limit: Int), refused(WireError.Code, limit: Int) }

    static func outcome<T>(limit: Int, _ decode: () throws(WireError) -> T, check: (T) -> Void) -> Outcome {
        do {
            let envelope = try decode()
            check(envelope)
            return .decoded(limit: limit)
        } catch {
            return .refused(error.code, limit: limit)
        }
    }

    @Test func oneHundredThousandInputsGiveAnEnvelopeOrATypedError() throws {
        var random = SplitMix64(state: 0x0075_7470_6F73_7401)
        let seeds = try Self.seeds()
        var decoded = 0, refused = 0, oversized = 0, atTheLimit = 0
        var codes: [String: Int] = [:]
        let start = ContinuousClock.now
        for iteration in 0..<Self.iterations {
            let seed = seeds.randomElement(using: &random)!
            let input: [UInt8] = switch iteration % 20 {
            case 0..<12: Self.mutate(seed, seeds: seeds, &random)
            case 12..<16: Self.randomBytes(Int.random(in: 0...48, using: &random), &random)
            case 16: Self.mutate(Self.randomBytes(Int.random(in: 0...16, using: &random), &random), seeds: seeds, &random)
            case 17: Self.randomBytes(Int.random(in: 0...600, using: &random), &random)
            case 18: seed
            default: iteration % 200 == 19 ? Self.nearTheLimit(seed, &random) : Self.mutate(seed, seeds: seeds, &random)
            }
            if input.count > WireCodec.maxEnvelopeBytes { oversized += 1 }
            if input.count == WireCodec.maxEnvelopeBytes { atTheLimit += 1 }

            let outcomes = [
                Self.outcome(limit: WireCodec.maxInboundEnvelopeBytes, { () throws(WireError) in try WireCodec.decodeServerEnvelope(input) }) { envelope in
                    // A decoded envelope re-encodes (or is refused with a typed error) and decodes the same.
                    if let bytes = try? WireCodec.encode(envelope) {
                        #expect((try? WireCodec.decodeServerEnvelope(bytes)) == envelope)
                    }
                },
                Self.outcome(limit: WireCodec.maxEnvelopeBytes, { () throws(WireError) in try WireCodec.decodeClientEnvelope(input) }) { envelope in
                    if let bytes = try? WireCodec.encode(envelope) {
                        #expect((try? WireCodec.decodeClientEnvelope(bytes)) == envelope)
                    }
                },
            ]
            for outcome in outcomes {
                switch outcome {
                case .decoded(let limit):
                    decoded += 1
                    #expect(input.count <= limit)
                case .refused(let code, let limit):
                    refused += 1
                    codes[code.description, default: 0] += 1
                    #expect((code == .envelopeTooLarge) == (input.count > limit), "\(code), \(input.count) bytes")
                }
            }
        }
        let elapsed = ContinuousClock.now - start
        print("wire fuzz: \(Self.iterations) inputs, \(decoded) decoded, \(refused) refused \(codes.sorted { $0.key < $1.key }), \(oversized) oversized, \(atTheLimit) at the limit, \(elapsed)")
        #expect(decoded + refused == 2 * Self.iterations)
        #expect(decoded > 0 && refused > 0)
        #expect(oversized > 0 && atTheLimit > 0)
        for code: WireError.Code in [.malformedEnvelope, .unspecifiedMessageType, .unknownMessageType, .malformedPayload, .wrongDirection, .envelopeTooLarge] {
            #expect(codes[code.description, default: 0] > 0, "never saw \(code)")
        }
    }
}
