import CSodium
import Foundation
import OutpostWire
import SwiftProtobuf
import Testing

/// The committed generated code is the output of the committed schema: its stamp is the
/// schema's SHA-256, and every message, field number and enum value of the schema decodes into
/// the generated type under its own name.
@Suite("Generated protobuf code matches Schemas/proto")
struct GeneratedCodeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let protoPath = root.appendingPathComponent("Schemas/proto/sovereign/v1/sovereign.proto")

    static let types: [any SwiftProtobuf.Message.Type] = [
        Envelope.self, AuthRequest.self, AuthChallenge.self, AuthResponse.self, AuthSuccess.self, AuthError.self,
        AuthRegisterRequest.self, AuthRegisterChallenge.self, AuthRegisterResponse.self, AuthRegisterSuccess.self,
        MessageSend.self, MessageReceive.self, MessageAck.self, MessageDelivered.self, GroupMember.self, GroupCreate.self,
        GroupCreated.self, GroupInvite.self, GroupMemberAdded.self, GroupMemberRemoved.self, GroupLeave.self,
        MlsKeyPackageUpload.self, MlsKeyPackageFetch.self, MlsKeyPackageResponse.self, MlsWelcome.self, MlsWelcomeReceive.self,
        MlsCommit.self, MlsCommitBroadcast.self, PresenceUpdate.self, PresenceNotify.self, Ping.self, Pong.self,
        ErrorPayload.self, HistoryRequest.self, HistoryResponse.self,
    ]

    struct Field { let name: String; let number: Int; let type: String }

    /// A small reader for the subset of proto3 the schema uses.
    static func parse() throws -> (messages: [String: [Field]], enumValues: [(String, Int)]) {
        let text = try String(contentsOf: protoPath, encoding: .utf8)
        var messages: [String: [Field]] = [:], enumValues: [(String, Int)] = []
        var current: String?, inEnum = false
        for rawLine in text.split(separator: "\n") {
            let line = rawLine.split(separator: "//").first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
            let words = line.split(separator: " ").map(String.init)
            if words.first == "message" { current = words[1]; messages[words[1]] = [] }
            else if words.first == "enum" { inEnum = true }
            else if line == "}" { current = nil; inEnum = false }
            else if inEnum, words.count >= 3, words[1] == "=", let number = Int(words[2].dropLast()) { enumValues.append((words[0], number)) }
            else if let message = current, let equals = words.firstIndex(of: "="), let number = Int(words[equals + 1].dropLast()) {
                messages[message]!.append(Field(name: words[equals - 1], number: number, type: words[equals - 2]))
            }
        }
        return (messages, enumValues)
    }

    @Test func theStampIsTheSchemasSHA256() throws {
        let schema = [UInt8](try Data(contentsOf: Self.protoPath))
        var digest = [UInt8](repeating: 0, count: 32)
        _ = crypto_hash_sha256(&digest, schema, UInt64(schema.count))
        let stamp = try String(contentsOf: Self.root.appendingPathComponent("Sources/OutpostWire/Generated/sovereign.proto.sha256"), encoding: .utf8)
        #expect(stamp.trimmingCharacters(in: .whitespacesAndNewlines) == digest.map { String(format: "%02x", $0) }.joined(),
                "the schema changed: run Scripts/generate-protobuf.sh and commit the result")
    }

    @Test func everyEnumValueHasItsNumberAndName() throws {
        let (_, values) = try Self.parse()
        #expect(values.count == MessageType.allCases.count)
        for (name, number) in values {
            let type = try #require(MessageType(rawValue: number), "\(name)")
            let json = try Envelope.with { $0.type = type }.jsonString()
            #expect(number == 0 || json.contains("\"\(name)\""), "\(name) = \(number): \(json)")
        }
    }

    @Test func everyMessageAndFieldOfTheSchemaIsGeneratedWithItsNumber() throws {
        let (messages, _) = try Self.parse()
        let generated = Dictionary(uniqueKeysWithValues: Self.types.map { ($0.protoMessageName, $0) })
        #expect(Set(messages.keys.map { "sovereign.protocol.v1.\($0)" }) == Set(generated.keys))
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        for (message, fields) in messages {
            let type = try #require(generated["sovereign.protocol.v1.\(message)"])
            for field in fields {
                // One field, encoded by hand with the schema's number, must surface under the schema's name.
                let tag = UInt8(field.number << 3)
                let bytes: [UInt8] = switch field.type {
                case "string", "bytes": [tag | 2, 1, 0x41]
                case "repeated", "GroupMember", "MessageReceive": [tag | 2, 0]
                default: [tag, 1]
                }
                let decoded = try type.init(serializedBytes: bytes, extensions: nil, partial: false, options: BinaryDecodingOptions())
                let json = try decoded.jsonString(options: options)
                #expect(json.contains("\"\(field.name)\""), "\(message).\(field.name) = \(field.number): \(json)")
            }
        }
    }
}
