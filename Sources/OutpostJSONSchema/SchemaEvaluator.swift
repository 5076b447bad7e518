/// One violation while evaluating, with what a summary of alternatives needs to know.
struct Finding {
    enum Kind {
        /// A `type` mismatch, with the accepted types.
        case type([JSONType])
        /// An `enum` or `const` mismatch.
        case value
        case other
    }

    var path: String
    var message: String
    var kind: Kind

    init(path: String, message: String, kind: Kind = .other) {
        self.path = path
        self.message = message
        self.kind = kind
    }

    static func typeMismatch(_ value: JSONValue, expected: [JSONType], at path: String) -> Finding {
        Finding(path: path, message: "expected \(listing(expected.map(\.rawValue), conjunction: "or")), got \(typed(value))",
                kind: .type(expected))
    }

    var expectedTypes: [JSONType]? {
        if case .type(let types) = kind { types } else { nil }
    }

    var isValueMismatch: Bool {
        if case .value = kind { true } else { false }
    }
}

/// Applies compiled schemas to values.
struct SchemaEvaluator {
    let nodes: [SchemaNode]

    func evaluate(_ value: JSONValue, node index: Int, path: String, into findings: inout [Finding]) {
        let keywords: Keywords
        switch nodes[index].body {
        case .anything:
            return
        case .nothing:
            findings.append(Finding(path: path, message: "no value is allowed here"))
            return
        case .keywords(let compiled):
            keywords = compiled
        }

        if let types = keywords.types, !types.contains(where: { $0.matches(value) }) {
            findings.append(.typeMismatch(value, expected: types, at: path))
            return
        }
        if let reference = keywords.ref {
            evaluate(value, node: reference, path: path, into: &findings)
        }
        if let values = keywords.enumValues, !values.contains(value) {
            var message = "\(brief(value)) is not one of \(values.map(brief).joined(separator: ", "))"
            if case .string(let text) = value,
               let suggestion = closestMatch(to: text, among: values.compactMap { if case .string(let s) = $0 { s } else { nil } }) {
                message += " (did you mean \(JSONValue.quoted(suggestion))?)"
            }
            findings.append(Finding(path: path, message: message, kind: .value))
        }
        if let constant = keywords.constValue, constant != value {
            findings.append(Finding(path: path, message: "expected \(brief(constant)), got \(brief(value))", kind: .value))
        }

        switch value {
        case .number(let number):
            evaluateNumber(number, keywords, path, &findings)
        case .string(let text):
            evaluateString(text, keywords, path, &findings)
        case .array(let items):
            evaluateArray(items, keywords, path, &findings)
        case .object(let members):
            evaluateObject(members, keywords, path, &findings)
        case .null, .bool:
            break
        }

        evaluateCombinators(value, keywords, path, &findings)
    }

    /// Whether `value` is valid against the node.
    private func passes(_ value: JSONValue, _ index: Int, _ path: String) -> Bool {
        findings(value, index, path).isEmpty
    }

    private func findings(_ value: JSONValue, _ index: Int, _ path: String) -> [Finding] {
        var findings: [Finding] = []
        evaluate(value, node: index, path: path, into: &findings)
        return findings
    }

    // MARK: Numbers, strings

    private func evaluateNumber(_ number: Double, _ keywords: Keywords, _ path: String, _ findings: inout [Finding]) {
        func fail(_ message: String) { findings.append(Finding(path: path, message: message)) }
        let shown = JSONValue.format(number)
        if let divisor = keywords.multipleOf, !isMultiple(number, of: divisor) {
            fail("\(shown) is not a multiple of \(JSONValue.format(divisor))")
        }
        if let minimum = keywords.minimum, number < minimum {
            fail("\(shown) is less than the minimum \(JSONValue.format(minimum))")
        }
        if let bound = keywords.exclusiveMinimum, number <= bound {
            fail("\(shown) is not greater than the exclusive minimum \(JSONValue.format(bound))")
        }
        if let maximum = keywords.maximum, number > maximum {
            fail("\(shown) is greater than the maximum \(JSONValue.format(maximum))")
        }
        if let bound = keywords.exclusiveMaximum, number >= bound {
            fail("\(shown) is not less than the exclusive maximum \(JSONValue.format(bound))")
        }
    }

