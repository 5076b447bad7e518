import Foundation

/// One compiled schema. Nodes refer to each other by index into the array the compiler returns;
/// the document's root is node 0.
struct SchemaNode: Sendable {
    enum Body: Sendable {
        /// `true` or `{}` without a supported keyword.
        case anything
        /// `false`.
        case nothing
        case keywords(Keywords)
    }

    /// Where the schema is in its document, e.g. `#/$defs/fault`.
    let pointer: String
    var body: Body

    var acceptsNothing: Bool {
        if case .nothing = body { true } else { false }
    }
}

/// The supported keywords of one schema, checked and with subschemas compiled.
struct Keywords: Sendable {
    var types: [JSONType]?
    var ref: Int?
    var enumValues: [JSONValue]?
    var constValue: JSONValue?

    var multipleOf: Double?
    var minimum: Double?
    var exclusiveMinimum: Double?
    var maximum: Double?
    var exclusiveMaximum: Double?

    var minLength: Int?
    var maxLength: Int?
    var pattern: Pattern?

    var minItems: Int?
    var maxItems: Int?
    var uniqueItems = false
    var prefixItems: [Int] = []
    var items: Int?
    var contains: Int?
    var minContains: Int?
    var maxContains: Int?

    var minProperties: Int?
    var maxProperties: Int?
    var required: [String] = []
    /// Sorted by the property that triggers the requirement.
    var dependentRequired: [(property: String, requires: [String])] = []
    var propertyNames: Int?
    var properties: [String: Int] = [:]
    /// Sorted by pattern.
    var patternProperties: [(pattern: Pattern, node: Int)] = []
    var additionalProperties: Int?

    var allOf: [Int] = []
    var anyOf: [Int]?
    var oneOf: [Int]?
    var not: Int?
    var ifSchema: Int?
    var thenSchema: Int?
    var elseSchema: Int?

    /// Whether no keyword that checks something is present.
    var isEmpty: Bool {
        types == nil && ref == nil && enumValues == nil && constValue == nil
            && multipleOf == nil && minimum == nil && exclusiveMinimum == nil && maximum == nil && exclusiveMaximum == nil
            && minLength == nil && maxLength == nil && pattern == nil
            && minItems == nil && maxItems == nil && !uniqueItems && prefixItems.isEmpty && items == nil && contains == nil
            && minProperties == nil && maxProperties == nil && required.isEmpty && dependentRequired.isEmpty
            && propertyNames == nil && properties.isEmpty && patternProperties.isEmpty && additionalProperties == nil
            && allOf.isEmpty && anyOf == nil && oneOf == nil && not == nil && ifSchema == nil
    }

    /// The subschemas applied to the same value (not to a property or an item).
    var inPlaceSubschemas: [Int] {
        [ref, not, ifSchema, thenSchema, elseSchema].compactMap { $0 } + allOf + (anyOf ?? []) + (oneOf ?? [])
    }
}

/// The names of `type`.
enum JSONType: String, Sendable, CaseIterable {
    case null, boolean, integer, number, string, array, object

    func matches(_ value: JSONValue) -> Bool {
        switch (self, value) {
        case (.null, .null), (.boolean, .bool), (.number, .number), (.string, .string), (.array, .array), (.object, .object):
            true
        case (.integer, .number(let number)):
            number == number.rounded(.towardZero)
        default:
            false
        }
    }
}

/// A compiled `pattern`.
///
/// `NSRegularExpression` is immutable and documented as safe to use from several threads.
struct Pattern: @unchecked Sendable {
    let source: String
    private let expression: NSRegularExpression

    init?(_ source: String) {
        guard let expression = try? NSRegularExpression(pattern: source) else { return nil }
        self.source = source
        self.expression = expression
    }

    /// Whether the pattern matches anywhere in `text` (patterns are not implicitly anchored).
    func matches(_ text: String) -> Bool {
        expression.firstMatch(in: text, range: NSRange(location: 0, length: text.utf16.count)) != nil
    }
}

