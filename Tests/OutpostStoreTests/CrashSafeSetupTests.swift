import Foundation
import Testing
@testable import OutpostStore

/// First-run setup, master-key rotation and key files: every multi-file step survives a kill
/// after any single file operation, and a damaged input is a typed error, never a trap.
@Suite("Crash-safe setup and key rotation")
struct CrashSafeSetupTests {
    /// Every step of a first-run setup, in order, recorded from an uninterrupted run.
    static func setupSteps() throws -> [StorageWrite] {
        let scratch = ScratchDirectory()
        var steps: [StorageWrite] = []
        _ = try Store.open(at: scratch.dataDirectory, keyProvider: InMemoryKeyProvider(), options: .init(),
                           setupFaults: StorageFaultInjector { steps.append($0); return false })
        return steps
    }

    @Test func aFirstRunKilledAfterAnyStepOpensOnTheNextLaunch() throws {
        let steps = try Self.setupSteps()
        #expect(steps == [.setup(.createDirectory), .header, .setup(.createServersDirectory), .registry])
        for crashIndex in 1...steps.count {
            let scratch = ScratchDirectory()
            let key = InMemoryKeyProvider()
            #expect(throws: StoreError.self, "crash at \(steps[crashIndex - 1])") {
                try Store.open(at: scratch.dataDirectory, keyProvider: key, options: .init(), setupFaults: .crash(atWrite: crashIndex))
            }
            let relaunched = try Store.open(at: scratch.dataDirectory, keyProvider: key)
            #expect(relaunched.servers().isEmpty)
            let partition = try relaunched.addServer(origin("family.example"), now: t0)
            try partition.setSessionToken("token", now: t0)
            relaunched.close()
            let again = try Store.open(at: scratch.dataDirectory, keyProvider: key)
            #expect(try again.partition(for: partition.id).credentials().sessionToken == "token", "crash at \(steps[crashIndex - 1])")
        }
    }

    @Test func aSetupInterruptedBeforeItsHeaderAsEarlierVersionsWroteItOpens() throws {
        // Earlier versions wrote the partition directory and the server list before the header:
        // killed in between, the list is sealed under a directory key nobody kept.
        let scratch = ScratchDirectory()
        let layout = DirectoryLayout(root: scratch.dataDirectory)
        try FileSystem.createDirectory(layout.root)
        try FileSystem.createDirectory(layout.servers)
        try ServerRegistry().write(to: layout.registry, key: .random(count: Sodium.keyBytes))

        let key = InMemoryKeyProvider()
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: key)
        _ = try store.addServer(origin("family.example"), now: t0)
        store.close()
        #expect(try Store.open(at: scratch.dataDirectory, keyProvider: key).servers().count == 1)
    }

    @Test func aLostHeaderOrServerListNextToPartitionsIsAnErrorAndTouchesNothing() throws {
        let scratch = ScratchDirectory()
        let key = InMemoryKeyProvider()
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: key)
        _ = try store.addServer(origin("family.example"), now: t0)
        store.close()
        let layout = DirectoryLayout(root: scratch.dataDirectory)

        let header = try FileSystem.read(layout.header)
        try FileSystem.removeFile(layout.header)
        var before = snapshotFiles(scratch.dataDirectory)
        #expect { try Store.open(at: scratch.dataDirectory, keyProvider: key) } throws: {
            ($0 as? StoreError)?.code == .corruptFile && "\($0)".contains("holds partitions")
        }
        #expect(snapshotFiles(scratch.dataDirectory) == before)

        try FileSystem.writeAtomically(header, to: layout.header)
        try FileSystem.removeFile(layout.registry)
        before = snapshotFiles(scratch.dataDirectory)
        #expect { try Store.open(at: scratch.dataDirectory, keyProvider: key) } throws: {
            ($0 as? StoreError)?.code == .corruptFile && "\($0)".contains("server list is missing")
        }
        #expect(snapshotFiles(scratch.dataDirectory) == before)
    }

    // MARK: Master-key rotation

    /// A directory with one server holding a message, rotated from `old` to `new` (not confirmed).
    static func rotated(_ scratch: ScratchDirectory, from old: InMemoryKeyProvider, to new: InMemoryKeyProvider,
                        faults: StorageFaultInjector? = nil) throws -> (Store, ServerID) {
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: old)
        let partition = try store.addServer(origin("family.example"), now: t0)
        _ = try partition.storeInbound([message("m1", at: 1)], now: t0)
        store.faultInjector = faults
        try store.rotateMasterKey(to: new)
        return (store, partition.id)
    }

    static func opens(_ scratch: ScratchDirectory, with key: InMemoryKeyProvider, _ id: ServerID) -> Bool {
        guard let store = try? Store.open(at: scratch.dataDirectory, keyProvider: key) else { return false }
        defer { store.close() }
        return (try? store.partition(for: id).message("m1")) != nil
    }

    @Test func untilTheRotationIsConfirmedEitherKeyOpensThenOnlyTheNewOne() throws {
        let scratch = ScratchDirectory()
        let old = InMemoryKeyProvider(), new = InMemoryKeyProvider(), stranger = InMemoryKeyProvider()
        let (store, id) = try Self.rotated(scratch, from: old, to: new)
        #expect(try store.isMasterKeyRotationPending)
        // The app dies before saving the new key: the old one still opens, and so does the new.
        #expect(Self.opens(scratch, with: old, id))
        #expect(Self.opens(scratch, with: new, id))
        #expect(!Self.opens(scratch, with: stranger, id))

        try store.confirmMasterKeyRotation()
        #expect(try !store.isMasterKeyRotationPending)
        #expect(!Self.opens(scratch, with: old, id))
        #expect(Self.opens(scratch, with: new, id))
        try store.confirmMasterKeyRotation()  // nothing waiting: nothing changes
        #expect(Self.opens(scratch, with: new, id))
    }

    @Test func aRotationKilledAtEitherStepLocksNobodyOut() throws {
        // Killed before the rotation's write: only the old key, as before.
        var scratch = ScratchDirectory()
        let old = InMemoryKeyProvider(), new = InMemoryKeyProvider()
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: old)
        let id = try store.addServer(origin("family.example"), now: t0).id
        _ = try store.partition(for: id).storeInbound([message("m1", at: 1)], now: t0)
        store.faultInjector = .crash(atWrite: 1)
        #expect(throws: StoreError.self) { try store.rotateMasterKey(to: new) }
        #expect(Self.opens(scratch, with: old, id))
        #expect(!Self.opens(scratch, with: new, id))

        // Killed before the confirmation's write: both keys, and the app can confirm again.
        scratch = ScratchDirectory()
        let (rotating, rotatedID) = try Self.rotated(scratch, from: old, to: new)
        rotating.faultInjector = .crash(atWrite: 1)
        #expect(throws: StoreError.self) { try rotating.confirmMasterKeyRotation() }
        #expect(Self.opens(scratch, with: old, rotatedID))
        #expect(Self.opens(scratch, with: new, rotatedID))
        let relaunched = try Store.open(at: scratch.dataDirectory, keyProvider: new)
        try relaunched.confirmMasterKeyRotation()
        relaunched.close()
        #expect(!Self.opens(scratch, with: old, rotatedID))
        #expect(Self.opens(scratch, with: new, rotatedID))
    }

    @Test func rotatingAgainBeforeConfirmingReplacesTheNewKeyAndKeepsTheConfirmedOne() throws {
        let scratch = ScratchDirectory()
        let old = InMemoryKeyProvider(), first = InMemoryKeyProvider(), second = InMemoryKeyProvider()
        let (store, id) = try Self.rotated(scratch, from: old, to: first)
        try store.rotateMasterKey(to: second)
        #expect(Self.opens(scratch, with: old, id))
        #expect(!Self.opens(scratch, with: first, id))
        #expect(Self.opens(scratch, with: second, id))
    }

    // MARK: Key files

    @Test(arguments: [
        (#""ops_limit": 2, "mem_limit": 18446744073709551615"#, "mem_limit"),
        (#""ops_limit": 2, "mem_limit": 9223372036854775808"#, "mem_limit"),
        (#""ops_limit": 2, "mem_limit": 1099511627776"#, "mem_limit"),
        (#""ops_limit": 2, "mem_limit": 1024"#, "mem_limit"),
        (#""ops_limit": 4294967296, "mem_limit": 67108864"#, "ops_limit"),
        (#""ops_limit": 0, "mem_limit": 67108864"#, "ops_limit"),
    ])
    func aKeyFileWithArgon2LimitsOutOfRangeIsATypedError(_ parameters: String, _ field: String) throws {
        let scratch = ScratchDirectory()
        let path = scratch.path + "/master.key"
        try PassphraseKeyFile.create(at: path, passphrase: "pass", parameters: .interactive)
        let text = String(decoding: try FileSystem.read(path), as: UTF8.self)
        let edited = text.replacingOccurrences(of: #""parameters":\{[^}]*\}"#, with: "\"parameters\":{\(parameters)}",
                                               options: .regularExpression)
        #expect(edited != text)
        try FileSystem.writeAtomically(Array(edited.utf8), to: path)
        #expect { try PassphraseKeyFile(path: path, passphrase: "pass").masterKey() } throws: {
            ($0 as? StoreError)?.code == .corruptFile && "\($0)".contains(field)
        }
    }

    @Test func aKeyFileIsNeverCreatedWithLimitsItCouldNotBeOpenedWith() {
        let scratch = ScratchDirectory()
        #expect { try PassphraseKeyFile.create(at: scratch.path + "/k", passphrase: "p",
                                               parameters: Argon2Parameters(opsLimit: 2, memLimit: .max)) } throws: {
            ($0 as? StoreError)?.code == .invalidKey
        }
        #expect(!FileSystem.fileExists(scratch.path + "/k"))
    }
}