    private func isMultiple(_ number: Double, of divisor: Double) -> Bool {
        if number == number.rounded(.towardZero), divisor == divisor.rounded(.towardZero) {
            return number.truncatingRemainder(dividingBy: divisor) == 0
        }
        let quotient = number / divisor
        guard quotient.isFinite else { return false }
        return abs(quotient - quotient.rounded()) <= 1e-9 * max(1, abs(quotient))
    }

    private func evaluateString(_ text: String, _ keywords: Keywords, _ path: String, _ findings: inout [Finding]) {
        func fail(_ message: String) { findings.append(Finding(path: path, message: message)) }
        if keywords.minLength != nil || keywords.maxLength != nil {
            let length = text.unicodeScalars.count
            if let minimum = keywords.minLength, length < minimum {
                fail("\(brief(.string(text))) is shorter than the minimum length \(minimum)")
            }
            if let maximum = keywords.maxLength, length > maximum {
                fail("\(brief(.string(text))) is longer than the maximum length \(maximum)")
            }
        }
        if let pattern = keywords.pattern, !pattern.matches(text) {
            fail("\(brief(.string(text))) does not match the pattern \(JSONValue.quoted(pattern.source))")
        }
    }

    // MARK: Arrays

    private func evaluateArray(_ items: [JSONValue], _ keywords: Keywords, _ path: String, _ findings: inout [Finding]) {
        func fail(_ message: String) { findings.append(Finding(path: path, message: message)) }
        if let minimum = keywords.minItems, items.count < minimum {
            fail("array has \(counted(items.count, "item")), fewer than the minimum \(minimum)")
        }
        if let maximum = keywords.maxItems, items.count > maximum {
            fail("array has \(counted(items.count, "item")), more than the maximum \(maximum)")
        }
        if keywords.uniqueItems {
            var firstOffset: [JSONValue: Int] = [:]
            for (offset, item) in items.enumerated() {
                if let first = firstOffset[item] {
                    fail("items at indexes \(first) and \(offset) are equal")
                } else {
                    firstOffset[item] = offset
                }
            }
        }
        for (offset, node) in zip(items.indices, keywords.prefixItems) {
            evaluate(items[offset], node: node, path: "\(path)[\(offset)]", into: &findings)
        }
        if let node = keywords.items, items.count > keywords.prefixItems.count {
            if nodes[node].acceptsNothing {
                let allowed = keywords.prefixItems.count
                fail("array has \(counted(items.count, "item")), but " + (allowed == 0 ? "must be empty" : "at most \(allowed) are allowed"))
            } else {
                for offset in keywords.prefixItems.count..<items.count {
                    evaluate(items[offset], node: node, path: "\(path)[\(offset)]", into: &findings)
                }
            }
        }
        if let node = keywords.contains {
            let matching = items.indices.filter { passes(items[$0], node, "\(path)[\($0)]") }.count
            let minimum = keywords.minContains ?? 1
            if matching < minimum {
                fail(minimum == 1 && matching == 0
                     ? "no item matches the \"contains\" schema"
                     : "\(counted(matching, "item")) \(matching == 1 ? "matches" : "match") the \"contains\" schema, fewer than the minimum \(minimum)")
            }
            if let maximum = keywords.maxContains, matching > maximum {
                fail("\(counted(matching, "item")) \(matching == 1 ? "matches" : "match") the \"contains\" schema, more than the maximum \(maximum)")
            }
        }
    }

    // MARK: Objects

