import Foundation

/// One place where an instance breaks its schema: a JSON path (`$.faults[2].kind`) and why.
public struct JSONSchemaViolation: Hashable, Sendable, CustomStringConvertible {
    public let path: String
    public let message: String

    public var description: String { "\(path): \(message)" }
}

/// A JSON Schema (the draft 2020-12 keywords the project's schemas use) that validates
/// documents and names every field that is wrong and why.
///
/// Supported: `type`, `enum`, `const`, `properties`, `required`, `additionalProperties`,
/// `items`, `minItems`, `maxItems`, `uniqueItems`, `minimum`, `maximum`, `exclusiveMinimum`,
/// `exclusiveMaximum`, `minLength`, `maxLength`, `pattern`, `allOf`, `anyOf`, `oneOf`, `not`,
/// and local `$ref`s (`#/$defs/NAME`). Annotations are ignored.
public struct JSONSchema: Sendable {
    private let root: JSONValue

    public init(data: Data) throws(JSONSchemaError) {
        root = try JSONValue.parse(data)
        try checkReferences(root)
    }

    /// Violations of `instance` (JSON text); empty when it is valid.
    public func validate(_ instance: Data) -> [JSONSchemaViolation] {
        do {
            return validate(json: try JSONValue.parse(instance))
        } catch {
            return [JSONSchemaViolation(path: "$", message: "not valid JSON: \(error)")]
        }
    }

    public func validate(json value: JSONValue) -> [JSONSchemaViolation] {
        var violations: [JSONSchemaViolation] = []
        validate(value, against: root, path: "$", into: &violations)
        return violations
    }

    // MARK: Keywords

    private func validate(_ value: JSONValue, against schema: JSONValue, path: String, into violations: inout [JSONSchemaViolation]) {
        if case .bool(let allowed) = schema {
            if !allowed { violations.append(.init(path: path, message: "no value is allowed here")) }
            return
        }
        func fail(_ message: String) { violations.append(.init(path: path, message: message)) }
        if case .string(let reference)? = schema["$ref"], let target = resolve(reference) {
            validate(value, against: target, path: path, into: &violations)
        }
        if let type = schema["type"] {
            let allowed: [String] = switch type {
            case .string(let name): [name]
            case .array(let names): names.compactMap { if case .string(let name) = $0 { name } else { nil } }
            default: []
            }
            if !allowed.contains(where: { matches(value, type: $0) }) {
                fail("expected \(allowed.joined(separator: " or ")), got \(value.typeName) \(value.brief)")
                return
            }
        }
        if case .array(let options)? = schema["enum"], !options.contains(value) {
            fail("\(value.brief) is not one of \(options.map(\.brief).joined(separator: ", "))")
        }
        if let constant = schema["const"], constant != value {
            fail("must be \(constant.brief), got \(value.brief)")
        }
        switch value {
        case .object(let members):
            validateObject(members, schema, path, &violations)
        case .array(let items):
            validateArray(items, schema, path, &violations)
        case .number(let number):
            if case .number(let minimum)? = schema["minimum"], number < minimum { fail("\(value.brief) is less than the minimum \(JSONValue.number(minimum).brief)") }
            if case .number(let maximum)? = schema["maximum"], number > maximum { fail("\(value.brief) is more than the maximum \(JSONValue.number(maximum).brief)") }
            if case .number(let bound)? = schema["exclusiveMinimum"], number <= bound { fail("\(value.brief) must be more than \(JSONValue.number(bound).brief)") }
            if case .number(let bound)? = schema["exclusiveMaximum"], number >= bound { fail("\(value.brief) must be less than \(JSONValue.number(bound).brief)") }
        case .string(let text):
            if case .number(let minimum)? = schema["minLength"], Double(text.count) < minimum { fail("\(value.brief) is shorter than \(Int(minimum)) characters") }
            if case .number(let maximum)? = schema["maxLength"], Double(text.count) > maximum { fail("\(value.brief) is longer than \(Int(maximum)) characters") }
            if case .string(let pattern)? = schema["pattern"] {
                let matched = (try? NSRegularExpression(pattern: pattern))
                    .map { $0.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil } ?? false
                if !matched { fail("\(value.brief) does not match \(pattern)") }
            }
        default:
            break
        }
        validateCombinators(value, schema, path, &violations)
    }

