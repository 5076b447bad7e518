import Foundation
import OutpostJSONSchema
import Testing

@Suite("JSON parsing")
struct JSONValueTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONValue.parse(Data(#"{"a": [true, false, 1, "x\n\u00e9\/", null, -2.5e1, 0, 1E2, -0, 0.5], "b": {}, "c": []}"#.utf8))
        let expected: JSONValue = [
            "a": [true, false, 1, "x\né/", .null, -25, 0, 100, 0, 0.5],
            "b": [:],
            "c": [],
        ]
        #expect(value == expected)
        #expect(value["a"]?[3] == "x\né/")
        #expect(value["missing"] == nil)
        #expect(value["a"]?[10] == nil)
    }

    @Test func booleansAreNotNumbers() throws {
        #expect(try JSONValue.parse("true") == .bool(true))
        #expect(try JSONValue.parse("1") == .number(1))
        #expect(try JSONValue.parse("0") == .number(0))
        #expect(try JSONValue.parse("false") == .bool(false))
        #expect(JSONValue.bool(true) != .number(1))
        #expect(JSONValue.bool(false) != .number(0))
        #expect(Set<JSONValue>([.bool(true), .number(1), .bool(false), .number(0)]).count == 4)
    }

    @Test func objectEqualityIgnoresMemberOrder() throws {
        #expect(try JSONValue.parse(#"{"a":1,"b":[2,{"c":3,"d":4}]}"#) == JSONValue.parse(#"{"b":[2,{"d":4,"c":3}],"a":1.0}"#))
        #expect(try JSONValue.parse("[1,2]") != JSONValue.parse("[2,1]"))
    }

    @Test func decodesEscapesAndUTF8() throws {
        #expect(try JSONValue.parse(#""\ud83d\ude00 \u00E9 \"\\ \b\f\r\t""#) == .string("😀 é \"\\ \u{08}\u{0C}\r\t"))
        #expect(try JSONValue.parse(Data("\"grüße 😀\"".utf8)) == .string("grüße 😀"))
        #expect(try JSONValue.parse(Data([0xEF, 0xBB, 0xBF] + Array("[1]".utf8))) == [1])
    }

    struct BadText: Sendable, CustomTestStringConvertible {
        let text: [UInt8]
        let expected: String
        var testDescription: String { String(decoding: text, as: UTF8.self) }

        init(_ text: String, _ expected: String) {
            self.text = Array(text.utf8)
            self.expected = expected
        }

        init(bytes: [UInt8], _ expected: String) {
            self.text = bytes
            self.expected = expected
        }
    }

    @Test(arguments: [
        BadText("", "line 1, column 1: the document is empty"),
        BadText("  \n ", "line 2, column 2: the document is empty"),
        BadText(#"{"a": 1,}"#, "line 1, column 9: trailing comma before '}'"),
        BadText("[1,]", "line 1, column 4: trailing comma before ']'"),
        BadText(#"{"a" 1}"#, "line 1, column 6: expected ':' after the property name, found '1'"),
        BadText(#"{"a":1 "b":2}"#, #"line 1, column 8: expected ',' or '}' after an object member, found '"'"#),
        BadText("[1 2]", "line 1, column 4: expected ',' or ']' after an array item, found '2'"),
        BadText(#"{"a": 1"#, "line 1, column 8: expected ',' or '}' after an object member, found the end of the input"),
        BadText("{a: 1}", "line 1, column 2: expected a property name in double quotes, found 'a'"),
        BadText("[1] x", "line 1, column 5: unexpected 'x' after the end of the document"),
        BadText("01", "line 1, column 1: a number may not have a leading zero"),
        BadText("1.", "line 1, column 3: expected a digit after the decimal point, found the end of the input"),
        BadText("-", "line 1, column 2: expected a digit, found the end of the input"),
        BadText("1e+", "line 1, column 4: expected a digit in the exponent, found the end of the input"),
        BadText("+1", "line 1, column 1: expected a value, found '+'"),
        BadText(".5", "line 1, column 1: expected a value, found '.'"),
        BadText("1e999", "line 1, column 1: the number 1e999 is out of range"),
        BadText(#""abc"#, "line 1, column 1: unterminated string"),
        BadText(#""a\qb""#, "line 1, column 3: invalid escape sequence in a string"),
        BadText(#""\u12G4""#, "line 1, column 2: a \\u escape needs four hex digits"),
        BadText(#""\ud800""#, "line 1, column 2: unpaired surrogate in a \\u escape"),
        BadText(#""\udc00""#, "line 1, column 2: unpaired surrogate in a \\u escape"),
        BadText(#""\ud800\u0041""#, "line 1, column 2: unpaired surrogate in a \\u escape"),
        BadText("\"a\tb\"", "line 1, column 3: a control character (U+0009) must be escaped in a string"),
        BadText(#"{"a":1,"a":2}"#, #"line 1, column 8: duplicate property "a""#),
        BadText("tru", "line 1, column 1: expected a value, found 't'"),
        BadText("nul", "line 1, column 1: expected a value, found 'n'"),
        BadText("NaN", "line 1, column 1: expected a value, found 'N'"),
        BadText("// note\n1", "line 1, column 1: expected a value, found '/'"),
        BadText("'a'", "line 1, column 1: expected a value, found '''"),
        BadText("{\n  \"a\": 1,\n  \"b\": ]\n}", "line 3, column 8: expected a value, found ']'"),
        BadText("[\"é\", x]", "line 1, column 7: expected a value, found 'x'"),
        BadText("[\"😀\"] é", "line 1, column 7: unexpected 'é' after the end of the document"),
        BadText(bytes: [0x22, 0xC3, 0x28, 0x22], "line 1, column 1: the string is not valid UTF-8"),
        BadText(bytes: [0x22, 0xED, 0xA0, 0x80, 0x22], "line 1, column 1: the string is not valid UTF-8"),
        BadText(bytes: [0x5B, 0xFF, 0x5D], "line 1, column 2: expected a value, found a byte that is not UTF-8 (0xFF)"),
        BadText(String(repeating: "[", count: 300), "line 1, column 257: nested more than 256 levels deep"),
    ])
    func refusesBadText(_ bad: BadText) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(Data(bad.text)) }
        do {
            _ = try JSONValue.parse(Data(bad.text))
        } catch {
            #expect(error.description == bad.expected)
        }
    }

    @Test func parseErrorsHaveLineAndColumn() {
        #expect(throws: JSONParseError(line: 2, column: 3, message: "expected a value, found '}'")) {
            try JSONValue.parse("{\"a\":\n  }")
        }
    }

    @Test func acceptsDeepButNotTooDeepNesting() throws {
        let depth = 256
        let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        var value = try JSONValue.parse(text)
        for _ in 1..<depth { value = try #require(value[0]) }
        #expect(value == [])
    }

    @Test func descriptionIsCompactJSONWithSortedKeys() throws {
        let value: JSONValue = ["b": [1, 2.5, -0.125, 1e20, "q\"\\\n\u{01}é"], "a": .null, "c": [true, false], "d": [:]]
        #expect(value.description == #"{"a":null,"b":[1,2.5,-0.125,1e+20,"q\"\\\n\u0001é"],"c":[true,false],"d":{}}"#)
        #expect(try JSONValue.parse(value.description) == value)
    }

    @Test(arguments: [
        (JSONValue.null, "null"), (true, "boolean"), (1, "number"), ("s", "string"), ([], "array"), ([:], "object"),
    ] as [(JSONValue, String)])
    func typeNames(value: JSONValue, name: String) {
        #expect(value.typeName == name)
    }
}
