import Foundation
import OutpostJSONSchema
import Testing

/// A schema, a document, and the violations expected (as `path: message`).
struct Case: Sendable, CustomTestStringConvertible {
    let schema: String
    let instance: String
    let expected: [String]

    init(_ schema: String, _ instance: String, _ expected: String...) {
        self.schema = schema
        self.instance = instance
        self.expected = expected
    }

    var testDescription: String {
        "\(schema) ⟵ \(instance)".split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }

    func check() throws {
        let schema = try JSONSchema(data: Data(schema.utf8))
        #expect(schema.validate(Data(instance.utf8)).map(\.description) == expected)
    }
}

@Suite("JSON Schema keywords")
struct KeywordTests {
    @Test(arguments: [
        Case(#"{"type":"string"}"#, #""abc""#),
        Case(#"{"type":"string"}"#, "3", "$: expected string, got number 3"),
        Case(#"{"type":"integer"}"#, "3"),
        Case(#"{"type":"integer"}"#, "3.0"),
        Case(#"{"type":"integer"}"#, "-7"),
        Case(#"{"type":"integer"}"#, "1.5", "$: expected integer, got number 1.5"),
        Case(#"{"type":"integer"}"#, #""abc""#, #"$: expected integer, got string "abc""#),
        Case(#"{"type":"integer"}"#, "true", "$: expected integer, got boolean true"),
        Case(#"{"type":"number"}"#, "1.5"),
        Case(#"{"type":"number"}"#, "true", "$: expected number, got boolean true"),
        Case(#"{"type":"number"}"#, #""1""#, #"$: expected number, got string "1""#),
        Case(#"{"type":"boolean"}"#, "false"),
        Case(#"{"type":"boolean"}"#, "1", "$: expected boolean, got number 1"),
        Case(#"{"type":"boolean"}"#, "0", "$: expected boolean, got number 0"),
        Case(#"{"type":"null"}"#, "null"),
        Case(#"{"type":"null"}"#, "{}", "$: expected null, got object"),
        Case(#"{"type":"object"}"#, "[]", "$: expected object, got array"),
        Case(#"{"type":"array"}"#, "null", "$: expected array, got null"),
        Case(#"{"type":["string","null"]}"#, "null"),
        Case(#"{"type":["string","null"]}"#, #""s""#),
        Case(#"{"type":["string","null"]}"#, "[1]", "$: expected string or null, got array"),
        Case(#"{"type":["string","integer","null"]}"#, "0.5", "$: expected string, integer or null, got number 0.5"),
        // A wrong type is reported alone, not with every other keyword of the schema.
        Case(#"{"type":"string","enum":["a"],"minLength":3}"#, "5", "$: expected string, got number 5"),
    ])
    func type(_ test: Case) throws { try test.check() }

    @Test(arguments: [
        Case(#"{"enum":["reset","blackhole"]}"#, #""reset""#),
        Case(#"{"enum":["reset","blackhole"]}"#, #""flap""#, #"$: "flap" is not one of "reset", "blackhole""#),
        Case(#"{"enum":["reset","blackhole"]}"#, #""blackhol""#,
             #"$: "blackhol" is not one of "reset", "blackhole" (did you mean "blackhole"?)"#),
        Case(#"{"enum":["reset","blackhole"]}"#, #""Reset""#, #"$: "Reset" is not one of "reset", "blackhole" (did you mean "reset"?)"#),
        Case(#"{"enum":[1,"1",null,[1],{"a":1}]}"#, "1.0"),
        Case(#"{"enum":[1,"1",null,[1],{"a":1}]}"#, #"{"a":1}"#),
        Case(#"{"enum":[1,"1",null,[1],{"a":1}]}"#, "true", #"$: true is not one of 1, "1", null, [1], {"a":1}"#),
        Case(#"{"enum":[1]}"#, "true", "$: true is not one of 1"),
        Case(#"{"enum":[true]}"#, "1", "$: 1 is not one of true"),
        Case(#"{"const":"argon2id13"}"#, #""argon2id13""#),
        Case(#"{"const":"argon2id13"}"#, #""argon2i""#, #"$: expected "argon2id13", got "argon2i""#),
        Case(#"{"const":{"a":[1,2],"b":null}}"#, #"{"b":null,"a":[1,2.0]}"#),
        Case(#"{"const":{"a":[1,2]}}"#, #"{"a":[2,1]}"#, #"$: expected {"a":[1,2]}, got {"a":[2,1]}"#),
        Case(#"{"const":null}"#, "null"),
        Case(#"{"const":null}"#, "false", "$: expected null, got false"),
        Case(#"{"const":1}"#, "true", "$: expected 1, got true"),
        Case(#"{"const":false}"#, "0", "$: expected false, got 0"),
    ])
    func enumAndConst(_ test: Case) throws { try test.check() }

    @Test(arguments: [
        Case(#"{"minimum":1}"#, "1"),
        Case(#"{"minimum":1}"#, "0", "$: 0 is less than the minimum 1"),
        Case(#"{"minimum":1}"#, "0.5", "$: 0.5 is less than the minimum 1"),
        Case(#"{"minimum":-1.5}"#, "-2", "$: -2 is less than the minimum -1.5"),
        Case(#"{"maximum":10}"#, "10"),
        Case(#"{"maximum":10}"#, "11", "$: 11 is greater than the maximum 10"),
        Case(#"{"exclusiveMinimum":0}"#, "0.001"),
        Case(#"{"exclusiveMinimum":0}"#, "0", "$: 0 is not greater than the exclusive minimum 0"),
        Case(#"{"exclusiveMaximum":5}"#, "4.999"),
        Case(#"{"exclusiveMaximum":5}"#, "5", "$: 5 is not less than the exclusive maximum 5"),
        Case(#"{"multipleOf":2}"#, "8"),
        Case(#"{"multipleOf":2}"#, "7", "$: 7 is not a multiple of 2"),
        Case(#"{"multipleOf":0.01}"#, "0.07"),
        Case(#"{"multipleOf":0.01}"#, "19.99"),
        Case(#"{"multipleOf":0.01}"#, "0.075", "$: 0.075 is not a multiple of 0.01"),
        Case(#"{"multipleOf":1}"#, "2.5", "$: 2.5 is not a multiple of 1"),
        Case(#"{"minimum":1,"maximum":0}"#, "0.5", "$: 0.5 is less than the minimum 1", "$: 0.5 is greater than the maximum 0"),
        // Number keywords say nothing about other types.
        Case(#"{"minimum":1,"multipleOf":2}"#, #""abc""#),
        Case(#"{"minimum":1}"#, "true"),
        Case(#"{"minimum":1}"#, "1e300"),
        Case(#"{"maximum":1e15}"#, "2e15", "$: 2000000000000000 is greater than the maximum 1000000000000000"),
        Case(#"{"maximum":1e16}"#, "2e16", "$: 2e+16 is greater than the maximum 1e+16"),
        Case(#"{"maximum":0.0001}"#, "0.00015", "$: 0.00015 is greater than the maximum 0.0001"),
    ])
    func numbers(_ test: Case) throws { try test.check() }

    @Test(arguments: [
        Case(#"{"minLength":2}"#, #""ab""#),
        Case(#"{"minLength":2}"#, #""a""#, #"$: "a" is shorter than the minimum length 2"#),
        Case(#"{"minLength":1}"#, #""""#, #"$: "" is shorter than the minimum length 1"#),
        Case(#"{"maxLength":5}"#, #""abcdef""#, #"$: "abcdef" is longer than the maximum length 5"#),
        // Lengths count Unicode scalars: é is one, e + combining acute two, 😀 one.
        Case(#"{"maxLength":1}"#, #""é""#),
        Case(#"{"maxLength":1}"#, #""😀""#),
        Case(#"{"maxLength":1}"#, #""e\u0301""#, "$: \"e\u{301}\" is longer than the maximum length 1"),
        Case(#"{"pattern":"^[a-z]+$"}"#, #""abc""#),
        Case(#"{"pattern":"^[a-z]+$"}"#, #""AB""#, #"$: "AB" does not match the pattern "^[a-z]+$""#),
        // Patterns are not anchored.
        Case(#"{"pattern":"b"}"#, #""abc""#),
        Case(#"{"pattern":"^b"}"#, #""abc""#, #"$: "abc" does not match the pattern "^b""#),
        Case(#"{"pattern":"\\d{3}"}"#, #""x12y""#, #"$: "x12y" does not match the pattern "\\d{3}""#),
        Case(#"{"pattern":"^.$"}"#, #""😀""#),
        Case(#"{"minLength":10,"pattern":"^x"}"#, #""a""#,
             #"$: "a" is shorter than the minimum length 10"#, #"$: "a" does not match the pattern "^x""#),
        Case(#"{"maxLength":3}"#, #""\#(String(repeating: "a", count: 70))""#,
             #"$: "\#(String(repeating: "a", count: 56))…" is longer than the maximum length 3"#),
        Case(#"{"minLength":3,"pattern":"x"}"#, "12"),
    ])
    func strings(_ test: Case) throws { try test.check() }

    @Test(arguments: [
        Case(#"{"minItems":1}"#, "[1]"),
        Case(#"{"minItems":1}"#, "[]", "$: array has 0 items, fewer than the minimum 1"),
        Case(#"{"minItems":2}"#, "[1]", "$: array has 1 item, fewer than the minimum 2"),
        Case(#"{"maxItems":2}"#, "[1,2,3]", "$: array has 3 items, more than the maximum 2"),
        Case(#"{"uniqueItems":true}"#, #"[1,"1",true,null,[1],{"a":1}]"#),
        Case(#"{"uniqueItems":true}"#, "[1,2,1,1.0]", "$: items at indexes 0 and 2 are equal", "$: items at indexes 0 and 3 are equal"),
        Case(#"{"uniqueItems":true}"#, #"[{"a":1,"b":2},{"b":2,"a":1}]"#, "$: items at indexes 0 and 1 are equal"),
        Case(#"{"uniqueItems":false}"#, "[1,1]"),
        Case(#"{"items":{"type":"integer"}}"#, "[1,2,3]"),
        Case(#"{"items":{"type":"integer"}}"#, #"[1,"x",3.5]"#,
             #"$[1]: expected integer, got string "x""#, "$[2]: expected integer, got number 3.5"),
        Case(#"{"prefixItems":[{"type":"string"},{"type":"number"}],"items":false}"#, #"["a",1]"#),
        Case(#"{"prefixItems":[{"type":"string"},{"type":"number"}],"items":false}"#, #"["a"]"#),
        Case(#"{"prefixItems":[{"type":"string"},{"type":"number"}],"items":false}"#, #"["a","b",3]"#,
             #"$[1]: expected number, got string "b""#, "$: array has 3 items, but at most 2 are allowed"),
        Case(#"{"prefixItems":[{"type":"string"}],"items":{"type":"integer"}}"#, #"["a",1,"b"]"#,
             #"$[2]: expected integer, got string "b""#),
        Case(#"{"items":false}"#, "[]"),
        Case(#"{"items":false}"#, "[1]", "$: array has 1 item, but must be empty"),
        Case(#"{"contains":{"const":"x"}}"#, #"["a","x"]"#),
        Case(#"{"contains":{"const":"x"}}"#, #"["a"]"#, #"$: no item matches the "contains" schema"#),
        Case(#"{"contains":{"const":"x"},"minContains":2}"#, #"["x","a"]"#,
             #"$: 1 item matches the "contains" schema, fewer than the minimum 2"#),
        Case(#"{"contains":{"const":"x"},"maxContains":1}"#, #"["x","x"]"#,
             #"$: 2 items match the "contains" schema, more than the maximum 1"#),
        Case(#"{"minItems":1,"items":{"type":"string"}}"#, #"{"a":1}"#),
    ])
    func arrays(_ test: Case) throws { try test.check() }

    static let servers = #"""
    {"type":"object","required":["count","behaviour"],"additionalProperties":false,
     "properties":{"count":{"type":"integer","minimum":1},"behaviour":{"enum":["legacy","extended"]},"seed":{"type":"integer"}}}
    """#

    @Test(arguments: [
        Case(servers, #"{"count":1,"behaviour":"legacy"}"#),
        Case(servers, #"{"behaviour":"legacy"}"#, #"$: required property "count" is missing"#),
        Case(servers, "{}", #"$: required property "count" is missing"#, #"$: required property "behaviour" is missing"#),
        Case(servers, #"{"count":1,"behaviour":"legacy","sed":1}"#, #"$.sed: property "sed" is not allowed (did you mean "seed"?)"#),
        Case(servers, #"{"cout":1,"behaviour":"legacy"}"#,
             #"$: required property "count" is missing"#, #"$.cout: property "cout" is not allowed (did you mean "count"?)"#),
        Case(servers, #"{"count":1,"behaviour":"legacy","zzz":1}"#, #"$.zzz: property "zzz" is not allowed"#),
        Case(#"{"additionalProperties":{"type":"integer"},"properties":{"s":{"type":"string"}}}"#, #"{"s":"x","a":1,"b":"x"}"#,
             #"$.b: expected integer, got string "x""#),
        Case(#"{"patternProperties":{"^x-":{"type":"string"}},"additionalProperties":false}"#, #"{"x-a":"s","x-b":1,"y":1}"#,
             #"$["x-b"]: expected string, got number 1"#, #"$.y: property "y" is not allowed"#),
        Case(#"{"properties":{"a":{"minimum":5}},"patternProperties":{"^a":{"maximum":1}}}"#, #"{"a":3}"#,
             "$.a: 3 is less than the minimum 5", "$.a: 3 is greater than the maximum 1"),
        Case(#"{"minProperties":1}"#, #"{"a":1}"#),
        Case(#"{"minProperties":1}"#, "{}", "$: object has 0 properties, fewer than the minimum 1"),
        Case(#"{"maxProperties":1}"#, #"{"a":1,"b":2}"#, "$: object has 2 properties, more than the maximum 1"),
        Case(#"{"minProperties":2}"#, #"{"a":1}"#, "$: object has 1 property, fewer than the minimum 2"),
        Case(#"{"dependentRequired":{"a":["b","c"]}}"#, #"{"b":1}"#),
        Case(#"{"dependentRequired":{"a":["b","c"]}}"#, #"{"a":1,"c":1}"#, #"$: property "a" requires property "b", which is missing"#),
        Case(#"{"propertyNames":{"pattern":"^[a-z_]+$"}}"#, #"{"ok_name":1}"#),
        Case(#"{"propertyNames":{"pattern":"^[a-z_]+$"}}"#, #"{"Bad":1}"#, #"$.Bad: property name "Bad" does not match the pattern "^[a-z_]+$""#),
        Case(#"{"propertyNames":{"maxLength":2}}"#, #"{"abc":1}"#, #"$.abc: property name "abc" is longer than the maximum length 2"#),
        Case(#"{"properties":{"a b":{"type":"string"},"1x":{"type":"string"},"_ok1":{"type":"string"},"q\"":{"type":"string"}}}"#,
             #"{"a b":1,"1x":1,"_ok1":1,"q\"":1}"#,
             #"$["1x"]: expected string, got number 1"#, "$._ok1: expected string, got number 1",
             #"$["a b"]: expected string, got number 1"#, #"$["q\""]: expected string, got number 1"#),
        Case(#"{"required":["a"],"properties":{"a":{"type":"string"}}}"#, "[1]"),
    ])
    func objects(_ test: Case) throws { try test.check() }

    @Test(arguments: [
        Case(#"{"allOf":[{"minimum":1},{"maximum":3}]}"#, "2"),
        Case(#"{"allOf":[{"minimum":1},{"maximum":3}]}"#, "5", "$: 5 is greater than the maximum 3"),
        Case(#"{"anyOf":[{"type":"string"},{"type":"integer"}]}"#, #""a""#),
        Case(#"{"anyOf":[{"type":"string"},{"type":"integer"}]}"#, "false", "$: expected string or integer, got boolean false"),
        Case(#"{"anyOf":[{"type":"string"},{"type":["integer","string"]}]}"#, "1.5", "$: expected string or integer, got number 1.5"),
        Case(#"{"anyOf":[{"type":"string"},{"type":"object","required":["a"]}]}"#, "{}",
             #"$: matches none of the alternatives (closest: required property "a" is missing)"#),
        Case(#"{"anyOf":[{"minimum":10},{"maximum":1,"multipleOf":2}]}"#, "5",
             "$: matches none of the alternatives (closest: 5 is less than the minimum 10)"),
        Case(#"{"anyOf":[{"maximum":1,"multipleOf":2},{"minimum":10}]}"#, "5",
             "$: matches none of the alternatives (closest: 5 is less than the minimum 10)"),
        Case(#"{"anyOf":[{"maximum":1,"multipleOf":2},{"maximum":3,"multipleOf":4}]}"#, "5",
             "$: matches none of the alternatives (closest: 5 is not a multiple of 2; 1 more)"),
        Case(#"{"oneOf":[{"type":"integer"},{"minimum":5}]}"#, "3"),
        Case(#"{"oneOf":[{"type":"integer"},{"minimum":5}]}"#, "5.5"),
        Case(#"{"oneOf":[{"type":"integer"},{"minimum":5}]}"#, "7", #"$: matches alternatives 0 and 1 of "oneOf", but must match exactly one"#),
        Case(#"{"oneOf":[{"type":"integer"},{"minimum":5}]}"#, "1.5",
             "$: matches none of the alternatives (closest: 1.5 is less than the minimum 5)"),
        // The alternative whose discriminator matches is the closest, whatever its position.
        Case(#"""
             {"type":"array","items":{"oneOf":[
               {"properties":{"kind":{"const":"reset"},"at":{"type":"number"}},"required":["kind","at"]},
               {"properties":{"kind":{"const":"flap"},"period":{"type":"number"}},"required":["kind","period"]}]}}
             """#, #"[{"kind":"reset","at":1},{"kind":"flap","period":"x"}]"#,
             #"$[1]: matches none of the alternatives (closest: $[1].period: expected number, got string "x")"#),
        Case(#"{"not":{"type":"null"}}"#, "1"),
        Case(#"{"not":{"type":"null"}}"#, "null", #"$: must not match the "not" schema"#),
        Case(#"{"if":{"properties":{"kind":{"const":"flap"}}},"then":{"required":["period"]},"else":{"properties":{"period":false}}}"#,
             #"{"kind":"flap","period":1}"#),
        Case(#"{"if":{"properties":{"kind":{"const":"flap"}}},"then":{"required":["period"]},"else":{"properties":{"period":false}}}"#,
             #"{"kind":"flap"}"#, #"$: required property "period" is missing"#),
        Case(#"{"if":{"properties":{"kind":{"const":"flap"}}},"then":{"required":["period"]},"else":{"properties":{"period":false}}}"#,
             #"{"kind":"reset","period":1}"#, "$.period: no value is allowed here"),
        Case(#"{"if":{"type":"string"},"else":{"type":"integer"}}"#, #""x""#),
        Case(#"{"then":{"type":"string"}}"#, "1"),
    ])
    func combinators(_ test: Case) throws { try test.check() }

    @Test(arguments: [
        Case("true", "1"),
        Case("{}", #"{"anything":[1]}"#),
        Case("false", "1", "$: no value is allowed here"),
        Case(#"{"properties":{"a":false}}"#, #"{"a":null}"#, "$.a: no value is allowed here"),
        // Annotations and unknown keywords are ignored.
        Case(#"{"title":"t","description":"d","default":1,"examples":[2],"format":"uri","readOnly":true,"$comment":"c","x-custom":{"minimum":9}}"#,
             #""not a uri""#),
    ])
    func booleanSchemasAndAnnotations(_ test: Case) throws { try test.check() }
}
