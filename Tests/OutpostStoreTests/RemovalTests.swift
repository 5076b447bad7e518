import Foundation
import Testing
@testable import OutpostStore

@Suite("Server removal")
struct RemovalTests {
    /// A directory with three servers holding data; returns the store and the middle one.
    static func populated(_ scratch: ScratchDirectory, key: InMemoryKeyProvider) throws -> (Store, [Partition]) {
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: key)
        var partitions: [Partition] = []
        for host in ["a.example", "b.example", "c.example"] {
            let partition = try store.addServer(origin(host), now: t0)
            try partition.setSessionToken("token-\(host)", now: t0)
            try partition.enqueue(conversationID: "c", messageType: "text", payload: [1], clientMessageID: "m-\(host)", now: t0)
            _ = try partition.storeInbound([message("in-\(host)", at: 5)], now: t0)
            try partition.saveMLSGroupState(groupID: "g", epoch: 1, state: [7], now: t0)
            partitions.append(partition)
        }
        return (store, partitions)
    }

    @Test func removalLeavesNoFileAndTouchesNoOtherServer() throws {
        let scratch = ScratchDirectory()
        let key = InMemoryKeyProvider()
        let (store, partitions) = try Self.populated(scratch, key: key)
        let victim = partitions[1]
        // Close everything so the other partitions' files are at rest, then snapshot them.
        store.closeAllPartitions()
        let before = snapshotFiles(scratch.dataDirectory).filter { !$0.key.contains(victim.id.hex) && $0.key.hasPrefix("servers/") }
        #expect(FileSystem.fileExists(store.layout.database(victim.id, .messages) + "-wal") == false)

        _ = try victim.outbox()  // reopen it so its -wal and -shm exist at removal time
        #expect(FileSystem.fileExists(store.layout.database(victim.id, .messages) + "-wal"))
        try store.removeServer(victim.id)

        #expect(!FileSystem.fileExists(store.layout.partition(victim.id)))
        let after = snapshotFiles(scratch.dataDirectory)
        #expect(!after.keys.contains { $0.contains(victim.id.hex) })
        #expect(after.filter { $0.key.hasPrefix("servers/") } == before)
        #expect(Set(store.servers().map(\.id)) == [partitions[0].id, partitions[2].id])
        let reopened = try Store.open(at: scratch.dataDirectory, keyProvider: key)
        #expect(reopened.servers().count == 2)
        #expect(!reopened.servers().contains { $0.id == victim.id })
        #expect(try reopened.partition(for: partitions[0].id).credentials().sessionToken == "token-a.example")
    }

    /// Leaves the companion files a killed process leaves behind (a closed connection deletes
    /// its `-wal` and `-shm`), so that removal must delete them too.
    static func leaveKilledProcessFiles(_ store: Store, _ id: ServerID) throws {
        store.closeAllPartitions()
        for file in DatabaseFile.allCases {
            for suffix in DatabaseFile.sidecarSuffixes {
                try FileSystem.writeAtomically(Array(repeating: 0xAB, count: 4096), to: store.layout.database(id, file) + suffix)
            }
        }
    }

    /// Every durable step of a removal, in order, recorded from an uninterrupted run.
    static func removalSteps() throws -> [StorageWrite] {
        let scratch = ScratchDirectory()
        let (store, partitions) = try populated(scratch, key: InMemoryKeyProvider())
        try leaveKilledProcessFiles(store, partitions[1].id)
        var steps: [StorageWrite] = []
        store.faultInjector = StorageFaultInjector { write in
            steps.append(write)
            return false
        }
        try store.removeServer(partitions[1].id)
        return steps
    }

    @Test func aRemovalKilledAfterAnyStepCompletesOnReopenAndTheServerNeverReturns() throws {
        let steps = try Self.removalSteps()
        let id = steps.first.flatMap { step -> ServerID? in if case .removal(let id, _) = step { id } else { nil } }!
        #expect(steps == [.removal(id, .markRemoving), .removal(id, .destroyKeys)]
            + ["messages.db", "messages.db-journal", "messages.db-shm", "messages.db-wal",
               "mls_state.db", "mls_state.db-journal", "mls_state.db-shm", "mls_state.db-wal"].map { .removal(id, .deleteFile($0)) }
            + [.removal(id, .removeDirectory), .removal(id, .dropFromRegistry)])
        for crashIndex in 1...steps.count {
            let scratch = ScratchDirectory()
            let key = InMemoryKeyProvider()
            let (store, partitions) = try Self.populated(scratch, key: key)
            let victim = partitions[1]
            try Self.leaveKilledProcessFiles(store, victim.id)
            let others = partitions.filter { $0.id != victim.id }.map(\.id)
            store.faultInjector = .crash(atWrite: crashIndex)
            #expect { try store.removeServer(victim.id) } throws: { ($0 as? StoreError)?.code == .simulatedCrash }
            // The dead process's memory is gone: further calls fail until a relaunch.
            #expect { try store.partition(for: others[0]) } throws: { ($0 as? StoreError)?.code == .simulatedCrash }

            let relaunched = try Store.open(at: scratch.dataDirectory, keyProvider: key)
            if crashIndex == 1 {
                // Killed before the intent was durable: the removal never happened.
                #expect(relaunched.servers().count == 3)
                #expect(try relaunched.partition(for: victim.id).credentials().sessionToken == "token-b.example")
                continue
            }
            #expect(relaunched.servers().map(\.id).sorted() == others.sorted(), "crash at \(steps[crashIndex - 1])")
            #expect(!FileSystem.fileExists(relaunched.layout.partition(victim.id)), "crash at \(steps[crashIndex - 1])")
            for id in others {
                #expect(try relaunched.partition(for: id).outbox().count == 1)
            }
            // And again: it stays gone.
            relaunched.close()
            let again = try Store.open(at: scratch.dataDirectory, keyProvider: key)
            #expect(!again.servers().contains { $0.id == victim.id })
        }
    }

    @Test func anAdditionKilledHalfWayIsRolledBackOnReopen() throws {
        // The intent in the server list, the partition's keys, its databases, the list again.
        for crashIndex in 1...4 {
            let scratch = ScratchDirectory()
            let key = InMemoryKeyProvider()
            let store = try Store.open(at: scratch.dataDirectory, keyProvider: key)
            _ = try store.addServer(origin("keep.example"), now: t0)
            store.faultInjector = .crash(atWrite: crashIndex)
            #expect(throws: StoreError.self) { try store.addServer(origin("new.example"), now: t0) }
            let relaunched = try Store.open(at: scratch.dataDirectory, keyProvider: key)
            #expect(relaunched.servers().map(\.origin.value) == ["https://keep.example"])
            #expect(FileManager.default.contentsOfDirectoryPaths(scratch.dataDirectory + "/servers").count == 1)
        }
    }
}
