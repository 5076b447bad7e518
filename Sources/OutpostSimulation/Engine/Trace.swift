import Foundation
import OutpostStore

/// The record of a run: a running hash of every event the engine processed (so two runs of one
/// seed can be compared byte for byte) and, when asked for, a JSONL file of the notable ones.
struct Trace {
    /// FNV-1a 64 over every record: stable across processes, unlike `Hasher`.
    private(set) var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    private(set) var eventCount = 0
    private var output: FileHandle?
    private var buffer = Data()

    init(path: String?) {
        if let path {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            output = FileHandle(forWritingAtPath: path)
        }
    }

    /// Mixes one processed event into the hash (cheap: no text is built).
    mutating func mix(_ time: Timestamp, _ kind: UInt64, _ server: Int, _ detail: UInt64 = 0) {
        eventCount += 1
        mix(UInt64(bitPattern: time.microseconds))
        mix(kind)
        mix(UInt64(bitPattern: Int64(server)))
        mix(detail)
    }

    /// Records a notable event: hashed, and written as one JSON line when tracing to a file.
    mutating func record(_ time: Timestamp, server: Int?, _ event: String, _ detail: String = "") {
        for byte in event.utf8 { mixByte(byte) }
        for byte in detail.utf8 { mixByte(byte) }
        guard output != nil else { return }
        var line = "{\"t_us\":\(time.microseconds)"
        if let server { line += ",\"server\":\(server)" }
        line += ",\"event\":\(Self.quoted(event))"
        if !detail.isEmpty { line += ",\"detail\":\(Self.quoted(detail))" }
        line += "}\n"
        buffer.append(contentsOf: line.utf8)
        if buffer.count > 1 << 16 { flush() }
    }

    mutating func flush() {
        guard let output, !buffer.isEmpty else { return }
        output.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    mutating func close() {
        flush()
        try? output?.close()
        output = nil
    }

    private mutating func mix(_ value: UInt64) {
        var value = value
        for _ in 0..<8 {
            mixByte(UInt8(truncatingIfNeeded: value))
            value >>= 8
        }
    }

    private mutating func mixByte(_ byte: UInt8) {
        hash ^= UInt64(byte)
        hash &*= 0x0000_0100_0000_01B3
    }

    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            default:
                if scalar.value < 0x20 { result += String(format: "\\u%04x", scalar.value) } else { result.unicodeScalars.append(scalar) }
            }
        }
        return result + "\""
    }
}
