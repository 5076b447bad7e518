import Foundation
import NIOConcurrencyHelpers
import Outpost
import OutpostWire
import Testing

/// The runtime's own part over the client core, with a transport the test controls: no sockets,
/// no clock to wait on.
@Suite("The runtime over the client core")
struct RuntimeOverTheCoreTests {
    static let document = DiscoveryDocument(name: "Family", version: "1", websocketURL: "ws://127.0.0.1:9/ws",
                                            capabilities: ["idempotent-send", "history", "sequence"])

    /// Before, a connect that completed after its server was removed and added again was taken
    /// for the new session's connection, and the app died: "transport #1 opened twice".
    @Test func aSlowConnectRacingRemoveAndAddAgainIsClosedAndNeverTakenForTheNewOne() async throws {
        let directory = ScratchDirectory()
        let transport = GatedTransport()
        let client = try makeClient(directory.path) { $0.transport = transport }
        var connects = transport.connects.makeAsyncIterator()
        await client.start()
        let origin = try ServerOrigin(parsing: "http://127.0.0.1:9")
        let id = try await client.addServer(origin, document: Self.document, signIn: ServerSignIn(sessionToken: "t"))
        _ = await connects.next()  // its connect hangs

        try await client.removeServer(id)
        let again = try await client.addServer(origin, document: Self.document, signIn: ServerSignIn(sessionToken: "t"))
        #expect(again == id)
        _ = await connects.next()

        // The first connect completes only now, then the second.
        let stale = transport.complete(0)
        let fresh = transport.complete(1)
        #expect(await stale.closeCode() == 1000, "the removed server's runner closes it")
        let frame = try WireCodec.decodeClientEnvelope(await fresh.nextSent())
        guard case .authRequest(let request) = frame.frame else {
            Issue.record("the new connection did not authenticate first: \(frame)")
            return
        }
        #expect(request.username == "t")
        #expect(stale.sent.isEmpty, "nothing of the new session went to the old socket")
        #expect(await client.server(id)?.connectionState == .authenticating)
        await client.close()
    }

    /// Before, one partition that could not be opened made `OutpostClient.init` throw: no
    /// server worked, and there was no way to remove the broken one.
    @Test func aBrokenPartitionMakesOneServerUnavailableNotTheClient() async throws {
        let directory = ScratchDirectory()
        var ids: [ServerID] = []
        do {
            let client = try makeClient(directory.path)
            for port in [9, 10] {
                ids.append(try await client.addServer(try ServerOrigin(parsing: "http://127.0.0.1:\(port)"), document: Self.document,
                                                      signIn: ServerSignIn(sessionToken: "t")))
            }
            await client.close()
        }
        try Data("damaged".utf8).write(to: URL(fileURLWithPath: directory.path + "/servers/\(ids[0].hex)/keys.json"))

        let client = try makeClient(directory.path)
        let servers = await client.servers()
        #expect(servers.count == 2)
        let broken = try #require(servers.first { $0.id == ids[0] })
        guard case .unavailable(let reason) = broken.availability else {
            Issue.record("the broken server is listed as available")
            return
        }
        #expect(reason.contains("keys.json"), "the reason says what is wrong: \(reason)")
        #expect(servers.first { $0.id == ids[1] }?.availability == .available)
        let refused = await #expect(throws: OutpostError.self) { try await client.send([1], to: "family", on: ids[0]) }
        #expect(refused?.code == .serverUnavailable)
        try await client.send([1], to: "family", on: ids[1])

        try await client.removeServer(ids[0])
        #expect(await client.servers().map(\.id) == [ids[1]])
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/servers/\(ids[0].hex)"))
        await client.close()
    }