    private func validateObject(_ members: [JSONValue.Member], _ schema: JSONValue, _ path: String, _ violations: inout [JSONSchemaViolation]) {
        let keys = Set(members.map(\.key))
        if case .array(let required)? = schema["required"] {
            for case .string(let name) in required where !keys.contains(name) {
                violations.append(.init(path: path, message: "required property \"\(name)\" is missing"))
            }
        }
        let properties: [JSONValue.Member] = if case .object(let list)? = schema["properties"] { list } else { [] }
        for member in members.sorted(by: { $0.key < $1.key }) {
            let memberPath = path + "." + member.key
            if let property = properties.first(where: { $0.key == member.key }) {
                validate(member.value, against: property.value, path: memberPath, into: &violations)
            } else if let additional = schema["additionalProperties"] {
                if case .bool(false) = additional {
                    violations.append(.init(path: memberPath, message: "property \"\(member.key)\" is not allowed"))
                } else {
                    validate(member.value, against: additional, path: memberPath, into: &violations)
                }
            }
        }
    }

    private func validateArray(_ items: [JSONValue], _ schema: JSONValue, _ path: String, _ violations: inout [JSONSchemaViolation]) {
        if case .number(let minimum)? = schema["minItems"], Double(items.count) < minimum {
            violations.append(.init(path: path, message: "has \(items.count) items, fewer than \(Int(minimum))"))
        }
        if case .number(let maximum)? = schema["maxItems"], Double(items.count) > maximum {
            violations.append(.init(path: path, message: "has \(items.count) items, more than \(Int(maximum))"))
        }
        if case .bool(true)? = schema["uniqueItems"], Set(items).count != items.count {
            violations.append(.init(path: path, message: "items are not unique"))
        }
        if let itemSchema = schema["items"] {
            for (index, item) in items.enumerated() {
                validate(item, against: itemSchema, path: "\(path)[\(index)]", into: &violations)
            }
        }
    }

    private func validateCombinators(_ value: JSONValue, _ schema: JSONValue, _ path: String, _ violations: inout [JSONSchemaViolation]) {
        func passes(_ subschema: JSONValue) -> Bool {
            var scratch: [JSONSchemaViolation] = []
            validate(value, against: subschema, path: path, into: &scratch)
            return scratch.isEmpty
        }
        if case .array(let all)? = schema["allOf"] {
            for subschema in all { validate(value, against: subschema, path: path, into: &violations) }
        }
        if case .array(let any)? = schema["anyOf"], !any.contains(where: passes) {
            violations.append(.init(path: path, message: "matches none of the alternatives"))
        }
        if case .array(let one)? = schema["oneOf"] {
            let matching = one.filter(passes).count
            if matching != 1 {
                violations.append(.init(path: path, message: matching == 0 ? "matches none of the alternatives" : "matches \(matching) alternatives, not exactly one"))
            }
        }
        if let negated = schema["not"], passes(negated) {
            violations.append(.init(path: path, message: "must not match the excluded schema"))
        }
    }

    private func matches(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object), ("number", .number):
            true
        case ("integer", .number(let number)):
            number.rounded() == number
        default:
            false
        }
    }

    // MARK: References

    private func resolve(_ reference: String) -> JSONValue? {
        guard reference.hasPrefix("#/") else { return nil }
        var node: JSONValue? = root
        for component in reference.dropFirst(2).split(separator: "/") {
            let key = component.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            node = node?[key]
        }
        return node
    }

    private func checkReferences(_ node: JSONValue) throws(JSONSchemaError) {
        switch node {
        case .object(let members):
            for member in members {
                if member.key == "$ref", case .string(let reference) = member.value, resolve(reference) == nil {
                    throw JSONSchemaError(description: "the reference \(reference) does not resolve")
                }
                try checkReferences(member.value)
            }
        case .array(let items):
            for item in items { try checkReferences(item) }
        default:
            break
        }
    }
}