    private func evaluateObject(_ members: [String: JSONValue], _ keywords: Keywords, _ path: String, _ findings: inout [Finding]) {
        func fail(_ message: String, at path: String = path) { findings.append(Finding(path: path, message: message)) }
        if let minimum = keywords.minProperties, members.count < minimum {
            fail("object has \(counted(members.count, "property", "properties")), fewer than the minimum \(minimum)")
        }
        if let maximum = keywords.maxProperties, members.count > maximum {
            fail("object has \(counted(members.count, "property", "properties")), more than the maximum \(maximum)")
        }
        for name in keywords.required where members[name] == nil {
            fail("required property \(JSONValue.quoted(name)) is missing")
        }
        for (property, requires) in keywords.dependentRequired where members[property] != nil {
            for name in requires where members[name] == nil {
                fail("property \(JSONValue.quoted(property)) requires property \(JSONValue.quoted(name)), which is missing")
            }
        }

        let keys = members.keys.sorted()
        lazy var unusedProperties = keywords.properties.keys.filter { members[$0] == nil }.sorted()
        for key in keys {
            let member = members[key]!
            let memberPath = path + pathComponent(key)
            if let node = keywords.propertyNames {
                for finding in self.findings(.string(key), node, memberPath) {
                    let quoted = brief(.string(key))
                    let message = finding.message.hasPrefix(quoted) ? "property name " + finding.message : "property name \(quoted): " + finding.message
                    fail(message, at: memberPath)
                }
            }
            var declared = false
            if let node = keywords.properties[key] {
                declared = true
                evaluate(member, node: node, path: memberPath, into: &findings)
            }
            for (pattern, node) in keywords.patternProperties where pattern.matches(key) {
                declared = true
                evaluate(member, node: node, path: memberPath, into: &findings)
            }
            if !declared, let node = keywords.additionalProperties {
                if nodes[node].acceptsNothing {
                    var message = "property \(JSONValue.quoted(key)) is not allowed"
                    if let suggestion = closestMatch(to: key, among: unusedProperties) {
                        message += " (did you mean \(JSONValue.quoted(suggestion))?)"
                    }
                    fail(message, at: memberPath)
                } else {
                    evaluate(member, node: node, path: memberPath, into: &findings)
                }
            }
        }
    }

    // MARK: Combinators

    private func evaluateCombinators(_ value: JSONValue, _ keywords: Keywords, _ path: String, _ findings: inout [Finding]) {
        for node in keywords.allOf {
            evaluate(value, node: node, path: path, into: &findings)
        }
        if let alternatives = keywords.anyOf {
            let results = alternatives.map { self.findings(value, $0, path) }
            if !results.contains(where: \.isEmpty) {
                findings.append(noAlternativeMatches(value, results, path))
            }
        }
        if let alternatives = keywords.oneOf {
            let results = alternatives.map { self.findings(value, $0, path) }
            let matching = results.indices.filter { results[$0].isEmpty }
            if matching.isEmpty {
                findings.append(noAlternativeMatches(value, results, path))
            } else if matching.count > 1 {
                findings.append(Finding(path: path, message: "matches alternatives \(listing(matching.map(String.init), conjunction: "and")) of \"oneOf\", but must match exactly one"))
            }
        }
        if let node = keywords.not, passes(value, node, path) {
            findings.append(Finding(path: path, message: "must not match the \"not\" schema"))
        }
        if let condition = keywords.ifSchema {
            if passes(value, condition, path) {
                if let node = keywords.thenSchema { evaluate(value, node: node, path: path, into: &findings) }
            } else {
                if let node = keywords.elseSchema { evaluate(value, node: node, path: path, into: &findings) }
            }
        }
    }

