import Foundation
import Testing
@testable import OutpostStore

@Suite("Store: servers, partitions and permissions")
struct StoreLifecycleTests {
    @Test func addListAndReopen() throws {
        let scratch = ScratchDirectory()
        let key = InMemoryKeyProvider()
        do {
            let store = try Store.open(at: scratch.dataDirectory, keyProvider: key)
            #expect(store.servers().isEmpty)
            _ = try store.addServer(origin("work.example"), now: t0)
            _ = try store.addServer(origin("https://Family.Example:443/"), now: t0)
            #expect(store.servers().map(\.origin.value) == ["https://family.example", "https://work.example"])
            #expect(throws: StoreError.self) { try store.addServer(origin("family.example"), now: t0) }
        }
        let reopened = try Store.open(at: scratch.dataDirectory, keyProvider: key)
        #expect(reopened.servers().map(\.origin.value) == ["https://family.example", "https://work.example"])
    }

    @Test(arguments: [
        ("family.example", "https://family.example"),
        ("HTTPS://Family.Example:443/path?q", "https://family.example"),
        ("wss://chat.example:8443/ws", "https://chat.example:8443"),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
        ("ws://localhost:80", "http://localhost"),
    ])
    func canonicalOrigins(input: String, expected: String) throws {
        #expect(try ServerOrigin(parsing: input).value == expected)
    }

    @Test(arguments: ["", "ftp://x.example", "https://user:pw@x.example", "https://"])
    func invalidOrigins(input: String) {
        #expect { try ServerOrigin(parsing: input) } throws: { ($0 as? StoreError)?.code == .invalidServerURL }
    }

    @Test func partitionDirectoryIsAKeyedHashNotSha256OfTheHost() throws {
        let scratch = ScratchDirectory()
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: InMemoryKeyProvider())
        let partition = try store.addServer(origin("family.example"), now: t0)
        let names = FileManager.default.contentsOfDirectoryPaths(scratch.dataDirectory + "/servers")
        #expect(names == [partition.id.hex])
        #expect(partition.id.hex.count == 64)
        // Another data directory (another directory key) names the same origin differently.
        let other = try Store.open(at: scratch.path + "/other", keyProvider: InMemoryKeyProvider())
        #expect(other.serverID(for: origin("family.example")) != partition.id)
    }

    @Test func filesAre0600AndDirectories0700() throws {
        let scratch = ScratchDirectory()
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: InMemoryKeyProvider())
        let partition = try store.addServer(origin("family.example"), now: t0)
        try partition.enqueue(conversationID: "c", messageType: "text", payload: [1, 2, 3], clientMessageID: "m1", now: t0)
        try partition.saveMLSGroupState(groupID: "g", epoch: 1, state: [9], now: t0)
        var checked = 0
        let enumerator = FileManager.default.enumerator(atPath: scratch.dataDirectory)!
        while let relative = enumerator.nextObject() as? String {
            let full = scratch.dataDirectory + "/" + relative
            let expected: UInt32 = FileSystem.isDirectory(full) ? 0o700 : 0o600
            #expect(fileMode(full) == expected, "\(relative) has mode \(String(fileMode(full), radix: 8))")
            checked += 1
        }
        #expect(fileMode(scratch.dataDirectory) == 0o700)
        #expect(checked >= 8)  // header, registry, servers/, partition/, keys, 2 dbs, wal/shm
    }

    @Test func credentialsAreReachableOnlyThroughTheirOwnPartition() throws {
        let scratch = ScratchDirectory()
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: InMemoryKeyProvider())
        let family = try store.addServer(origin("family.example"), now: t0)
        let work = try store.addServer(origin("work.example"), now: t0)
        try family.setSessionToken("family-token", now: t0)
        try family.setPasskeyCredentialID([1, 2, 3], now: t0)
        try family.setServerConfig(ServerConfig(name: "Family", websocketURL: "wss://family.example/ws",
                                                capabilities: ["mls", "passkey", "history"]), now: t0)
        try work.setSessionToken("work-token", now: t0)

        let familyCredentials = try store.partition(for: family.id).credentials()
        #expect(familyCredentials.sessionToken == "family-token")
        #expect(familyCredentials.passkeyCredentialID == [1, 2, 3])
        #expect(familyCredentials.serverConfig?.capabilities == ["mls", "passkey", "history"])
        #expect(try work.credentials().sessionToken == "work-token")
        #expect(try work.credentials().passkeyCredentialID == nil)
        try family.setSessionToken(nil, now: t0)
        #expect(try family.credentials().sessionToken == nil)
        #expect(try work.credentials().sessionToken == "work-token")
    }

    @Test func aRemovedServersHandleStopsWorking() throws {
        let scratch = ScratchDirectory()
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: InMemoryKeyProvider())
        let family = try store.addServer(origin("family.example"), now: t0)
        try store.removeServer(family.id)
        #expect { try family.credentials() } throws: { ($0 as? StoreError)?.code == .serverNotFound }
        #expect { try store.partition(for: family.id) } throws: { ($0 as? StoreError)?.code == .serverNotFound }
        // The same origin can be added again, empty.
        let again = try store.addServer(origin("family.example"), now: t0)
        #expect(try again.credentials() == ServerCredentials())
    }
}

extension FileManager {
    func contentsOfDirectoryPaths(_ path: String) -> [String] {
        ((try? contentsOfDirectory(atPath: path)) ?? []).sorted()
    }
}
