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

    @Test func aPermanentFailureIsVisibleAndDoesNotBlockTheQueue() async throws {
        let directory = ScratchDirectory()
        let home = try await TestServer.start("Home")
        let client = try makeClient(directory.path)
        let recorder = await EventRecorder.recording(client)
        await client.start()
        let homeID = try await client.addServer(home.address, signIn: await home.signIn())

        let stranger = try await client.send(Array("to a conversation I am not in".utf8), to: "secret", on: homeID)
        let later = try await client.send(Array("to family".utf8), to: "family", on: homeID)
        try await recorder.wait("one failed, one sent") { events in
            events.sent(homeID, later.clientMessageID) && events.contains { event in
                guard event.server == homeID, case .outboxItemFailed(let id, _) = event.kind else { return false }
                return id == stranger.clientMessageID
            }
        }
        let failed = try #require(try await client.outbox(on: homeID, states: [.failed]).first)
        #expect(failed.clientMessageID == stranger.clientMessageID)
        #expect(failed.failure?.reason.isEmpty == false)

        // Retried, it fails again with the same id; cancelled, it is never sent.
        try await client.retry(stranger.clientMessageID, on: homeID)
        try await recorder.wait("failed again") { events in
            events.filter { event in
                guard event.server == homeID, case .outboxItemFailed(let id, _) = event.kind else { return false }
                return id == stranger.clientMessageID
            }.count == 2
        }
        try await client.cancel(stranger.clientMessageID, on: homeID)
        #expect(try await client.outbox(on: homeID, states: [.cancelled]).map(\.clientMessageID) == [stranger.clientMessageID])
        await client.close()
        await home.stop()
    }

    @Test func losingTheNetworkWaitsAndItsReturnReconnectsAtOnce() async throws {
        let directory = ScratchDirectory()
        let home = try await TestServer.start("Home")
        let client = try makeClient(directory.path)
        let recorder = await EventRecorder.recording(client)
        await client.start()
        let homeID = try await connect(home, to: client, recorder: recorder)

        await client.networkLost()
        await home.host.dropAllConnections()
        try await recorder.wait("dropped") { $0.state(of: homeID) == .disconnected }
        let mark = await recorder.events.count
        await client.networkRestored()
        try await recorder.wait("back") { Array($0.dropFirst(mark)).state(of: homeID) == .connected }
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

