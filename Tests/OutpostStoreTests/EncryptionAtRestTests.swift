import Foundation
import Testing
@testable import OutpostStore

@Suite("Encryption at rest")
struct EncryptionAtRestTests {
    static let secretText = "meet me at the old lighthouse at 7"
    static let host = "family-sovereign.example"
    static let sessionToken = "tok_QmFzZTY0VXJsU2Vzc2lvblRva2Vu"

    @Test func noKnownPlaintextAnywhereInTheDataDirectoryIncludingWALAndSHM() throws {
        let scratch = ScratchDirectory()
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: InMemoryKeyProvider())
        let partition = try store.addServer(origin(Self.host), now: t0)
        try partition.setSessionToken(Self.sessionToken, now: t0)
        try partition.setServerConfig(ServerConfig(name: "Family", websocketURL: "wss://\(Self.host)/ws"), now: t0)
        try partition.setOwnUserID("me", now: t0)
        // The payload would be ciphertext in practice; here it is the known text itself, the
        // hardest case for the scan.
        let payload = Array(Self.secretText.utf8)
        try partition.enqueue(conversationID: "conv-\(Self.host)", messageType: "text", payload: payload,
                              clientMessageID: "c1", now: t0)
        _ = try partition.storeInbound([message("m1", conversation: "conv-\(Self.host)", at: 1, payload: Self.secretText)], now: t0)
        try partition.recordGroup("conv-\(Self.host)", title: Self.secretText, members: [.init(userID: "me")], now: t0)
        try partition.saveMLSGroupState(groupID: Self.host, epoch: 1, state: payload, now: t0)

        // The store stays open: the WAL has not been checkpointed into the main files.
        let files = snapshotFiles(scratch.dataDirectory)
        #expect(files.keys.contains { $0.hasSuffix("messages.db-wal") }, "the scan must cover a live WAL")
        #expect(files.keys.contains { $0.hasSuffix("messages.db-shm") })
        #expect(files.values.contains { $0.count > 0 })
        for needle in [Self.secretText, Self.host, Self.sessionToken, "lighthouse", "family-sovereign"] {
            let bytes = Array(needle.utf8)
            let utf16 = needle.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
            for (name, content) in files.sorted(by: { $0.key < $1.key }) {
                #expect(!content.contains(bytes: bytes), "\"\(needle)\" found in plaintext in \(name)")
                #expect(!content.contains(bytes: utf16), "\"\(needle)\" found as UTF-16 in \(name)")
                #expect(!name.contains(needle), "\"\(needle)\" found in a file name: \(name)")
            }
        }
        store.close()
    }

    @Test func aPartitionOpensWithTheStockSqlcipherToolGivenItsRawKeyAndRefusesAWrongOne() throws {
        let scratch = ScratchDirectory()
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: InMemoryKeyProvider())
        let partition = try store.addServer(origin("family.example"), now: t0)
        try partition.enqueue(conversationID: "conv-cli", messageType: "text", payload: [1, 2, 3],
                              clientMessageID: "client-id-visible-to-cli", now: t0)
        let key = try rawDatabaseKey(store, partition.id, .messages)
        store.close()
        let path = store.layout.database(partition.id, .messages)
        let tool = "/usr/bin/sqlcipher"
        #expect(FileManager.default.isExecutableFile(atPath: tool), "install the Debian package sqlcipher")

        let right = try run(tool, [path], input: """
            PRAGMA key = "x'\(hex(key))'";
            PRAGMA cipher_page_size = 4096;
            SELECT client_message_id, conversation_id, state FROM outbox;
            """)
        #expect(right.output.contains("client-id-visible-to-cli|conv-cli|queued"), "sqlcipher printed: \(right.output)")

        var wrongKey = key
        wrongKey[0] ^= 0xFF
        let wrong = try run(tool, [path], input: """
            PRAGMA key = "x'\(hex(wrongKey))'";
            PRAGMA cipher_page_size = 4096;
            SELECT client_message_id FROM outbox;
            """)
        #expect(!wrong.output.contains("client-id-visible-to-cli"))
        #expect(wrong.output.contains("not a database") || wrong.output.contains("encrypted"), "sqlcipher printed: \(wrong.output)")

        // Without any key, neither.
        let none = try run(tool, [path], input: "SELECT count(*) FROM outbox;\n")
        #expect(!none.output.contains("client-id-visible-to-cli"))
    }

    @Test func eachDatabaseHasItsOwnKey() throws {
        let scratch = ScratchDirectory()
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: InMemoryKeyProvider())
        let a = try store.addServer(origin("a.example"), now: t0)
        let b = try store.addServer(origin("b.example"), now: t0)
        let keys = try [rawDatabaseKey(store, a.id, .messages), rawDatabaseKey(store, a.id, .mlsState),
                        rawDatabaseKey(store, b.id, .messages), rawDatabaseKey(store, b.id, .mlsState)]
        #expect(Set(keys).count == 4)
        #expect(keys.allSatisfy { $0.count == 32 })
    }
}