/// Turns a schema document into ``SchemaNode``s, checking every supported keyword.
struct SchemaCompiler {
    private let document: JSONValue
    private var nodes: [SchemaNode] = []
    private var nodeAtPointer: [String: Int] = [:]

    static func compile(_ document: JSONValue) throws(JSONSchemaError) -> [SchemaNode] {
        var compiler = SchemaCompiler(document: document)
        _ = try compiler.compile(document, at: "#")
        try compiler.checkForReferenceCycles()
        return compiler.nodes
    }

    private init(document: JSONValue) {
        self.document = document
    }

    /// Compiles the schema at `pointer` once; a second request (a `$ref`, possibly while the
    /// first is still being compiled) gets the same node.
    private mutating func compile(_ schema: JSONValue, at pointer: String) throws(JSONSchemaError) -> Int {
        if let index = nodeAtPointer[pointer] { return index }
        let index = nodes.count
        nodes.append(SchemaNode(pointer: pointer, body: .anything))
        nodeAtPointer[pointer] = index
        switch schema {
        case .bool(true):
            nodes[index].body = .anything
        case .bool(false):
            nodes[index].body = .nothing
        case .object(let members):
            let keywords = try compileKeywords(members, at: pointer)
            nodes[index].body = keywords.isEmpty ? .anything : .keywords(keywords)
        default:
            throw JSONSchemaError(pointer: pointer, message: "a schema must be an object or a boolean, not \(schema.typeName) \(schema)")
        }
        return index
    }

    private mutating func compileKeywords(_ members: [String: JSONValue], at pointer: String) throws(JSONSchemaError) -> Keywords {
        let reader = KeywordReader(members: members, pointer: pointer)
        var keywords = Keywords()

        if let type = members["type"] {
            keywords.types = try reader.types(type)
        }
        if let reference = try reader.string("$ref") {
            keywords.ref = try resolve(reference, at: reader.pointer("$ref"))
        }
        for container in ["$defs", "definitions"] {
            for (name, schema) in (try reader.object(container) ?? [:]).sorted(by: { $0.key < $1.key }) {
                _ = try compile(schema, at: reader.pointer(container, name))
            }
        }
        if let values = members["enum"] {
            guard case .array(let values) = values else { throw reader.error("enum", "must be an array") }
            keywords.enumValues = values
        }
        keywords.constValue = members["const"]

        keywords.multipleOf = try reader.number("multipleOf")
        if let divisor = keywords.multipleOf, divisor <= 0 { throw reader.error("multipleOf", "must be greater than 0") }
        keywords.minimum = try reader.number("minimum")
        keywords.maximum = try reader.number("maximum")
        for name in ["exclusiveMinimum", "exclusiveMaximum"] {
            if case .bool? = members[name] {
                throw reader.error(name, "must be a number (draft 2020-12); a boolean is the draft-04 form")
            }
        }
        keywords.exclusiveMinimum = try reader.number("exclusiveMinimum")
        keywords.exclusiveMaximum = try reader.number("exclusiveMaximum")

        keywords.minLength = try reader.count("minLength")
        keywords.maxLength = try reader.count("maxLength")
        if let source = try reader.string("pattern") {
            guard let pattern = Pattern(source) else { throw reader.error("pattern", "\(JSONValue.quoted(source)) is not a valid regular expression") }
            keywords.pattern = pattern
        }

        keywords.minItems = try reader.count("minItems")
        keywords.maxItems = try reader.count("maxItems")
        keywords.uniqueItems = try reader.bool("uniqueItems") ?? false
        keywords.prefixItems = try schemaArray("prefixItems", reader) ?? []
        if case .array? = members["items"] {
            throw reader.error("items", "must be a schema (draft 2020-12); use prefixItems for a list of schemas")
        }
        keywords.items = try schema("items", reader)
        keywords.contains = try schema("contains", reader)
        keywords.minContains = try reader.count("minContains")
        keywords.maxContains = try reader.count("maxContains")

        keywords.minProperties = try reader.count("minProperties")
        keywords.maxProperties = try reader.count("maxProperties")
        keywords.required = try reader.strings("required") ?? []
        for (property, required) in (try reader.object("dependentRequired") ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard case .array(let names) = required else {
                throw JSONSchemaError(pointer: reader.pointer("dependentRequired", property), message: "must be an array of strings")
            }
            let requires = try names.map { (name) throws(JSONSchemaError) -> String in
                guard case .string(let name) = name else {
                    throw JSONSchemaError(pointer: reader.pointer("dependentRequired", property), message: "must be an array of strings")
                }
                return name
            }
            keywords.dependentRequired.append((property, requires))
        }
        keywords.propertyNames = try schema("propertyNames", reader)
        for (name, schema) in (try reader.object("properties") ?? [:]).sorted(by: { $0.key < $1.key }) {
            keywords.properties[name] = try compile(schema, at: reader.pointer("properties", name))
        }
        for (source, schema) in (try reader.object("patternProperties") ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard let pattern = Pattern(source) else {
                throw JSONSchemaError(pointer: reader.pointer("patternProperties", source),
                                      message: "\(JSONValue.quoted(source)) is not a valid regular expression")
            }
            keywords.patternProperties.append((pattern, try compile(schema, at: reader.pointer("patternProperties", source))))
        }
        keywords.additionalProperties = try schema("additionalProperties", reader)

        keywords.allOf = try schemaArray("allOf", reader) ?? []
        keywords.anyOf = try schemaArray("anyOf", reader)
        keywords.oneOf = try schemaArray("oneOf", reader)
        keywords.not = try schema("not", reader)
        let thenSchema = try schema("then", reader)
        let elseSchema = try schema("else", reader)
        if let ifSchema = try schema("if", reader) {
            keywords.ifSchema = ifSchema
            keywords.thenSchema = thenSchema
            keywords.elseSchema = elseSchema
        }
        return keywords
    }