    /// Before, an oversized payload was refused as a storage error, a huge lifespan trapped and
    /// a sub-second one became zero.
    @Test func sendRefusesWithTheRightCodeAndTakesAnyLifespan() async throws {
        let directory = ScratchDirectory()
        let client = try makeClient(directory.path)
        let id = try await client.addServer(try ServerOrigin(parsing: "http://127.0.0.1:9"), document: Self.document,
                                            signIn: ServerSignIn(sessionToken: "t"))
        let tooLarge = await #expect(throws: OutpostError.self) {
            try await client.send(Array(repeating: 1, count: 65_001), to: "family", on: id)
        }
        #expect(tooLarge?.code == .payloadTooLarge)
        let forever = try await client.send([1], to: "family", on: id, lifespan: .seconds(Int64.max))
        #expect(forever.expiresAt == Timestamp(microseconds: .max))
        let brief = try await client.send([2], to: "family", on: id, lifespan: .milliseconds(1.5))
        #expect(brief.expiresAt.microseconds - brief.enqueuedAt.microseconds == 1_500)
        let none = await #expect(throws: OutpostError.self) { try await client.send([3], to: "family", on: id, lifespan: .zero) }
        #expect(none?.code == .invalidLifespan)
        #expect(try await client.outbox(on: id).count == 2)
        await client.close()
    }
}

/// A transport whose connects complete when the test says, with connections that record what
/// is sent on them.
final class GatedTransport: WebSocketTransport, Sendable {
    private let pending = NIOLockedValueBox<[CheckedContinuation<any WebSocketConnection, any Error>?]>([])
    /// One element per connect asked for.
    let connects: AsyncStream<Void>
    private let connectsContinuation: AsyncStream<Void>.Continuation

    init() {
        (connects, connectsContinuation) = AsyncStream.makeStream()
    }

    func connect(to url: String) async throws -> any WebSocketConnection {
        try await withCheckedThrowingContinuation { continuation in
            pending.withLockedValue { $0.append(continuation) }
            connectsContinuation.yield()
        }
    }

    /// Completes the `index`-th connect with a new connection.
    func complete(_ index: Int) -> RecordingConnection {
        let connection = RecordingConnection()
        let continuation = pending.withLockedValue { pending in
            defer { pending[index] = nil }
            return pending[index]
        }
        continuation?.resume(returning: connection)
        return connection
    }
}

/// A connection that keeps what is sent on it and runs until it is closed.
final class RecordingConnection: WebSocketConnection, Sendable {
    private struct State {
        var sent: [[UInt8]] = []
        var read = 0
        var closeCode: UInt16?
        var closeWaiters: [CheckedContinuation<UInt16?, Never>] = []
        var sendWaiter: CheckedContinuation<[UInt8], Never>?
    }

    private let state = NIOLockedValueBox(State())

    var sent: [[UInt8]] { state.withLockedValue { $0.sent } }

    func send(_ message: [UInt8]) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<[UInt8], Never>? in
            state.sent.append(message)
            guard let waiter = state.sendWaiter else { return nil }
            state.sendWaiter = nil
            state.read += 1
            return waiter
        }
        waiter?.resume(returning: message)
    }

    func close(code: UInt16) {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<UInt16?, Never>] in
            guard state.closeCode == nil else { return [] }
            state.closeCode = code
            defer { state.closeWaiters.removeAll() }
            return state.closeWaiters
        }
        for waiter in waiters { waiter.resume(returning: code) }
    }

    func run(onMessage: @escaping @Sendable ([UInt8]) async -> Void) async -> UInt16? {
        _ = await closeCode()
        return nil
    }

    /// Waits for the next message sent.
    func nextSent() async -> [UInt8] {
        await withCheckedContinuation { continuation in
            let ready = state.withLockedValue { state -> [UInt8]? in
                if state.read < state.sent.count {
                    state.read += 1
                    return state.sent[state.read - 1]
                }
                state.sendWaiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Waits until the connection is closed; its close code.
    func closeCode() async -> UInt16? {
        await withCheckedContinuation { continuation in
            let code = state.withLockedValue { state -> UInt16?? in
                if let code = state.closeCode { return .some(code) }
                state.closeWaiters.append(continuation)
                return nil
            }
            if let code { continuation.resume(returning: code) }
        }
    }
}
