import Foundation
import Outpost
import OutpostLoopbackServer
import OutpostSimulation
import Testing

/// The servers people actually run: a server without a discovery document, and the upstream
/// Sovereign server as it was observed, modelled by the loopback server.
@Suite("Servers without discovery, and upstream's behaviour", .serialized)
struct UpstreamCompatibilityTests {
    /// Before, a 404 at the well-known path failed the add: the upstream server could not be
    /// added at all.
    @Test(arguments: [ServerBehaviour.legacy, .upstream])
    func aServerWithoutADiscoveryDocumentIsAddedAndExchangesMessages(behaviour: ServerBehaviour) async throws {
        let directory = ScratchDirectory()
        let server = try await TestServer.start("Upstream", behaviour: behaviour)
        await server.host.setPublishesDiscovery(false)
        let client = try makeClient(directory.path)
        let recorder = await EventRecorder.recording(client)
        await client.start()
        let id = try await connect(server, to: client, recorder: recorder)

        let info = try #require(await client.server(id))
        #expect(!info.hasDiscoveryDocument)
        #expect(info.name == "127.0.0.1")
        #expect(info.gapGuarantee == GapGuarantee.none)
        let item = try await client.send(Array("hello upstream".utf8), to: "family", on: id)
        await server.host.post(from: "alice", to: "family", text: "hello back")
        try await recorder.wait("sent and received") { events in
            events.sent(id, item.clientMessageID) && events.storedIDs(id).count >= 2
        }
        #expect(await server.host.storedMessages.filter { $0.senderID == "me" }.count == 1)
        await client.close()
        await server.stop()
    }

    /// Before, a push over 65,536 bytes closed the connection (1009). Upstream takes a send up
    /// to the limit and pushes it on with its own fields added, and counts it delivered once
    /// queued: the message was lost for good.
    @Test func aPushALittleOverTheLimitIsStored() async throws {
        let directory = ScratchDirectory()
        let server = try await TestServer.start("Upstream", behaviour: .upstream)
        let client = try makeClient(directory.path)
        let recorder = await EventRecorder.recording(client)
        await client.start()
        let id = try await connect(server, to: client, recorder: recorder)
        await server.host.postLargest(from: "alice", to: "family")
        try await recorder.wait("the large message stored") { $0.storedIDs(id).count == 1 }
        let page = try await client.messages(in: "family", on: id)
        #expect(page.messages.first?.payload.count == 65_496)
        #expect(await recorder.events.state(of: id) == .connected, "the connection stayed")
        await client.close()
        await server.stop()
    }

    /// Upstream keeps one push registration per user, for the newest connection to log in, and
    /// drops it when any connection of the user closes. A new connection that logged in before
    /// the old one's close reached the server would go deaf; the client waits for the close
    /// handshake first. Before, it did not: the message below never arrived.
    @Test func aNewConnectionLogsInOnlyAfterTheOldOnesCloseWentThrough() async throws {
        let directory = ScratchDirectory()
        let server = try await TestServer.start("Upstream", behaviour: .upstream)
        // A slow path: the client's close takes a while to reach the server.
        await server.host.setCloseProcessingDelay(.milliseconds(300))
        let client = try makeClient(directory.path)
        let recorder = await EventRecorder.recording(client)
        await client.start()
        let id = try await connect(server, to: client, recorder: recorder)
        let mark = await recorder.events.count
        try await client.reconnect(id)
        try await recorder.wait("logged in again") { Array($0.dropFirst(mark)).state(of: id) == .connected }
        // Only once the old connection's close has reached the server does a login that came
        // before it lose its registration.
        await server.host.waitForClientCloses(1)
        await server.host.post(from: "alice", to: "family", text: "are you there?")
        try await recorder.wait("the live push arrived on the new connection", limit: .seconds(20)) { $0.storedIDs(id).count == 1 }
        await client.close()
        await server.stop()
    }
}