    private mutating func schema(_ keyword: String, _ reader: KeywordReader) throws(JSONSchemaError) -> Int? {
        guard let schema = reader.members[keyword] else { return nil }
        return try compile(schema, at: reader.pointer(keyword))
    }

    private mutating func schemaArray(_ keyword: String, _ reader: KeywordReader) throws(JSONSchemaError) -> [Int]? {
        guard let value = reader.members[keyword] else { return nil }
        guard case .array(let schemas) = value, !schemas.isEmpty else {
            throw reader.error(keyword, "must be a non-empty array of schemas")
        }
        var indices: [Int] = []
        for (offset, schema) in schemas.enumerated() {
            indices.append(try compile(schema, at: reader.pointer(keyword, String(offset))))
        }
        return indices
    }

    // MARK: References

    /// Compiles the target of a `$ref` within this document.
    private mutating func resolve(_ reference: String, at pointer: String) throws(JSONSchemaError) -> Int {
        func failure(_ message: String) -> JSONSchemaError {
            JSONSchemaError(pointer: pointer, message: "\(JSONValue.quoted(reference)) \(message)")
        }
        let base: Substring
        let fragment: Substring
        if let hash = reference.firstIndex(of: "#") {
            base = reference[..<hash]
            fragment = reference[reference.index(after: hash)...]
        } else {
            base = Substring(reference)
            fragment = ""
        }
        if !base.isEmpty {
            guard case .string(let id)? = document["$id"], id == base else {
                throw failure("is not supported: only references within this document (\"#/$defs/NAME\") are")
            }
        }
        guard let decoded = fragment.removingPercentEncoding else { throw failure("is not a valid URI fragment") }
        guard decoded.isEmpty || decoded.hasPrefix("/") else {
            throw failure("is not supported: anchors are not; use a JSON pointer such as \"#/$defs/NAME\"")
        }
        var target = document
        var canonical = "#"
        for token in decoded.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            switch target {
            case .object(let members) where members[key] != nil:
                target = members[key]!
            case .array(let items) where key.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) && Int(key).map(items.indices.contains) == true:
                target = items[Int(key)!]
            default:
                throw failure("does not resolve")
            }
            canonical += "/" + Self.escape(key)
        }
        return try compile(target, at: canonical)
    }

    /// Refuses references that loop back to the same value without descending into a property
    /// or an item (`{"$ref": "#"}`), which would never finish validating.
    private func checkForReferenceCycles() throws(JSONSchemaError) {
        enum State { case unvisited, inProgress, done }
        var states = [State](repeating: .unvisited, count: nodes.count)
        func visit(_ index: Int) throws(JSONSchemaError) {
            switch states[index] {
            case .done: return
            case .inProgress:
                throw JSONSchemaError(pointer: nodes[index].pointer,
                                      message: "this schema refers back to itself without descending into a property or item")
            case .unvisited: break
            }
            states[index] = .inProgress
            if case .keywords(let keywords) = nodes[index].body {
                for next in keywords.inPlaceSubschemas { try visit(next) }
            }
            states[index] = .done
        }
        for index in nodes.indices { try visit(index) }
    }

    /// A JSON pointer reference token.
    static func escape(_ token: String) -> String {
        token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }
}

