import Foundation
import OutpostJSONSchema
import Testing

@Suite("JSON Schema validation")
struct JSONSchemaTests {
    // MARK: References

    static let tree = #"""
    {
      "$ref": "#/$defs/node",
      "$defs": {
        "node": {
          "type": "object",
          "additionalProperties": false,
          "properties": {
            "value": { "type": "integer" },
            "children": { "type": "array", "items": { "$ref": "#/$defs/node" } }
          }
        }
      }
    }
    """#

    @Test(arguments: [
        Case(##"{"$defs":{"p":{"type":"integer"}},"properties":{"a":{"$ref":"#/$defs/p"}}}"##, #"{"a":1}"#),
        Case(##"{"$defs":{"p":{"type":"integer"}},"properties":{"a":{"$ref":"#/$defs/p"}}}"##, #"{"a":"x"}"#,
             #"$.a: expected integer, got string "x""#),
        Case(##"{"definitions":{"p":{"type":"integer"}},"items":{"$ref":"#/definitions/p"}}"##, #"[1,true]"#,
             "$[1]: expected integer, got boolean true"),
        Case(tree, #"{"value":1,"children":[{"value":2},{"children":[{"value":3},{"value":"x"}]}]}"#,
             #"$.children[1].children[1].value: expected integer, got string "x""#),
        Case(tree, #"{"children":[{"valeu":1}]}"#, #"$.children[0].valeu: property "valeu" is not allowed (did you mean "value"?)"#),
        Case(##"{"type":"object","properties":{"next":{"$ref":"#"},"v":{"type":"integer"}}}"##, #"{"next":{"next":{"v":"x"}}}"#,
             #"$.next.next.v: expected integer, got string "x""#),
        Case(##"{"$defs":{"a/b":{"type":"string"},"c~d":{"type":"integer"},"e f":{"type":"null"}},"prefixItems":[{"$ref":"#/$defs/a~1b"},{"$ref":"#/$defs/c~0d"},{"$ref":"#/$defs/e%20f"}]}"##,
             #"[1,"x",0]"#, "$[0]: expected string, got number 1", #"$[1]: expected integer, got string "x""#, "$[2]: expected null, got number 0"),
        Case(##"{"prefixItems":[{"type":"string"},{"$ref":"#/prefixItems/0"}]}"##, #"["a",2]"#, "$[1]: expected string, got number 2"),
        Case(#"{"$id":"thing.schema.json","$defs":{"p":{"type":"string"}},"$ref":"thing.schema.json#/$defs/p"}"#, "1",
             "$: expected string, got number 1"),
        // $ref applies alongside its sibling keywords.
        Case(##"{"$defs":{"p":{"minimum":1}},"$ref":"#/$defs/p","maximum":3}"##, "2"),
        Case(##"{"$defs":{"p":{"minimum":1}},"$ref":"#/$defs/p","maximum":3}"##, "0", "$: 0 is less than the minimum 1"),
        Case(##"{"$defs":{"p":{"minimum":1}},"$ref":"#/$defs/p","maximum":3}"##, "4", "$: 4 is greater than the maximum 3"),
    ])
    func references(_ test: Case) throws { try test.check() }

    // MARK: Bad schemas

    struct BadSchema: Sendable, CustomTestStringConvertible {
        let schema: String
        let expected: String
        init(_ schema: String, _ expected: String) {
            self.schema = schema
            self.expected = expected
        }
        var testDescription: String { schema }
    }

    @Test(arguments: [
        BadSchema(##"{"$ref":"#/$defs/missing"}"##, ##"#/$ref: "#/$defs/missing" does not resolve"##),
        BadSchema(##"{"properties":{"a":{"$ref":"#/$defs/nope"}},"$defs":{}}"##, ##"#/properties/a/$ref: "#/$defs/nope" does not resolve"##),
        BadSchema(##"{"$defs":{"a":{"type":"string"}},"$ref":"#/$defs/a/b"}"##, ##"#/$ref: "#/$defs/a/b" does not resolve"##),
        BadSchema(##"{"$ref":"#/required/0","required":["a"]}"##, ##"#/required/0: a schema must be an object or a boolean, not string "a""##),
        BadSchema(#"{"$ref":"other.schema.json#/$defs/a"}"#,
                  ##"#/$ref: "other.schema.json#/$defs/a" is not supported: only references within this document ("#/$defs/NAME") are"##),
        BadSchema(##"{"$ref":"#thing"}"##, ##"#/$ref: "#thing" is not supported: anchors are not; use a JSON pointer such as "#/$defs/NAME""##),
        BadSchema(##"{"$ref":"#"}"##, "#: this schema refers back to itself without descending into a property or item"),
        BadSchema(##"{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"allOf":[{"$ref":"#/$defs/a"}]}}}"##,
                  "#/$defs/a: this schema refers back to itself without descending into a property or item"),
        BadSchema(#"{"$ref":3}"#, "#/$ref: must be a string"),
        BadSchema(#"{"type":"strin"}"#,
                  ##"#/type: "strin" is not a type; use "null", "boolean", "integer", "number", "string", "array", "object""##),
        BadSchema(#"{"type":["string","string"]}"#, ##"#/type: names "string" twice"##),
        BadSchema(#"{"type":[]}"#, "#/type: must not be an empty array"),
        BadSchema(#"{"minLength":-1}"#, "#/minLength: must be a non-negative integer"),
        BadSchema(#"{"maxItems":1.5}"#, "#/maxItems: must be a non-negative integer"),
        BadSchema(#"{"minimum":"1"}"#, "#/minimum: must be a number"),
        BadSchema(#"{"exclusiveMinimum":true}"#, "#/exclusiveMinimum: must be a number (draft 2020-12); a boolean is the draft-04 form"),
        BadSchema(#"{"multipleOf":0}"#, "#/multipleOf: must be greater than 0"),
        BadSchema(#"{"pattern":"["}"#, ##"#/pattern: "[" is not a valid regular expression"##),
        BadSchema(#"{"patternProperties":{"(":{}}}"#, ##"#/patternProperties/(: "(" is not a valid regular expression"##),
        BadSchema(#"{"items":[{}]}"#, "#/items: must be a schema (draft 2020-12); use prefixItems for a list of schemas"),
        BadSchema(#"{"required":"a"}"#, "#/required: must be an array of strings"),
        BadSchema(#"{"required":[1]}"#, "#/required: must be an array of strings"),
        BadSchema(#"{"enum":"a"}"#, "#/enum: must be an array"),
        BadSchema(#"{"uniqueItems":1}"#, "#/uniqueItems: must be true or false"),
        BadSchema(#"{"anyOf":[]}"#, "#/anyOf: must be a non-empty array of schemas"),
        BadSchema(#"{"properties":{"a":3}}"#, "#/properties/a: a schema must be an object or a boolean, not number 3"),
        BadSchema(#"{"properties":{"a/b":{"minimum":"x"}}}"#, "#/properties/a~1b/minimum: must be a number"),
        BadSchema(#"{"properties":[]}"#, "#/properties: must be an object"),
        BadSchema(#"{"dependentRequired":{"a":"b"}}"#, "#/dependentRequired/a: must be an array of strings"),
        BadSchema(#"{"$defs":{"unused":{"maxLength":"x"}}}"#, "#/$defs/unused/maxLength: must be a non-negative integer"),
        BadSchema("3", "#: a schema must be an object or a boolean, not number 3"),
        BadSchema("{", "#: the schema is not valid JSON: line 1, column 2: expected a property name in double quotes, found the end of the input"),
    ])
    func refusesABadSchema(_ bad: BadSchema) {
        #expect(throws: JSONSchemaError.self) { try JSONSchema(data: Data(bad.schema.utf8)) }
        do {
            _ = try JSONSchema(data: Data(bad.schema.utf8))
        } catch {
            #expect(error.description == bad.expected)
        }
    }

    @Test func schemaErrorsNameThePointer() {
        #expect(throws: JSONSchemaError(pointer: "#/properties/seed/minimum", message: "must be a number")) {
            try JSONSchema(data: Data(#"{"properties":{"seed":{"minimum":"0"}}}"#.utf8))
        }
    }

    // MARK: Documents

    @Test func textThatIsNotJSONIsOneViolationAtTheRoot() throws {
        let schema = try JSONSchema(data: Data(#"{"type":"object"}"#.utf8))
        #expect(schema.validate(Data("{\n  \"a\": 1,\n}".utf8)) == [
            JSONSchemaViolation(path: "$", message: "invalid JSON: line 3, column 1: trailing comma before '}'"),
        ])
        #expect(schema.validate(Data()).map(\.description) == ["$: invalid JSON: line 1, column 1: the document is empty"])
    }

    @Test func validatesParsedValues() throws {
        let schema = try JSONSchema(data: Data(#"{"type":"object","properties":{"n":{"type":"integer"},"b":{"type":"boolean"}}}"#.utf8))
        #expect(schema.validate(json: ["n": 1, "b": true]).isEmpty)
        #expect(schema.validate(json: ["n": 1.5, "b": 1]).map(\.description) == [
            "$.b: expected boolean, got number 1",
            "$.n: expected integer, got number 1.5",
        ])
        let built = try JSONSchema(json: ["type": "array", "items": ["type": "string"]])
        #expect(built.validate(json: ["a", 2]) == [JSONSchemaViolation(path: "$[1]", message: "expected string, got number 2")])
    }

    static let ordering = #"""
    {
      "type": "object",
      "required": ["zeta", "alpha"],
      "additionalProperties": false,
      "properties": {
        "m": { "type": "array", "items": { "type": "object", "properties": { "z": { "minimum": 1 }, "a": { "maximum": 1 } } } },
        "b": { "type": "string", "minLength": 5, "pattern": "^x" },
        "k": { "enum": ["on", "off"] },
        "zeta": {}, "alpha": {}
      },
      "allOf": [{ "required": ["allof"] }],
      "anyOf": [{ "required": ["anyof"] }]
    }
    """#

    @Test func violationsComeInADeterministicOrder() throws {
        let schema = try JSONSchema(data: Data(Self.ordering.utf8))
        let document = #"{"q": 1, "m": [{"z": 0, "a": 2}, {}, {"a": 3, "z": -1}], "k": "of", "c": 2, "b": "abc"}"#
        let expected = [
            #"$: required property "zeta" is missing"#,
            #"$: required property "alpha" is missing"#,
            #"$.b: "abc" is shorter than the minimum length 5"#,
            #"$.b: "abc" does not match the pattern "^x""#,
            #"$.c: property "c" is not allowed"#,
            #"$.k: "of" is not one of "on", "off" (did you mean "on"?)"#,
            "$.m[0].a: 2 is greater than the maximum 1",
            "$.m[0].z: 0 is less than the minimum 1",
            "$.m[2].a: 3 is greater than the maximum 1",
            "$.m[2].z: -1 is less than the minimum 1",
            #"$.q: property "q" is not allowed"#,
            #"$: required property "allof" is missing"#,
            #"$: matches none of the alternatives (closest: required property "anyof" is missing)"#,
        ]
        #expect(schema.validate(Data(document.utf8)).map(\.description) == expected)

        // The same members written in another order give the same list, every time.
        let reordered = #"{"b": "abc", "c": 2, "k": "of", "m": [{"a": 2, "z": 0}, {}, {"z": -1, "a": 3}], "q": 1}"#
        for _ in 0..<20 {
            let again = try JSONSchema(data: Data(Self.ordering.utf8))
            #expect(again.validate(Data(reordered.utf8)).map(\.description) == expected)
        }
    }

    @Test func violationsDescribeThemselvesAsPathColonMessage() {
        let violation = JSONSchemaViolation(path: "$.servers", message: #"required property "count" is missing"#)
        #expect(violation.description == #"$.servers: required property "count" is missing"#)
        #expect(Set([violation, violation]).count == 1)
        #expect(JSONSchemaError(pointer: "#/type", message: "must be a string").description == "#/type: must be a string")
    }

    @Test func aSchemaIsSharedAcrossConcurrentTasks() async throws {
        let schema = try JSONSchema(data: Data(#"{"type":"array","items":{"type":"string","pattern":"^[a-z]+-[0-9]+$"}}"#.utf8))
        let results = await withTaskGroup(of: [JSONSchemaViolation].self) { group in
            for task in 0..<8 {
                group.addTask {
                    var violations: [JSONSchemaViolation] = []
                    for round in 0..<100 {
                        violations += schema.validate(json: .array([.string("ok-\(round)"), .string("Bad-\(task)")]))
                    }
                    return violations
                }
            }
            var all: [[JSONSchemaViolation]] = []
            for await result in group { all.append(result) }
            return all
        }
        #expect(results.count == 8)
        #expect(results.allSatisfy { $0.count == 100 && $0.allSatisfy { $0.path == "$[1]" } })
    }

    // MARK: The project's schemas

    static let schemaDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Schemas/json")

    static func projectSchema(_ name: String) throws -> JSONSchema {
        try JSONSchema(data: Data(contentsOf: schemaDirectory.appendingPathComponent("\(name).schema.json")))
    }

    @Test func everyProjectSchemaCompiles() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.schemaDirectory.path)
            .filter { $0.hasSuffix(".schema.json") }.sorted()
        #expect(!names.isEmpty)
        for name in names {
            let data = try Data(contentsOf: Self.schemaDirectory.appendingPathComponent(name))
            #expect(throws: Never.self, "\(name)") { try JSONSchema(data: data) }
        }
    }

    static let scenario = #"""
    {
      "name": "smoke", "description": "d", "duration_seconds": 60, "liveness_seconds": 60, "swarm": false,
      "servers": { "count": 2, "behaviour": "legacy", "peers_per_server": 1, "conversations_per_server": 1 },
      "network": { "latency_ms": 10, "jitter_ms": 0 },
      "workload": { "peer_messages_per_hour": 1, "user_messages_per_hour": 1 },
      "client": { "pool_capacity": 4 },
      "faults": [ { "at_seconds": 1, "kind": "reset" }, { "at_seconds": 2, "kind": "blackhole", "duration_seconds": 5 }, FAULT ]
    }
    """#

    @Test(arguments: [
        (#"{ "at_seconds": 3, "kind": "outage", "servers": [0, 1] }"#, [String]()),
        (#"{ "at_seconds": 3, "kind": "flop" }"#,
         [#"$.faults[2].kind: "flop" is not one of "reset", "blackhole", "partition", "flap", "background", "unreachable", "kill", "kill_at_write", "server_restart", "outage", "clock_step", "session_expiry", "rate_limit", "burst", "remove_server", "latency", "discovery_failure", "storage_failure", "poison", "redeliver", "readd_server", "corrupt_partition", "auth_glitch", "large_posts", "network_switch", "low_power", "kill_during_relaunch" (did you mean "flap"?)"#]),
        (#"{ "at_seconds": -1, "kind": "kill", "duration_seconds": 0, "sever": 1 }"#,
         ["$.faults[2].at_seconds: -1 is less than the minimum 0",
          "$.faults[2].duration_seconds: 0 is not greater than the exclusive minimum 0",
          #"$.faults[2].sever: property "sever" is not allowed (did you mean "servers"?)"#]),
        (#"{ "kind": "kill", "servers": [1, 1, 2.5, true] }"#,
         [#"$.faults[2]: required property "at_seconds" is missing"#,
          "$.faults[2].servers: items at indexes 0 and 1 are equal",
          "$.faults[2].servers[2]: expected integer, got number 2.5",
          "$.faults[2].servers[3]: expected integer, got boolean true"]),
    ])
    func scenarioFilesGetMessagesThatNameTheField(fault: String, expected: [String]) throws {
        let schema = try Self.projectSchema("scenario")
        let document = Self.scenario.replacingOccurrences(of: "FAULT", with: fault)
        #expect(schema.validate(Data(document.utf8)).map(\.description) == expected)
    }

    @Test func aScenarioWithoutServersSaysWhatIsMissing() throws {
        let schema = try Self.projectSchema("scenario")
        let document = Self.scenario.replacingOccurrences(of: "FAULT", with: #"{"at_seconds": 1, "kind": "kill"}"#)
            .replacingOccurrences(of: #""count": 2, "#, with: "")
        #expect(schema.validate(Data(document.utf8)).map(\.description) == [#"$.servers: required property "count" is missing"#])
    }
}
