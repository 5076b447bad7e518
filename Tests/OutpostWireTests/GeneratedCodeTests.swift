import Foundation
import OutpostWire
import SwiftProtobuf
import Testing

/// The committed generated code is the output of the committed schema: the stamp written by
/// Scripts/generate-protobuf.sh is the schema's SHA-256, and every enum value, message, field
/// name, number and type the schema declares is what the generated types decode and encode.
@Suite("Generated protobuf code matches Schemas/proto")
struct GeneratedCodeTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let protoURL = root.appendingPathComponent("Schemas/proto/sovereign/v1/sovereign.proto")
    static let stampURL = root.appendingPathComponent("Sources/OutpostWire/Generated/sovereign.proto.sha256")
    static let package = "sovereign.protocol.v1"

    /// Every generated message type.
    static let generated: [any SwiftProtobuf.Message.Type] = [
        Envelope.self, AuthRequest.self, AuthChallenge.self, AuthResponse.self, AuthSuccess.self, AuthError.self,
        AuthRegisterRequest.self, AuthRegisterChallenge.self, AuthRegisterResponse.self, AuthRegisterSuccess.self,
        MessageSend.self, MessageReceive.self, MessageAck.self, MessageDelivered.self, GroupMember.self,
        GroupCreate.self, GroupCreated.self, GroupInvite.self, GroupMemberAdded.self, GroupMemberRemoved.self,
        GroupLeave.self, MlsKeyPackageUpload.self, MlsKeyPackageFetch.self, MlsKeyPackageResponse.self,
        MlsWelcome.self, MlsWelcomeReceive.self, MlsCommit.self, MlsCommitBroadcast.self, PresenceUpdate.self,
        PresenceNotify.self, Ping.self, Pong.self, ErrorPayload.self, HistoryRequest.self, HistoryResponse.self,
    ]

    // MARK: A reader for the proto3 subset the schema uses

    struct Field: Sendable {
        var repeated: Bool
        var type: String
        var name: String
        var number: Int
    }

    struct Schema: Sendable {
        var messages: [String: [Field]] = [:]
        var enumValues: [(name: String, number: Int)] = []
    }

    /// One declaration per line: `message X {`, `enum X {`, `}`, `NAME = N;` inside the enum and
    /// `[repeated] type name = N;` inside a message. Comments are dropped first.
    static func readSchema() throws -> Schema {
        var schema = Schema()
        var message: String?
        var inEnum = false
        for rawLine in try String(contentsOf: protoURL, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false) {
            var line = Substring(rawLine)
            if let comment = line.range(of: "//") { line = line[..<comment.lowerBound] }
            let words = line.replacingOccurrences(of: ";", with: " ; ").split(separator: " ").map(String.init)
            guard let first = words.first else { continue }
            switch first {
            case "message": message = words[1]; schema.messages[words[1]] = []
            case "enum": inEnum = true
            case "}": message = nil; inEnum = false
            case "syntax", "package": continue
            default:
                guard let equals = words.firstIndex(of: "="), equals + 1 < words.count, let number = Int(words[equals + 1]) else {
                    Issue.record("unreadable schema line: \(rawLine)")
                    continue
                }
                if inEnum {
                    schema.enumValues.append((words[0], number))
                } else if let message, equals >= 2 {
                    let repeated = words[0] == "repeated"
                    schema.messages[message]!.append(Field(repeated: repeated, type: words[equals - 2], name: words[equals - 1], number: number))
                } else {
                    Issue.record("a field outside a message: \(rawLine)")
                }
            }
        }
        return schema
    }

    // MARK: Stamp

    @Test func theStampIsTheSchemasSHA256() throws {
        let schema = [UInt8](try Data(contentsOf: Self.protoURL))
        let stamp = try String(contentsOf: Self.stampURL, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(stamp == SHA256.hex(schema), "the schema changed: run Scripts/generate-protobuf.sh and commit its output")
    }

    @Test func theSHA256MatchesTheStandardVectors() {
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    // MARK: Enum

    @Test func everyEnumValueHasItsNameAndNumber() throws {
        let values = try Self.readSchema().enumValues
        #expect(values.count == MessageType.allCases.count, "the generated enum has other values than the schema")
        #expect(Set(values.map(\.number)) == Set(MessageType.allCases.map(\.rawValue)))
        for (name, number) in values {
            // An open enum maps every number to a case; a generated value is not `.UNRECOGNIZED`.
            let type = try #require(MessageType.allCases.first { $0.rawValue == number }, "\(name) = \(number) is not generated")
            #expect(MessageType(rawValue: number) == type)
            // JSON names enum values by their schema names.
            let decoded = try Envelope(jsonString: #"{"type":"\#(name)"}"#)
            #expect(decoded.type == type, "\(name) decodes as \(decoded.type), not \(number)")
        }
    }

    // MARK: Messages

    @Test func everyMessageOfTheSchemaIsGenerated() throws {
        let names = Set(try Self.readSchema().messages.keys.map { "\(Self.package).\($0)" })
        #expect(names == Set(Self.generated.map { $0.protoMessageName }))
    }

    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value, bytes: [UInt8] = []
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        return bytes + [UInt8(value)]
    }

    static func tag(_ number: Int, _ wireType: UInt64) -> [UInt8] { varint(UInt64(number) << 3 | wireType) }

    /// The binary encoding of one value for `field`, and the JSON (with proto field names) that
    /// the generated type must turn it into. The values tell the scalar types apart: all-ones
    /// is -1 as int32, "-1" as int64 and "18446744073709551615" as uint64; 0xFF is valid bytes
    /// and invalid UTF-8 (so a string field refuses it).
    static func probe(_ field: Field, in schema: Schema) -> (bytes: [UInt8], json: String)? {
        let key = #""\#(field.name)":"#
        let allOnes = varint(.max)
        let element: (bytes: [UInt8], json: String)
        switch field.type {
        case "string": element = (tag(field.number, 2) + [1, 0x41], #""A""#)
        case "bytes": element = (tag(field.number, 2) + [1, 0xFF], #""/w==""#)
        case "int32": element = (tag(field.number, 0) + allOnes, "-1")
        case "int64": element = (tag(field.number, 0) + allOnes, #""-1""#)
        case "uint64": element = (tag(field.number, 0) + allOnes, #""18446744073709551615""#)
        case "bool": element = (tag(field.number, 0) + [1], "true")
        case "MessageType": element = (tag(field.number, 0) + [1], #""AUTH_REQUEST""#)
        default:
            // A message: one field inside, probed the same way.
            guard let first = schema.messages[field.type]?.first, let inner = probe(first, in: schema) else { return nil }
            element = (tag(field.number, 2) + varint(UInt64(inner.bytes.count)) + inner.bytes, "{\(inner.json)}")
        }
        return (element.bytes, key + (field.repeated ? "[\(element.json)]" : element.json))
    }

    @Test func everyFieldHasItsNameNumberAndType() throws {
        let schema = try Self.readSchema()
        let generated = Dictionary(uniqueKeysWithValues: Self.generated.map { ($0.protoMessageName, $0) })
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        var checked = 0
        for (message, fields) in schema.messages {
            let type = try #require(generated["\(Self.package).\(message)"])
            for field in fields {
                let probe = try #require(Self.probe(field, in: schema), "\(message).\(field.name): unknown type \(field.type)")
                let decoded = try type.init(serializedBytes: probe.bytes, extensions: nil, partial: false, options: BinaryDecodingOptions())
                #expect(decoded.unknownFields.data.isEmpty, "\(message): field \(field.number) is not generated")
                #expect(try decoded.jsonString(options: options) == "{\(probe.json)}", "\(message).\(field.name) = \(field.number)")
                #expect(try decoded.serializedBytes() == probe.bytes, "\(message).\(field.name) re-encodes differently")
                checked += 1
            }
            // And the generated type knows no other field number.
            let numbers = Set(fields.map(\.number))
            for number in 1...64 where !numbers.contains(number) {
                for bytes in [Self.tag(number, 0) + [1], Self.tag(number, 2) + [0]] {
                    let decoded = try? type.init(serializedBytes: bytes, extensions: nil, partial: false, options: BinaryDecodingOptions())
                    #expect(decoded.map { !$0.unknownFields.data.isEmpty } ?? true, "\(message) has a field \(number) the schema lacks")
                }
            }
        }
        #expect(checked == schema.messages.values.map(\.count).reduce(0, +))
        #expect(checked > 80)
    }
}