/// Reads keyword values of one schema object, with errors that point at the keyword.
private struct KeywordReader {
    let members: [String: JSONValue]
    let pointer: String

    func pointer(_ tokens: String...) -> String {
        tokens.reduce(pointer) { $0 + "/" + SchemaCompiler.escape($1) }
    }

    func error(_ keyword: String, _ message: String) -> JSONSchemaError {
        JSONSchemaError(pointer: pointer(keyword), message: message)
    }

    func types(_ value: JSONValue) throws(JSONSchemaError) -> [JSONType] {
        let names: [JSONValue] = if case .array(let names) = value { names } else { [value] }
        guard !names.isEmpty else { throw error("type", "must not be an empty array") }
        var types: [JSONType] = []
        for name in names {
            guard case .string(let name) = name, let type = JSONType(rawValue: name) else {
                throw error("type", "\(name) is not a type; use " + JSONType.allCases.map { JSONValue.quoted($0.rawValue) }.joined(separator: ", "))
            }
            guard !types.contains(type) else { throw error("type", "names \(JSONValue.quoted(name)) twice") }
            types.append(type)
        }
        return types
    }

    func string(_ keyword: String) throws(JSONSchemaError) -> String? {
        guard let value = members[keyword] else { return nil }
        guard case .string(let string) = value else { throw error(keyword, "must be a string") }
        return string
    }

    func strings(_ keyword: String) throws(JSONSchemaError) -> [String]? {
        guard let value = members[keyword] else { return nil }
        guard case .array(let items) = value else { throw error(keyword, "must be an array of strings") }
        var strings: [String] = []
        for item in items {
            guard case .string(let string) = item else { throw error(keyword, "must be an array of strings") }
            strings.append(string)
        }
        return strings
    }

    func bool(_ keyword: String) throws(JSONSchemaError) -> Bool? {
        guard let value = members[keyword] else { return nil }
        guard case .bool(let bool) = value else { throw error(keyword, "must be true or false") }
        return bool
    }

    func number(_ keyword: String) throws(JSONSchemaError) -> Double? {
        guard let value = members[keyword] else { return nil }
        guard case .number(let number) = value else { throw error(keyword, "must be a number") }
        return number
    }

    /// A non-negative integer.
    func count(_ keyword: String) throws(JSONSchemaError) -> Int? {
        guard let value = members[keyword] else { return nil }
        guard case .number(let number) = value, number >= 0, number == number.rounded(.towardZero), number < 1e15 else {
            throw error(keyword, "must be a non-negative integer")
        }
        return Int(number)
    }

    func object(_ keyword: String) throws(JSONSchemaError) -> [String: JSONValue]? {
        guard let value = members[keyword] else { return nil }
        guard case .object(let members) = value else { throw error(keyword, "must be an object") }
        return members
    }
}
