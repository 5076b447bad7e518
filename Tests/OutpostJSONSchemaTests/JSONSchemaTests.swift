import Foundation
import OutpostJSONSchema
import Testing

@Suite("JSON Schema validator")
struct JSONSchemaTests {
    static let schema = #"""
    {
      "type": "object",
      "required": ["name", "count"],
      "additionalProperties": false,
      "properties": {
        "name": { "type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[a-z]+$" },
        "count": { "type": "integer", "minimum": 1, "maximum": 10 },
        "ratio": { "type": "number", "exclusiveMinimum": 0 },
        "flag": { "type": "boolean" },
        "kind": { "enum": ["a", "b"] },
        "fixed": { "const": 3 },
        "tags": { "type": "array", "items": { "type": "string" }, "minItems": 1, "maxItems": 2, "uniqueItems": true },
        "nested": { "$ref": "#/$defs/point" },
        "either": { "anyOf": [{ "type": "string" }, { "type": "integer" }] },
        "one": { "oneOf": [{ "type": "integer" }, { "minimum": 5 }] }
      },
      "$defs": { "point": { "type": "object", "required": ["x"], "properties": { "x": { "type": "integer" } } } }
    }
    """#

    static let cases: [(String, [String])] = [
        (#"{"name":"ab","count":3}"#, []),
        (#"{"name":"ab"}"#, [#"$: required property "count" is missing"#]),
        (#"{"name":"ab","count":3,"extra":1}"#, [#"$.extra: property "extra" is not allowed"#]),
        (#"{"name":"ab","count":"3"}"#, [#"$.count: expected integer, got string "3""#]),
        (#"{"name":"ab","count":1.5}"#, ["$.count: expected integer, got number 1.5"]),
        (#"{"name":"ab","count":0}"#, ["$.count: 0 is less than the minimum 1"]),
        (#"{"name":"ab","count":11}"#, ["$.count: 11 is more than the maximum 10"]),
        (#"{"name":"a","count":1}"#, [#"$.name: "a" is shorter than 2 characters"#]),
        (#"{"name":"abcdef","count":1}"#, [#"$.name: "abcdef" is longer than 5 characters"#]),
        (#"{"name":"AB","count":1}"#, [#"$.name: "AB" does not match ^[a-z]+$"#]),
        (#"{"name":"ab","count":1,"ratio":0}"#, ["$.ratio: 0 must be more than 0"]),
        (#"{"name":"ab","count":1,"flag":1}"#, ["$.flag: expected boolean, got integer 1"]),
        (#"{"name":"ab","count":true}"#, ["$.count: expected integer, got boolean true"]),
        (#"{"name":"ab","count":1,"kind":"c"}"#, [#"$.kind: "c" is not one of "a", "b""#]),
        (#"{"name":"ab","count":1,"fixed":4}"#, ["$.fixed: must be 3, got 4"]),
        (#"{"name":"ab","count":1,"tags":[]}"#, ["$.tags: has 0 items, fewer than 1"]),
        (#"{"name":"ab","count":1,"tags":["x","x"]}"#, ["$.tags: items are not unique"]),
        (#"{"name":"ab","count":1,"tags":["x",2]}"#, ["$.tags[1]: expected string, got integer 2"]),
        (#"{"name":"ab","count":1,"nested":{}}"#, [#"$.nested: required property "x" is missing"#]),
        (#"{"name":"ab","count":1,"either":false}"#, ["$.either: matches none of the alternatives"]),
        (#"{"name":"ab","count":1,"one":7}"#, ["$.one: matches 2 alternatives, not exactly one"]),
        (#"{"count":0,"zeta":1,"alpha":2}"#, [#"$: required property "name" is missing"#, #"$.alpha: property "alpha" is not allowed"#,
                                              "$.count: 0 is less than the minimum 1", #"$.zeta: property "zeta" is not allowed"#]),
        (#"{"name": "ab", "count": 1"#, ["$: not valid JSON: line 1, column 26: expected ',' or '}'"]),
    ]

    @Test(arguments: cases)
    func validation(instance: String, expected: [String]) throws {
        let schema = try JSONSchema(data: Data(Self.schema.utf8))
        #expect(schema.validate(Data(instance.utf8)).map(\.description) == expected)
    }

    @Test func anUnresolvableReferenceIsABadSchema() {
        #expect(throws: JSONSchemaError.self) { try JSONSchema(data: Data(##"{"$ref": "#/$defs/missing"}"##.utf8)) }
    }

    @Test func parsingKeepsStringsNumbersAndBooleansApart() throws {
        let value = try JSONValue.parse(Data(#"{"a": [true, 1, "x\n\u00e9", null, -2.5e1]}"#.utf8))
        #expect(value["a"] == .array([.bool(true), .number(1), .string("x\né"), .null, .number(-25)]))
    }
}
