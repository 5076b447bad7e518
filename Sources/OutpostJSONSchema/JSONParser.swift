/// Why JSON text could not be parsed, and where.
public struct JSONParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The line of the problem, from 1.
    public let line: Int
    /// The column of the problem, from 1, counted in Unicode scalars.
    public let column: Int
    /// What is wrong, e.g. `expected ',' or '}' after an object member, found ']'`.
    public let message: String

    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    /// `line 3, column 7: expected ',' or '}' after an object member, found ']'`
    public var description: String { "line \(line), column \(column): \(message)" }
}

/// A strict recursive-descent parser for RFC 8259 JSON over UTF-8 bytes.
struct JSONParser {
    /// Deeper documents are refused rather than risk the stack.
    static let maximumDepth = 256

    private let bytes: [UInt8]
    /// Where the text starts: after a byte order mark, if any.
    private let textStart: Int
    private var index: Int

    init(bytes: [UInt8]) {
        self.bytes = bytes
        textStart = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        index = textStart
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        guard index < bytes.count else { throw error("the document is empty") }
        let value = try parseValue(depth: 0)
        skipWhitespace()
        guard index == bytes.count else { throw error("unexpected \(found) after the end of the document") }
        return value
    }

    // MARK: Values

    private mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw error("expected a value, found the end of the input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try parseLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error("expected a value, found \(found)")
        }
    }

    private mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= Self.maximumDepth else { throw error("nested more than \(Self.maximumDepth) levels deep") }
        index += 1  // {
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if consume(UInt8(ascii: "}")) { return .object(members) }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                if !members.isEmpty, index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                    throw error("trailing comma before '}'")
                }
                throw error("expected a property name in double quotes, found \(found)")
            }
            let keyStart = index
            let key = try parseString()
            guard members[key] == nil else { throw error("duplicate property \(JSONValue.quoted(key))", at: keyStart) }
            skipWhitespace()
            guard consume(UInt8(ascii: ":")) else { throw error("expected ':' after the property name, found \(found)") }
            skipWhitespace()
            members[key] = try parseValue(depth: depth)
            skipWhitespace()
            if consume(UInt8(ascii: ",")) { continue }
            if consume(UInt8(ascii: "}")) { return .object(members) }
            throw error("expected ',' or '}' after an object member, found \(found)")
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= Self.maximumDepth else { throw error("nested more than \(Self.maximumDepth) levels deep") }
        index += 1  // [
        var items: [JSONValue] = []
        skipWhitespace()
        if consume(UInt8(ascii: "]")) { return .array(items) }
        while true {
            skipWhitespace()
            if !items.isEmpty, index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                throw error("trailing comma before ']'")
            }
            items.append(try parseValue(depth: depth))
            skipWhitespace()
            if consume(UInt8(ascii: ",")) { continue }
            if consume(UInt8(ascii: "]")) { return .array(items) }
            throw error("expected ',' or ']' after an array item, found \(found)")
        }
    }

    private mutating func parseLiteral(_ word: String) throws(JSONParseError) {
        let expected = Array(word.utf8)
        guard bytes.count - index >= expected.count, bytes[index..<index + expected.count].elementsEqual(expected) else {
            throw error("expected a value, found \(found)")
        }
        index += expected.count
    }

    // MARK: Numbers

    private mutating func parseNumber() throws(JSONParseError) -> Double {
        let start = index
        _ = consume(UInt8(ascii: "-"))
        if consume(UInt8(ascii: "0")) {
            if index < bytes.count, isDigit(bytes[index]) { throw error("a number may not have a leading zero", at: start) }
        } else {
            guard skipDigits() else { throw error("expected a digit, found \(found)") }
        }
        if consume(UInt8(ascii: ".")) {
            guard skipDigits() else { throw error("expected a digit after the decimal point, found \(found)") }
        }
        if consume(UInt8(ascii: "e")) || consume(UInt8(ascii: "E")) {
            if !consume(UInt8(ascii: "+")) { _ = consume(UInt8(ascii: "-")) }
            guard skipDigits() else { throw error("expected a digit in the exponent, found \(found)") }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw error("the number \(text) is out of range", at: start) }
        return value
    }

    /// Skips a run of digits; false when there was none.
    private mutating func skipDigits() -> Bool {
        let start = index
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        return index > start
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    // MARK: Strings

    private mutating func parseString() throws(JSONParseError) -> String {
        let start = index
        index += 1  // "
        var buffer: [UInt8] = []
        var ascii = true
        while true {
            guard index < bytes.count else { throw error("unterminated string", at: start) }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                if ascii { return String(decoding: buffer, as: UTF8.self) }
                guard let text = Self.decodeUTF8(buffer) else { throw error("the string is not valid UTF-8", at: start) }
                return text
            case UInt8(ascii: "\\"):
                let scalar = try parseEscape()
                if scalar.value >= 0x80 { ascii = false }
                UTF8.encode(scalar) { buffer.append($0) }
            case 0..<0x20:
                throw error("a control character (U+00\(byte < 0x10 ? "0" : "")\(String(byte, radix: 16, uppercase: true))) must be escaped in a string")
            default:
                if byte >= 0x80 { ascii = false }
                buffer.append(byte)
                index += 1
            }
        }
    }

    /// Parses the escape sequence at `index` (at its backslash).
    private mutating func parseEscape() throws(JSONParseError) -> Unicode.Scalar {
        let start = index
        index += 1  // backslash
        guard index < bytes.count else { throw error("unterminated string") }
        let escape = bytes[index]
        index += 1
        switch escape {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let unit = try parseHexUnit(escapeStart: start)
            if (0xDC00...0xDFFF).contains(unit) { throw error("unpaired surrogate in a \\u escape", at: start) }
            if (0xD800...0xDBFF).contains(unit) {
                guard bytes.count - index >= 2, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw error("unpaired surrogate in a \\u escape", at: start)
                }
                let lowStart = index
                index += 2
                let low = try parseHexUnit(escapeStart: lowStart)
                guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate in a \\u escape", at: start) }
                return Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))!
            }
            return Unicode.Scalar(unit)!
        default:
            index = start
            throw error("invalid escape sequence in a string")
        }
    }

    /// Four hex digits at `index`.
    private mutating func parseHexUnit(escapeStart: Int) throws(JSONParseError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw error("a \\u escape needs four hex digits", at: escapeStart) }
        var unit: UInt32 = 0
        for byte in bytes[index..<index + 4] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("a \\u escape needs four hex digits", at: escapeStart)
            }
            unit = unit << 4 | UInt32(digit)
        }
        index += 4
        return unit
    }

    /// Strict UTF-8 decoding: nil for malformed, overlong or surrogate sequences.
    private static func decodeUTF8(_ bytes: [UInt8]) -> String? {
        var scalars = String.UnicodeScalarView()
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): scalars.append(scalar)
            case .emptyInput: return String(scalars)
            case .error: return nil
            }
        }
    }

    // MARK: Helpers

    private mutating func consume(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// What is at `index`, for messages: `'x'`, `end of input`, or a code point.
    private var found: String {
        guard index < bytes.count else { return "the end of the input" }
        let byte = bytes[index]
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        if byte < 0x80 { return "U+00\(byte < 0x10 ? "0" : "")\(String(byte, radix: 16, uppercase: true))" }
        // The scalar starting here, when it is well formed.
        var iterator = bytes[index...].prefix(4).makeIterator()
        var decoder = UTF8()
        if case .scalarValue(let scalar) = decoder.decode(&iterator) {
            return "'\(Character(scalar))'"
        }
        return "a byte that is not UTF-8 (0x\(String(byte, radix: 16, uppercase: true)))"
    }

    private func error(_ message: String) -> JSONParseError { error(message, at: index) }

    private func error(_ message: String, at offset: Int) -> JSONParseError {
        var line = 1
        var column = 1
        for byte in bytes[textStart..<max(textStart, min(offset, bytes.count))] {
            if byte == 0x0A {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return JSONParseError(line: line, column: column, message: message)
    }
}
