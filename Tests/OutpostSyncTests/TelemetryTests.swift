import Foundation
@testable import OutpostClientCore
import OutpostSimulation
import OutpostStore
import OutpostWire
@testable import OutpostSync
import Testing

/// The client core's logs and metrics after a scripted session: a catch-up that opens and fills
/// a gap, redeliveries, a refused send, a storage failure, a dropped connection and a removal.
@Suite("Logs and metrics")
final class TelemetryTests {
    let logs = LogCapture()
    let metrics = MetricsCapture()
    let harness: SessionHarness
    let payloads: [String]

    init() throws {
        var session = ServerSession.Configuration()
        session.historyPageSize = 50
        session.foregroundHistoryPages = 1
        let (logger, metrics) = (logs.logger(), metrics)
        harness = try SessionHarness(server: .init(behaviour: .extended), configuration: session) { client in
            client.logger = logger
            client.metrics = metrics
        }
        let h = harness
        // 120 messages arrive while this device is away and its other device reads them: one
        // page at once, the rest a persisted gap filled in the background.
        h.peerPosts(120)
        h.server.acknowledgeEverything(for: "me")
        try h.enqueue("written offline")
        h.now = h.now.adding(microseconds: 10_000_000)
        h.connect()
        h.advance(by: 60_000_000)
        // Live messages, then the server pushes them all again.
        h.peerPosts(2)
        h.route(h.server.redeliver(to: "me", times: 1, limit: 2))
        h.pump()
        // A send the server refuses for good (not a member: 4001).
        try h.enqueue("to nowhere", conversation: "not-mine")
        // A write that fails: the connection closes, the session starts again from disk.
        h.store.faultInjector = .fail(atWrite: 1, with: .simulatedFailure(.io))
        h.peerPosts(1)
        h.store.faultInjector = nil
        h.advance(by: 5_000_000)
        // The network drops the connection; the core reconnects after its backoff.
        h.dropConnection()
        h.advance(by: 5_000_000)
        payloads = h.server.messages.map { String(decoding: $0.payload, as: UTF8.self) }
    }

    var server: String { "\(harness.core.id)" }
    var infoAndAbove: [LogCapture.Record] { logs.records.filter { $0.level >= .info } }

    func events(_ match: (OutpostEvent.Kind) -> Bool) -> Int { harness.events.filter(match).count }

    @Test func theCountersMatchWhatHappened() {
        #expect(harness.session.connectionState == .connected)
        #expect(metrics.counter("outpost_messages_stored_total", server: server) == Int64(harness.reportedStored.count))
        #expect(metrics.counter("outpost_messages_stored_total", server: server) == 124, "123 from peers, the user's own echo")
        // The two pushed again, and whatever the reconnects brought again.
        #expect(metrics.counter("outpost_duplicates_dropped_total", server: server) >= 2)
        #expect(metrics.counter("outpost_gaps_opened_total", server: server) == 1)
        #expect(metrics.counter("outpost_gaps_filled_total", server: server) == 1)
        let pages = harness.outputsLog.filter { output in
            guard case .send(_, let bytes) = output, let envelope = try? WireCodec.decodeClientEnvelope(bytes),
                  case .historyRequest = envelope.frame else { return false }
            return true
        }.count
        #expect(pages >= 3)
        #expect(metrics.counter("outpost_history_pages_total", server: server) == Int64(pages))
        #expect(metrics.counter("outpost_storage_errors_total", server: server) == 1)
        let attempts = events { if case .connectionStateChanged(.connecting) = $0 { true } else { false } }
        #expect(attempts >= 3, "the first connection, after the storage failure, after the drop")
        #expect(metrics.counter("outpost_reconnects_total", server: server) == Int64(attempts - 1))
    }

    @Test func theGaugesFollowTheConnectionAndTheOutbox() {
        #expect(metrics.gauge("outpost_connection_state", server: server).last == 3, "Connected")
        let depth = metrics.gauge("outpost_outbox_depth", server: server)
        #expect(depth.first == 1, "written offline")
        #expect(depth.last == 0)
        #expect(metrics.gauge("outpost_outbox_oldest_age_seconds", server: server).contains(10), "queued 10 s before connecting")
        // Another server's metrics are its own.
        #expect(metrics.counter("outpost_messages_stored_total", server: "someone-else") == 0)
    }

    @Test func theEventsAreLoggedWithTheServersIDAndReasons() {
        let messages = infoAndAbove.map(\.message)
        for expected in ["authenticated", "connection ended", "next attempt after backoff", "gap opened", "gap filled",
                         "caught up", "send refused"] {
            #expect(messages.contains(expected), "\(expected) in \(Set(messages).sorted())")
        }
        #expect(messages.contains { $0.hasPrefix("storage failure") })
        let refused = infoAndAbove.first { $0.message == "send refused" }
        #expect(refused?.metadata["error_code"] == "4001")
        let storageClose = infoAndAbove.first { $0.message == "connection ended" && $0.metadata["reason"] == "storage_failure" }
        #expect(storageClose == nil, "a storage failure is logged as such, the close it causes is the core's own")
        #expect(infoAndAbove.contains { $0.message == "connection ended" && $0.metadata["reason"] == "connection_lost" })
        #expect(infoAndAbove.allSatisfy { $0.metadata["server"] == .string(server) }, "every record names its server")
        #expect(infoAndAbove.contains { $0.metadata["connection"] != nil })

        var core = harness.core
        harness.perform(core.handle(.remove, now: harness.now))
        harness.core = core
        #expect(throws: Never.self) { try self.harness.client.removeServer(core.id) }
        #expect(logs.records.contains { $0.level == .info && $0.message == "server removed: partition destroyed" })
    }

    @Test func noTokenKeyPayloadOrAddressIsLoggedAtInfo() throws {
        var secrets = ["family.example", "wss://"] + payloads.filter { !$0.isEmpty }
        let token = try harness.partition.credentials().sessionToken ?? ""
        #expect(!token.isEmpty)
        secrets.append(token)
        let key = try harness.key.masterKey().withUnsafeBytes { Array($0) }
        secrets.append(key.map { String(format: "%02x", $0) }.joined())
        secrets.append(Data(key).base64EncodedString())
        #expect(infoAndAbove.count > 10)
        for record in infoAndAbove {
            for secret in secrets {
                #expect(!record.description.contains(secret), "\(record) reveals \(secret.prefix(12))…")
            }
        }
        // The detail stays available below `.info`.
        #expect(logs.records.contains { $0.level == .debug && $0.message.hasPrefix("connection ended: ") })
    }
}
