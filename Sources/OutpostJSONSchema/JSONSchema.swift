import Foundation

/// A JSON Schema (a subset of draft 2020-12) that validates JSON documents and says, for every
/// value that is wrong, where it is and why.
///
/// ```swift
/// let schema = try JSONSchema(data: schemaData)
/// for violation in schema.validate(scenarioData) {
///     print(violation)  // $.faults[2].kind: "flap" is not one of "reset", "blackhole"
/// }
/// ```
///
/// ## Supported keywords
///
/// - Any value: `type` (a name or an array of names; `integer` is a number without a fraction),
///   `enum`, `const`, `$ref`, `allOf`, `anyOf`, `oneOf`, `not`, `if`/`then`/`else`.
/// - Numbers: `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`.
/// - Strings: `minLength` and `maxLength` (in Unicode scalars), `pattern` (an unanchored search
///   with `NSRegularExpression`).
/// - Arrays: `items`, `prefixItems`, `minItems`, `maxItems`, `uniqueItems`, `contains`,
///   `minContains`, `maxContains`.
/// - Objects: `properties`, `patternProperties`, `additionalProperties`, `required`,
///   `dependentRequired`, `propertyNames`, `minProperties`, `maxProperties`.
/// - Booleans as schemas: `true` accepts anything, `false` nothing.
///
/// `$ref` must point into the same document with a JSON pointer (`#/$defs/NAME`,
/// `#/definitions/NAME`, `#`); it may be recursive. Annotations (`title`, `description`,
/// `default`, `examples`, `format`, `readOnly`, …) and any other keyword are ignored.
///
/// A supported keyword with a malformed value, a `pattern` that does not compile, a `$ref` that
/// does not resolve, and a cycle of references that never descends into a property or item are
/// refused by the initializer with a ``JSONSchemaError``.
///
/// ## Reports
///
/// Violations come in a fixed order: for each schema, `type` first (when the type is wrong
/// nothing else of that schema is checked, so one mistake gives one message), then `$ref`,
/// `enum`, `const`, the keywords of the value's type, and the combinators; an object's
/// properties are visited in sorted key order. The same inputs always give the same list.
public struct JSONSchema: Sendable {
    private let nodes: [SchemaNode]

    /// Parses and checks a schema document (JSON text).
    ///
    /// - Throws: ``JSONSchemaError`` when the text is not JSON or the schema cannot be used.
    public init(data: Data) throws(JSONSchemaError) {
        let document: JSONValue
        do {
            document = try JSONValue.parse(data)
        } catch {
            throw JSONSchemaError(pointer: "#", message: "the schema is not valid JSON: \(error)")
        }
        try self.init(json: document)
    }

    /// Checks a schema given as a parsed document.
    ///
    /// - Throws: ``JSONSchemaError`` when the schema cannot be used.
    public init(json document: JSONValue) throws(JSONSchemaError) {
        nodes = try SchemaCompiler.compile(document)
    }

    /// The violations of a JSON document given as text; empty when it is valid.
    ///
    /// Text that is not JSON gives one violation at `$` with the line and column of the problem.
    public func validate(_ instance: Data) -> [JSONSchemaViolation] {
        let value: JSONValue
        do {
            value = try JSONValue.parse(instance)
        } catch {
            return [JSONSchemaViolation(path: "$", message: "invalid JSON: \(error)")]
        }
        return validate(json: value)
    }

    /// The violations of a parsed JSON value; empty when it is valid.
    public func validate(json value: JSONValue) -> [JSONSchemaViolation] {
        var findings: [Finding] = []
        SchemaEvaluator(nodes: nodes).evaluate(value, node: 0, path: "$", into: &findings)
        return findings.map { JSONSchemaViolation(path: $0.path, message: $0.message) }
    }
}

/// One place where a document breaks its schema.
public struct JSONSchemaViolation: Hashable, Sendable, CustomStringConvertible {
    /// Where: `$` is the document, `.name` a property, `[2]` an item, `["odd key"]` a property
    /// whose name is not an identifier. For example `$.faults[2].kind`.
    public let path: String
    /// Why, e.g. `required property "count" is missing`.
    public let message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    /// `path: message`, e.g. `$.servers.count: 0 is less than the minimum 1`.
    public var description: String { "\(path): \(message)" }
}

/// A schema that cannot be used: not JSON, a malformed keyword, or a `$ref` that does not resolve.
public struct JSONSchemaError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Where in the schema, as a JSON pointer fragment, e.g. `#/properties/seed/minimum`.
    public let pointer: String
    /// What is wrong.
    public let message: String

    public init(pointer: String, message: String) {
        self.pointer = pointer
        self.message = message
    }

    /// `pointer: message`, e.g. `#/properties/seed/$ref: "#/$defs/nope" does not resolve`.
    public var description: String { "\(pointer): \(message)" }
}
