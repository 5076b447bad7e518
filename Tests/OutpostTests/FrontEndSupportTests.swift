import Foundation
import InMemoryLogging
import Logging
import Outpost
import OutpostLoopbackServer
import Testing

/// What a front end needs around the data itself, through the runtime: reasons for a
/// disconnect, logs an app can ship, a bug report, notifications, low-power mode.
@Suite("Front-end support", .serialized)
struct FrontEndSupportTests {
    @Test func logsAtInfoNeverNameTheServerOrCarryATokenOrAPayload() async throws {
        let directory = ScratchDirectory()
        let home = try await TestServer.start("Home")
        var handler = InMemoryLogHandler()
        handler.logLevel = .trace
        let client = try makeClient(directory.path) { configuration in
            configuration.logger = Logger(label: "app") { _ in handler }
        }
        let recorder = await EventRecorder.recording(client)
        await client.start()
        let signIn = await home.signIn()
        let homeID = try await client.addServer(home.address, signIn: signIn)
        try await recorder.wait("connected") { $0.state(of: homeID) == .connected }
        try await client.send(Array("a secret payload".utf8), to: "family", on: homeID)
        await home.host.post(from: "alice", to: "family", text: "another secret")
        try await recorder.waitUntilStored(2, of: homeID, "both stored")
        try await client.removeServer(homeID)
        await client.close()
        await home.stop()

        // Each record as a log sink writes it: the message and every metadata value.
        let lines = handler.entries.map { entry in
            (entry.level, "\(entry.message) " + entry.metadata.keys.sorted().map { "\($0)=\(entry.metadata[$0]!)" }.joined(separator: " "))
        }
        let info = lines.filter { $0.0 >= .info }.map(\.1)
        for expected in ["server added", "authenticated", "server removed: partition destroyed"] {
            #expect(info.contains { $0.hasPrefix(expected) }, "\(expected) in \(info)")
        }
        for line in info {
            for secret in ["127.0.0.1", ":\(home.port)", signIn.sessionToken, "a secret payload", "another secret", "Home"] {
                #expect(!line.contains(secret), "\(line) reveals \(secret)")
            }
        }
        #expect(lines.contains { $0.0 == .debug && $0.1.contains("127.0.0.1") }, "the address is there for debugging")
    }

    @Test func diagnosticsNotificationsAndLowPowerMode() async throws {
        let directory = ScratchDirectory()
        let home = try await TestServer.start("Home")
        let client = try makeClient(directory.path)
        let recorder = await EventRecorder.recording(client)
        var notifications = await client.notifications().makeAsyncIterator()
        await client.start()
        let homeID = try await connect(home, to: client, recorder: recorder)

        await client.setLowPowerMode(true)
        try await client.send(Array("mine".utf8), to: "family", on: homeID)
        await home.host.post(from: "alice", to: "family", text: "for you")
        let notification = try #require(await notifications.next())
        #expect(notification.server == homeID && notification.serverName == "Home")
        #expect(notification.conversations.map(\.conversationID) == ["family"])
        #expect(notification.conversations[0].count == 1, "not the user's own")
        let identifier = notification.conversations[0].target.identifier
        #expect(await client.notificationTarget(for: identifier) == NotificationTarget(server: homeID, conversationID: "family"))

        let report = await client.diagnostics()
        #expect(report.servers.count == 1)
        let server = try #require(report.servers.first)
        #expect(server.server == homeID && server.connectionState == .connected && server.isLowPower)
        #expect(server.storage.map { $0.bytesOnDisk > 0 && $0.schemaVersion >= 1 } == true)
        #expect(!report.description.contains("127.0.0.1") && !report.description.contains("Home"))
        #expect(report.description.contains(homeID.hex))

        try await client.removeServer(homeID)
        #expect(await client.notificationTarget(for: identifier) == nil, "the server is gone")
        await client.close()
        await home.stop()
    }
}
