import Foundation
import Testing
@testable import OutpostStore

@Suite("Key management")
struct KeyManagementTests {
    @Test func rotatingTheMasterKeyRewrapsWithoutTouchingAnyDatabase() throws {
        let scratch = ScratchDirectory()
        let oldKey = InMemoryKeyProvider()
        let newKey = InMemoryKeyProvider()
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: oldKey)
        let partition = try store.addServer(origin("family.example"), now: t0)
        _ = try partition.storeInbound([message("m1", at: 1)], now: t0)
        store.closeAllPartitions()
        let databasesBefore = snapshotFiles(scratch.dataDirectory).filter { $0.key.hasPrefix("servers/") }

        try store.rotateMasterKey(to: newKey)
        try store.confirmMasterKeyRotation()
        store.close()

        #expect(snapshotFiles(scratch.dataDirectory).filter { $0.key.hasPrefix("servers/") } == databasesBefore)
        #expect { try Store.open(at: scratch.dataDirectory, keyProvider: oldKey) } throws: {
            ($0 as? StoreError)?.code == .wrongMasterKey
        }
        let reopened = try Store.open(at: scratch.dataDirectory, keyProvider: newKey)
        #expect(try reopened.partition(for: partition.id).message("m1") != nil)
    }

    @Test func aPassphraseKeyFileOpensTheStoreAndRefusesAWrongPassphrase() throws {
        let scratch = ScratchDirectory()
        let keyPath = scratch.path + "/keys/master.key"
        let keyFile = try PassphraseKeyFile.create(at: keyPath, passphrase: "correct horse battery staple",
                                                   parameters: .interactive)
        #expect(fileMode(keyPath) == 0o600)
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: keyFile)
        _ = try store.addServer(origin("family.example"), now: t0)
        store.close()

        let wrong = PassphraseKeyFile(path: keyPath, passphrase: "Tr0ub4dor&3")
        #expect { try wrong.masterKey() } throws: { ($0 as? StoreError)?.code == .wrongPassphrase }
        #expect { try Store.open(at: scratch.dataDirectory, keyProvider: wrong) } throws: {
            ($0 as? StoreError)?.code == .wrongPassphrase
        }
        #expect(throws: StoreError.self) {
            try PassphraseKeyFile.create(at: keyPath, passphrase: "x", parameters: .interactive)
        }

        let renamed = try keyFile.changePassphrase(to: "a new passphrase", parameters: .interactive)
        #expect(try Store.open(at: scratch.dataDirectory, keyProvider: renamed).servers().count == 1)
        #expect { try keyFile.masterKey() } throws: { ($0 as? StoreError)?.code == .wrongPassphrase }
        // The file holds no plaintext key material worth finding: the passphrase is not in it.
        #expect(!(try FileSystem.read(keyPath)).contains(bytes: Array("a new passphrase".utf8)))
    }

    @Test func aRawKeyMustBe32Bytes() throws {
        #expect { try RawKeyProvider(rawKey: [UInt8](repeating: 1, count: 16)) } throws: {
            ($0 as? StoreError)?.code == .invalidKey
        }
        let provider = try RawKeyProvider(rawKey: [UInt8](repeating: 1, count: 32))
        let scratch = ScratchDirectory()
        _ = try Store.open(at: scratch.dataDirectory, keyProvider: provider)
        #expect(try Store.open(at: scratch.dataDirectory, keyProvider: RawKeyProvider(rawKey: [UInt8](repeating: 1, count: 32))).servers().isEmpty)
    }

    @Test func secretBytesAreComparedInConstantTimeAndCopied() {
        var source: [UInt8] = [1, 2, 3, 4]
        let secret = SecretBytes(copying: source)
        source[0] = 9
        #expect(secret.withUnsafeBytes { Array($0) } == [1, 2, 3, 4])
        #expect(secret.isEqual(to: SecretBytes(copying: [1, 2, 3, 4])))
        #expect(!secret.isEqual(to: SecretBytes(copying: [1, 2, 3, 5])))
    }
}
