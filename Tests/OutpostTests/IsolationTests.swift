import Foundation
import Outpost
import OutpostLoopbackServer
import Testing

/// One server that hangs, refuses or floods never delays another's startup, sends or receives.
@Suite("Isolation between servers", .serialized)
struct IsolationTests {
    @Test func hangingAndRefusingServersDoNotDelayAHealthyOne() async throws {
        let directory = ScratchDirectory()
        let hanging = try await HangingListener()
        let refusing = try await HangingListener()
        let refusingPort = refusing.port
        await refusing.close()  // nothing listens there any more: connection refused
        let healthy = try await TestServer.start("Healthy")

        let client = try makeClient(directory.path)
        let recorder = await EventRecorder.recording(client)
        let hangingID = try await client.addServer(
            try ServerOrigin(parsing: "http://127.0.0.1:\(hanging.port)"),
            document: DiscoveryDocument(name: "Hangs", version: "1", websocketURL: "ws://127.0.0.1:\(hanging.port)/ws"),
            signIn: ServerSignIn(sessionToken: "unused"))
        let refusingID = try await client.addServer(
            try ServerOrigin(parsing: "http://127.0.0.1:\(refusingPort)"),
            document: DiscoveryDocument(name: "Refuses", version: "1", websocketURL: "ws://127.0.0.1:\(refusingPort)/ws"),
            signIn: ServerSignIn(sessionToken: "unused"))
        let healthyID = try await client.addServer(healthy.address, signIn: await healthy.signIn())
        await client.start()

        let item = try await client.send(Array("hello".utf8), to: "family", on: healthyID)
        try await recorder.wait("the healthy server connected and sent") { $0.sent(healthyID, item.clientMessageID) }
        // The hung server's first attempt (a 10 s deadline) is still open.
        #expect(await recorder.events.state(of: hangingID) == .connecting)
        #expect(await recorder.count(hangingID) { $0 == .connectionStateChanged(.connected) } == 0)
        #expect(await recorder.count(refusingID) { $0 == .connectionStateChanged(.connected) } == 0)
        await client.close()
        await healthy.stop()
        await hanging.close()
    }

    @Test func discoveryOfAHangingServerDoesNotHoldUpAddingAnother() async throws {
        let directory = ScratchDirectory()
        let hanging = try await HangingListener()
        let healthy = try await TestServer.start("Healthy")
        let client = try makeClient(directory.path) { configuration in
            var discovery = HTTPDiscoveryClient.Configuration()
            discovery.timeout = .seconds(3)
            configuration.discovery = HTTPDiscoveryClient(configuration: discovery)
        }
        await client.start()
        let stuckFinished = Flag()
        let stuck = Task {
            defer { stuckFinished.set() }
            return try await client.addServer("http://127.0.0.1:\(hanging.port)", signIn: ServerSignIn(sessionToken: "t"))
        }
        let healthyID = try await client.addServer(healthy.address, signIn: await healthy.signIn())
        #expect(!stuckFinished.isSet, "adding the healthy server waited for the hung discovery")
        #expect(await client.servers().map(\.id) == [healthyID])

        let error = await #expect(throws: OutpostError.self) { try await stuck.value }
        #expect(error?.code == .timedOut)
        await hanging.close()
        await client.close()
        await healthy.stop()
    }

    @Test func aFloodingServerDoesNotStarveAnother() async throws {
        let directory = ScratchDirectory()
        let flooding = try await TestServer.start("Flooding")
        let quiet = try await TestServer.start("Quiet")
        let client = try makeClient(directory.path) { configuration in
            // The test counts the flood through the event stream, which keeps only the newest
            // events for a consumer that falls behind: give it room for all of them.
            configuration.eventBufferLimit = 1_000_000
        }
        let recorder = await EventRecorder.recording(client)
        await client.start()
        let (floodingID, quietID) = try await connect(flooding, quiet, to: client, recorder: recorder)

        // The flood goes on until the quiet server has sent and received: if the client served
        // the flooding server first, this test would never get past the wait below.
        let stopFlood = Flag()  // not task cancellation: that could cut a push short
        let flood = Task {
            var posted = 0
            while !stopFlood.isSet {
                posted += 1
                await flooding.host.post(from: "alice", to: "family", text: "flood \(posted)")
            }
            return posted
        }
        try await recorder.waitUntilStored(50, of: floodingID, "the flood arriving")
        let item = try await client.send(Array("quiet hello".utf8), to: "family", on: quietID)
        await quiet.host.post(from: "bob", to: "family", text: "quiet reply")
        try await recorder.wait("the quiet server's send and receive during the flood") { events in
            events.sent(quietID, item.clientMessageID) && events.storedIDs(quietID).count >= 2
        }
        stopFlood.set()
        let total = await flood.value
        // Nothing of the flood is lost either.
        try await recorder.waitUntilStored(total, of: floodingID, "the whole flood stored")
        #expect(await recorder.events.storedIDs(floodingID).count == total, "more stored than posted")
        await client.close()
        await flooding.stop()
        await quiet.stop()
    }
}
