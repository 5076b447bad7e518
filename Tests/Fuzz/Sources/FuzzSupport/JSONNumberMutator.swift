import CLibFuzzer
import OutpostSync

/// A mutation for targets whose input is a JSON document with numbers the code converts
/// (seconds to microseconds, amounts to `Int`, sizes to `size_t`): it rewrites one number of
/// the document into a value at a boundary, and leaves the rest of the document valid.
///
/// libFuzzer's byte mutations rarely turn `"at_seconds": 10` into `1e13` while keeping the
/// JSON valid, so overflows in what reads those numbers go unfound; this makes them one step
/// away. Half the mutations are still libFuzzer's own. A target opts in by defining
/// `LLVMFuzzerCustomMutator` and calling ``Fuzz/mutateJSONNumbers(_:_:_:_:)``.
extension Fuzz {
    public static func mutateJSONNumbers(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
        guard let data else { return 0 }
        // Seeded by libFuzzer, so that a mutation can be replayed.
        var random = SplitMix64(seed: UInt64(seed))
        let bytes = Array(UnsafeBufferPointer(start: data, count: size))
        let numbers = numberRanges(in: bytes)
        guard !numbers.isEmpty, random.next() % 2 == 0 else {
            return LLVMFuzzerMutate(data, size, maxSize)
        }
        let range = numbers[Int(random.next() % UInt64(numbers.count))]
        let original = Array(bytes[range])
        let replacement: [UInt8]
        if random.next() % 3 == 0, !original.contains(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            // Scale what is there: 10 → 10e13.
            replacement = original + Array("e\(exponents[Int(random.next() % UInt64(exponents.count))])".utf8)
        } else {
            replacement = Array(boundaries[Int(random.next() % UInt64(boundaries.count))].utf8)
        }
        var mutated = Array(bytes[..<range.lowerBound]) + replacement + Array(bytes[range.upperBound...])
        guard mutated.count <= maxSize else { return LLVMFuzzerMutate(data, size, maxSize) }
        mutated.withUnsafeMutableBufferPointer { buffer in
            data.update(from: buffer.baseAddress!, count: buffer.count)
        }
        return mutated.count
    }

    /// Values where conversions and arithmetic change behaviour.
    static let boundaries = [
        "0", "-0", "1", "-1", "0.5", "-0.5", "1e-300", "2147483647", "2147483648", "4294967295", "4294967296",
        "9007199254740993", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
        "-9223372036854775809", "18446744073709551615", "18446744073709551616", "1e13", "-1e13", "1e16",
        "1e19", "1e300", "-1e300", "1.7976931348623157e308",
    ]
    static let exponents = ["3", "6", "9", "12", "13", "16", "19", "300"]

    /// The byte ranges of the numbers in JSON text, outside strings.
    static func numberRanges(in bytes: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var index = 0
        var inString = false
        while index < bytes.count {
            let byte = bytes[index]
            if inString {
                if byte == UInt8(ascii: "\\") { index += 2; continue }
                if byte == UInt8(ascii: "\"") { inString = false }
                index += 1
            } else if byte == UInt8(ascii: "\"") {
                inString = true
                index += 1
            } else if byte == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                let start = index
                index += 1
                while index < bytes.count, isNumberByte(bytes[index]) { index += 1 }
                ranges.append(start..<index)
            } else {
                index += 1
            }
        }
        return ranges
    }

    private static func isNumberByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "+"), UInt8(ascii: "-")].contains(byte)
    }
}
