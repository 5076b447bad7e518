import Foundation
import OutpostJSONSchema
import OutpostSchemas
import Testing
@testable import OutpostStore

/// Every JSON file the library writes follows its schema in `Schemas/json`.
@Suite("Written JSON follows Schemas/json")
struct WrittenJSONConformsTests {
    static func violations(_ schema: String, _ bytes: [UInt8]) throws -> [JSONSchemaViolation] {
        try JSONSchema(data: SchemaCatalog.jsonSchema(named: schema)).validate(Data(bytes))
    }

    @Test func everyFileTheStoreWritesConforms() throws {
        let scratch = ScratchDirectory()
        let keyPath = scratch.path + "/master.key"
        let keyFile = try PassphraseKeyFile.create(at: keyPath, passphrase: "passphrase", parameters: .interactive)
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: keyFile)
        let partition = try store.addServer(origin("family.example"), now: t0)
        try partition.setServerConfig(ServerConfig(name: "Family", websocketURL: "wss://family.example/ws", iconURL: "https://family.example/i.png",
                                                   registration: "open", capabilities: ["mls", "passkey", "history"], version: "1.0"), now: t0)

        #expect(try Self.violations("master-key-file", FileSystem.read(keyPath)).isEmpty)
        #expect(try Self.violations("directory-header", FileSystem.read(store.layout.header)).isEmpty)
        #expect(try Self.violations("partition-keys", FileSystem.read(store.layout.keys(partition.id))).isEmpty)

        // The server list is sealed on disk; its plaintext is JSON too.
        let registryKey = try DirectoryHeader.read(from: store.layout.header)
            .openDirectoryKey(masterKey: keyFile.masterKey())
        let sealed = SealedBox(combined: try FileSystem.read(store.layout.registry))!
        let plaintext = Sodium.open(sealed, key: Sodium.deriveSubkey(.registrySealing, from: registryKey),
                                    associatedData: ServerRegistry.associatedData)!
        #expect(try Self.violations("server-registry", plaintext.withUnsafeBytes { Array($0) }).isEmpty)

        // The server configuration lives inside the encrypted partition, as JSON.
        let config = try store.withOpenPartition(partition.id) { $0.messages }
            .statement("SELECT value FROM credentials WHERE name = 'server_config'").firstRow { $0.blob(0) }
        #expect(try Self.violations("server-config", #require(config)).isEmpty)
    }

    @Test func theSchemasThemselvesRejectWhatTheyShould() throws {
        #expect(try !Self.violations("directory-header", Array(#"{"format": 1}"#.utf8)).isEmpty)
        #expect(try !Self.violations("server-config", Array(#"{"name":"x","websocket_url":"ftp://x","capabilities":[]}"#.utf8)).isEmpty)
        for name in try SchemaCatalog.jsonSchemaNames() {
            _ = try JSONSchema(data: SchemaCatalog.jsonSchema(named: name))  // every schema parses, every $ref resolves
        }
    }
}
