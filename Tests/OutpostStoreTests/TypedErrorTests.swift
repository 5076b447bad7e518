import CSQLCipher
import Foundation
import Testing
@testable import OutpostStore

@Suite("Typed errors that never destroy data")
struct TypedErrorTests {
    /// A data directory with one server holding a message, closed.
    static func populated(_ scratch: ScratchDirectory, key: some KeyProvider) throws -> (ServerID, [UInt8]) {
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: key)
        let partition = try store.addServer(origin("family.example"), now: t0)
        _ = try partition.storeInbound([message("m1", at: 1)], now: t0)
        let rawKey = try rawDatabaseKey(store, partition.id, .messages)
        store.close()
        return (partition.id, rawKey)
    }

    @Test func wrongMasterKeyIsTypedAndLeavesEveryFileByteIdentical() throws {
        let scratch = ScratchDirectory()
        _ = try Self.populated(scratch, key: InMemoryKeyProvider())
        let before = snapshotFiles(scratch.dataDirectory)
        #expect { try Store.open(at: scratch.dataDirectory, keyProvider: InMemoryKeyProvider()) } throws: {
            ($0 as? StoreError)?.code == .wrongMasterKey
        }
        #expect(snapshotFiles(scratch.dataDirectory) == before)
    }

    @Test func aCorruptDatabaseIsTypedAndLeftByteIdentical() throws {
        let scratch = ScratchDirectory()
        let key = InMemoryKeyProvider()
        let (id, _) = try Self.populated(scratch, key: key)
        let path = scratch.dataDirectory + "/servers/\(id.hex)/messages.db"
        var bytes = try FileSystem.read(path)
        for index in 100..<400 { bytes[index] ^= 0x5A }  // inside page 1, past the salt
        try FileSystem.writeAtomically(bytes, to: path)
        let before = snapshotFiles(scratch.dataDirectory)

        let store = try Store.open(at: scratch.dataDirectory, keyProvider: key)
        #expect(store.servers().count == 1, "the server stays listed: its data is not thrown away")
        #expect { try store.partition(for: id).outbox() } throws: { ($0 as? StoreError)?.code == .corruptDatabase }
        store.close()
        #expect(snapshotFiles(scratch.dataDirectory) == before)
    }

    @Test func aCorruptKeyFileOrServerListIsTypedAndLeftByteIdentical() throws {
        for target in ["keys", "registry", "header"] {
            let scratch = ScratchDirectory()
            let key = InMemoryKeyProvider()
            let (id, _) = try Self.populated(scratch, key: key)
            let path = switch target {
            case "keys": scratch.dataDirectory + "/servers/\(id.hex)/keys.json"
            case "registry": scratch.dataDirectory + "/servers.sealed"
            default: scratch.dataDirectory + "/outpost.json"
            }
            var bytes = try FileSystem.read(path)
            bytes[bytes.count / 2] ^= 0x01
            try FileSystem.writeAtomically(bytes, to: path)
            let before = snapshotFiles(scratch.dataDirectory)
            #expect("a damaged \(target) file is refused") {
                let store = try Store.open(at: scratch.dataDirectory, keyProvider: key)
                _ = try store.partition(for: id).outbox()
            } throws: { error in
                guard let code = (error as? StoreError)?.code else { return false }
                return [.corruptFile, .wrongMasterKey].contains(code)
            }
            #expect(snapshotFiles(scratch.dataDirectory) == before, "\(target)")
        }
    }

    @Test func aSchemaNewerThanTheCodeIsTypedAndLeftByteIdentical() throws {
        let scratch = ScratchDirectory()
        let key = InMemoryKeyProvider()
        let (id, rawKey) = try Self.populated(scratch, key: key)
        let path = scratch.dataDirectory + "/servers/\(id.hex)/messages.db"
        // Newer code wrote this database.
        do {
            let database = try Database(path: path, key: SecretBytes(copying: rawKey), create: false)
            try database.execute("PRAGMA user_version = 99")
            database.close()
        }
        let before = snapshotFiles(scratch.dataDirectory)
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: key)
        #expect { try store.partition(for: id).outbox() } throws: { error in
            guard let error = error as? StoreError, error.code == .schemaTooNew else { return false }
            return error.detail.contains("99")
        }
        store.close()
        #expect(snapshotFiles(scratch.dataDirectory) == before)
    }

    @Test func aFullDiskIsTypedAndTheFailedWriteLeavesEarlierDataIntact() throws {
        let scratch = ScratchDirectory()
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: InMemoryKeyProvider())
        let partition = try store.addServer(origin("family.example"), now: t0)
        try partition.enqueue(conversationID: "c", messageType: "text", payload: [1], clientMessageID: "kept", now: t0)
        // Cap the database at its current size: the next page it needs is "disk full".
        let database = try store.withOpenPartition(partition.id) { $0.messages }
        let pages = try database.integer("PRAGMA page_count")
        try database.execute("PRAGMA max_page_count = \(pages)")
        #expect {
            for index in 0..<200 {
                try partition.enqueue(conversationID: "c", messageType: "text", payload: Array(repeating: 7, count: 8_000),
                                      clientMessageID: "big-\(index)", now: t0)
            }
        } throws: { ($0 as? StoreError)?.code == .diskFull }
        #expect(try partition.outboxItem("kept")?.state == .queued)
    }

    @Test func aMissingHeaderBesideExistingDataIsNeverReinitialised() throws {
        let scratch = ScratchDirectory()
        _ = try Self.populated(scratch, key: InMemoryKeyProvider())
        try FileSystem.removeFile(scratch.dataDirectory + "/outpost.json")
        let before = snapshotFiles(scratch.dataDirectory)
        #expect { try Store.open(at: scratch.dataDirectory, keyProvider: InMemoryKeyProvider()) } throws: {
            ($0 as? StoreError)?.code == .corruptFile
        }
        #expect(snapshotFiles(scratch.dataDirectory) == before)
    }
}