    /// One finding for `anyOf`/`oneOf` when no alternative matches: a plain type mismatch when
    /// every alternative wants another type, otherwise the first problem of the closest
    /// alternative. Closest means, in turn: the value has a type the alternative accepts, no
    /// `const` or `enum` (such as a `kind` discriminator) rejects it, it has the fewest problems,
    /// it comes first.
    private func noAlternativeMatches(_ value: JSONValue, _ results: [[Finding]], _ path: String) -> Finding {
        func isTypeMismatchHere(_ finding: Finding) -> Bool { finding.expectedTypes != nil && finding.path == path }
        if results.allSatisfy({ $0.count == 1 && isTypeMismatchHere($0[0]) }) {
            var types: [JSONType] = []
            for type in results.flatMap({ $0[0].expectedTypes! }) where !types.contains(type) { types.append(type) }
            return .typeMismatch(value, expected: types, at: path)
        }
        func rank(_ offset: Int, _ findings: [Finding]) -> (Int, Int, Int, Int) {
            (findings.contains(where: isTypeMismatchHere) ? 1 : 0, findings.contains(where: \.isValueMismatch) ? 1 : 0, findings.count, offset)
        }
        let closest = results.enumerated().min { rank($0.offset, $0.element) < rank($1.offset, $1.element) }!.element
        let problem = closest[0]
        var detail = problem.path == path ? problem.message : "\(problem.path): \(problem.message)"
        if closest.count > 1 { detail += "; \(closest.count - 1) more" }
        return Finding(path: path, message: "matches none of the alternatives (closest: \(detail))")
    }
}

// MARK: - Message helpers

/// The path component of an object member: `.name`, or `["odd name"]` when it is not an identifier.
func pathComponent(_ key: String) -> String {
    func isLetter(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
    }
    let isIdentifier = key.utf8.first.map(isLetter) == true
        && key.utf8.allSatisfy { isLetter($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    return isIdentifier ? "." + key : "[" + JSONValue.quoted(key) + "]"
}

/// A value for a message: compact JSON, long ones shortened.
func brief(_ value: JSONValue) -> String {
    let text = value.description
    guard text.count > 60 else { return text }
    let shortened = String(text.prefix(57))
    switch value {
    case .string: return shortened + "…\""
    case .array: return shortened + "…]"
    case .object: return shortened + "…}"
    default: return shortened + "…"
    }
}

/// A value with its type for a type mismatch: `string "abc"`, `number 1.5`, `array`.
func typed(_ value: JSONValue) -> String {
    switch value {
    case .null: "null"
    case .bool, .number, .string: "\(value.typeName) \(brief(value))"
    case .array, .object: value.typeName
    }
}

/// `a`, `a or b`, `a, b or c`.
func listing(_ words: [String], conjunction: String) -> String {
    guard words.count > 1 else { return words.first ?? "" }
    return words.dropLast().joined(separator: ", ") + " \(conjunction) " + words.last!
}

/// `1 item`, `3 items`.
func counted(_ count: Int, _ singular: String, _ plural: String? = nil) -> String {
    "\(count) \(count == 1 ? singular : plural ?? singular + "s")"
}

/// The candidate a misspelling most likely meant, if one is close enough: at most one edit for
/// short words, two for longer ones, three from nine characters (case is ignored; swapping two
/// neighbours is one edit).
func closestMatch(to word: String, among candidates: [String]) -> String? {
    let target = Array(word.lowercased())
    let limit = target.count <= 4 ? 1 : target.count <= 8 ? 2 : 3
    var best: (candidate: String, distance: Int)?
    for candidate in candidates where candidate != word {
        let distance = editDistance(target, Array(candidate.lowercased()))
        if distance <= limit, distance < best?.distance ?? .max {
            best = (candidate, distance)
        }
    }
    return best?.candidate
}

/// Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps.
private func editDistance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previousPrevious = [Int](repeating: 0, count: b.count + 1)
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                current[j] = min(current[j], previousPrevious[j - 2] + 1)
            }
        }
        (previousPrevious, previous, current) = (previous, current, previousPrevious)
    }
    return previous[b.count]
}
