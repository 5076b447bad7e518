import Foundation
import Outpost
import OutpostLoopbackServer
import Testing

@Suite("The client's API", .serialized)
struct ClientAPITests {
    @Test func zeroServersIsAValidStart() async throws {
        let directory = ScratchDirectory()
        let client = try makeClient(directory.path)
        await client.start()
        #expect(await client.servers().isEmpty)
        #expect(try await client.conversations().isEmpty)
        var lists = await client.conversationList().makeAsyncIterator()
        #expect(await lists.next() == [])
        let unknown = try ServerOrigin(parsing: "nowhere.example")
        let error = await #expect(throws: OutpostError.self) {
            try await client.send([1], to: "family", on: ServerID(hex: unknown.value))
        }
        #expect(error?.code == .unknownServer)
        await client.close()
        #expect(await lists.next() == nil, "closing ends the live list")
    }

    @Test func theConnectionStateStreamStartsWithTheCurrentState() async throws {
        let directory = ScratchDirectory()
        let home = try await TestServer.start("Home")
        let client = try makeClient(directory.path)
        let homeID = try await client.addServer(home.address, signIn: await home.signIn())
        var states = await client.connectionStates(of: homeID).makeAsyncIterator()
        #expect(await states.next() == .disconnected)
        await client.start()
        var seen: [ConnectionState] = []
        while let state = await states.next() {
            seen.append(state)
            if state == .connected { break }
        }
        #expect(seen == [.connecting, .authenticating, .connected])
        let twice = await #expect(throws: OutpostError.self) {
            try await client.addServer(home.address, signIn: await home.signIn())
        }
        #expect(twice?.code == .serverAlreadyAdded)
        await client.close()
        await home.stop()
    }

    @Test func aMasterKeyRotationOpensWithEitherKeyUntilConfirmed() async throws {
        let directory = ScratchDirectory()
        let newKey = try RawKeyProvider(rawKey: (0..<32).map { UInt8(255 - $0) })
        var client = try makeClient(directory.path)
        let home = try await TestServer.start("Home")
        let id = try await client.addServer(home.address, signIn: await home.signIn())
        try await client.rotateMasterKey(to: newKey)
        #expect(try await client.isMasterKeyRotationPending)
        await client.close()

        // Killed before the app saved the new key: the old one still opens, and so does the new.
        client = try makeClient(directory.path)
        #expect(await client.servers().map(\.id) == [id])
        #expect(try await client.isMasterKeyRotationPending)
        await client.close()
        client = try OutpostClient(directory: directory.path, keyProvider: newKey)
        try await client.confirmMasterKeyRotation()
        #expect(try await !client.isMasterKeyRotationPending)
        await client.close()

        let old = #expect(throws: OutpostError.self) { try makeClient(directory.path) }
        #expect(old?.storeError?.code == .wrongMasterKey)
        client = try OutpostClient(directory: directory.path, keyProvider: newKey)
        #expect(await client.servers().map(\.id) == [id])
        await client.close()
        await home.stop()
    }
}

