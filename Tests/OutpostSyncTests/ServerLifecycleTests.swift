import Foundation
@testable import OutpostClientCore
import OutpostSimulation
@testable import OutpostStore
import OutpostWire
import Testing
@testable import OutpostSync

/// Adding, removing and loading servers: nothing half done survives, one broken server holds up
/// no other, and a late callback of a connection never reaches the wrong session.
@Suite("Server lifecycle in the client core")
struct ServerLifecycleTests {
    static let origin = try! ServerOrigin(parsing: "family.example")
    static let config = ServerConfig(name: "Family", websocketURL: "wss://family.example/ws",
                                     capabilities: ["idempotent-send", "history", "sequence"])

    static func opened(_ outputs: [ServerOutput]) -> ConnectionHandle? {
        outputs.lazy.compactMap { if case .openConnection(let handle, _) = $0 { handle } else { nil } }.first
    }

    /// Before, connection ids restarted at 1 for every session and the runtime matched callbacks
    /// by (server, id): a slow connect of a removed server, completing after the server was
    /// added again, was taken for the new session's connection ("transport #1 opened twice").
    @Test func aLateConnectOfARemovedServerNeverReachesTheServerAddedAgain() throws {
        let harness = try SessionHarness(behaviour: .extended)
        var first = harness.core
        let slow = try #require(Self.opened(first.handle(.start(foreground: true, reachable: true), now: harness.now)))
        // The user removes the server and adds it again while that connect is still pending.
        _ = first.handle(.remove, now: harness.now)
        try harness.client.removeServer(first.id)
        let token = harness.server.issueToken(for: "me", now: harness.now, random: &harness.random)
        var second = try harness.client.addServer(Self.origin, config: Self.config,
                                                  signIn: ServerSignIn(sessionToken: token, userID: "me"), now: harness.now)
        #expect(second.id == first.id, "the same server, so the same id")
        let fresh = try #require(Self.opened(second.handle(.start(foreground: true, reachable: true), now: harness.now)))
        #expect(fresh != slow)
        // The old connect completes now: it is closed, and its frames and close are no news.
        #expect(second.handle(.connectionOpened(slow), now: harness.now) == [.closeConnection(slow, code: 1000)])
        #expect(second.handle(.received(slow, [1, 2, 3]), now: harness.now).isEmpty)
        #expect(second.handle(.connectionClosed(slow, code: 1006), now: harness.now).isEmpty)
        #expect(second.status.connectionState == .connecting)
        // The new connection is the one that authenticates.
        let authentication = second.handle(.connectionOpened(fresh), now: harness.now)
        #expect(authentication.contains { if case .send(fresh, _) = $0 { true } else { false } })
        #expect(second.status.connectionState == .authenticating)
    }

    /// A storage failure starts a new session in the same core: its connections are new too.
    @Test func aConnectionOfTheSessionBeforeAStorageFailureIsNoNewsAfterIt() throws {
        let harness = try SessionHarness(behaviour: .extended)
        harness.connect()
        let before = try #require(harness.openConnection)
        harness.store.faultInjector = .fail(atWrite: 1, with: .simulatedFailure(.io))
        harness.peerPosts(1)
        harness.store.faultInjector = nil
        harness.advance(by: 2_000_000)
        let after = try #require(harness.openConnection)
        #expect(after != before)
        #expect(harness.core.handle(.received(before, [0]), now: harness.now).isEmpty)
        #expect(harness.core.handle(.connectionOpened(before), now: harness.now) == [.closeConnection(before, code: 1000)])
    }

    /// Before, the configuration and token were written after the server was listed: killed
    /// in between, the server was a zombie nobody could use, add again or remove.
    @Test func aServerIsAddedWhollyOrNotAtAllWhereverTheProcessDies() throws {
        var k = 1
        var crashes = 0
        while true {
            let scratch = Scratch()
            let store = try Store.open(at: scratch.path, keyProvider: InMemoryKeyProvider.fixed)
            store.faultInjector = .crash(atWrite: k)
            let setup = ServerSetup(origin: Self.origin, config: Self.config, sessionToken: "token", ownUserID: "me")
            let crashed: Bool
            do {
                _ = try store.addServer(setup, now: .seconds(1))
                crashed = false
            } catch {
                #expect(error.code == .simulatedCrash)
                crashed = true
            }
            store.close()
            // Relaunch: the server is there with everything, or not at all and can be added.
            let client = try ClientCore(directory: scratch.path, keyProvider: InMemoryKeyProvider.fixed, seed: 1)
            let cores = client.loadServers(now: .seconds(2))
            #expect(client.unavailableServers.isEmpty, "crash at write \(k): \(client.unavailableServers)")
            if let core = cores.first {
                #expect(core.config == Self.config)
                #expect(try core.partition.credentials().sessionToken == "token")
            } else {
                #expect(crashed)
                _ = try client.addServer(Self.origin, config: Self.config, signIn: ServerSignIn(sessionToken: "token"), now: .seconds(3))
                #expect(client.loadServers(now: .seconds(4)).count == 1)
            }
            client.close()
            guard crashed else { break }
            crashes += 1
            k += 1
        }
        #expect(crashes >= 4, "every step of adding was tried")
    }

    /// A failed addition (the process lives) is rolled back at once, not at the next launch.
    @Test func aFailedAdditionLeavesNothingAndCanBeTriedAgain() throws {
        let scratch = Scratch()
        let client = try ClientCore(directory: scratch.path, keyProvider: InMemoryKeyProvider.fixed, seed: 1)
        for k in 1...4 {
            client.store.faultInjector = .fail(atWrite: k, with: .simulatedFailure(.diskFull))
            let result = Result { () throws(OutpostError) in
                try client.addServer(Self.origin, config: Self.config, signIn: ServerSignIn(sessionToken: "t"), now: .seconds(1))
            }
            client.store.faultInjector = nil
            if case .success(let core) = result {
                _ = core
                break
            }
            #expect(client.store.servers().isEmpty, "failure at write \(k)")
            #expect((try? FileManager.default.contentsOfDirectory(atPath: scratch.path + "/servers")) == [])
        }
        // Whatever failed before, it can be added now.
        if client.store.servers().isEmpty {
            _ = try client.addServer(Self.origin, config: Self.config, signIn: ServerSignIn(sessionToken: "t"), now: .seconds(2))
        }
        #expect(client.loadServers(now: .seconds(3)).count == 1)
    }

    /// A removal whose write fails (a full disk) leaves the server listed, as unavailable with
    /// the reason, and asking again finishes it, wherever it stopped.
    @Test func aRemovalThatFailsIsListedAndFinishesWhenAskedAgain() throws {
        for k in 1...4 {
            let harness = try SessionHarness(behaviour: .extended)
            let id = harness.core.id
            _ = harness.core.handle(.remove, now: harness.now)
            harness.store.faultInjector = .fail(atWrite: k, with: .simulatedFailure(.diskFull))
            #expect(throws: OutpostError.self) { try harness.client.removeServer(id) }
            harness.store.faultInjector = nil
            #expect(harness.client.unavailableServers.map(\.id) == (harness.store.servers().isEmpty ? [] : [id]), "failure at write \(k)")
            try harness.client.removeServer(id)
            #expect(harness.client.unavailableServers.isEmpty)
            #expect(harness.store.servers().isEmpty)
            #expect(!FileManager.default.fileExists(atPath: harness.store.path + "/servers/\(id.hex)"))
        }
    }

    /// Before, one unopenable partition made the whole client fail to open.
    @Test(arguments: ["keys.json", "messages.db"])
    func aServerWhosePartitionCannotBeOpenedIsUnavailableAndRemovable(damaged file: String) throws {
        let scratch = Scratch()
        var ids: [ServerID] = []
        do {
            let client = try ClientCore(directory: scratch.path, keyProvider: InMemoryKeyProvider.fixed, seed: 1)
            for host in ["a.example", "b.example", "c.example"] {
                ids.append(try client.addServer(ServerOrigin(parsing: host), config: Self.config,
                                                signIn: ServerSignIn(sessionToken: "t"), now: .seconds(1)).id)
            }
            client.close()
        }
        let broken = ids[1]
        try Data("damaged".utf8).write(to: URL(fileURLWithPath: scratch.path + "/servers/\(broken.hex)/\(file)"))

        let client = try ClientCore(directory: scratch.path, keyProvider: InMemoryKeyProvider.fixed, seed: 1)
        let cores = client.loadServers(now: .seconds(2))
        #expect(cores.map(\.id).sorted() == [ids[0], ids[2]].sorted(), "the others load")
        let unavailable = try #require(client.unavailableServers.first)
        #expect(unavailable.id == broken)
        guard case .unavailable(let reason) = unavailable.availability else {
            Issue.record("listed as available")
            return
        }
        #expect(!reason.isEmpty)
        #expect(try client.conversations().isEmpty, "the unified list skips it")
        try client.removeServer(broken)
        #expect(client.unavailableServers.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/servers/\(broken.hex)"))
        #expect(client.store.servers().map(\.id).sorted() == [ids[0], ids[2]].sorted())
    }
}

/// A scratch data directory, removed when the test ends.
final class Scratch {
    let path: String

    init() {
        var template = Array((NSTemporaryDirectory() + "outpost-core-XXXXXX").utf8CString)
        path = String(cString: template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!)! }) + "/data"
    }

    deinit { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
}

extension InMemoryKeyProvider {
    /// The same key every time, so that a test can reopen a directory.
    static var fixed: RawKeyProvider { try! RawKeyProvider(rawKey: [UInt8](repeating: 9, count: 32)) }

    /// Upstream drops the user's push registration when any of their connections closes, so a
    /// close arriving after a new login leaves that login deaf. A new connection therefore waits
    /// for the old close (at most `closeWait`); when the close could not be confirmed, the core
    /// logs in again at each of `loginRefreshes` after that login, and then stops.
    @Test func anUnconfirmedCloseHoldsTheLoginBackThenTheCoreLogsInAgainOnSchedule() throws {
        let harness = try SessionHarness(behaviour: .upstream)
        var logins: [Timestamp] = []
        harness.onSend = { [unowned harness] envelope in
            if case .authRequest = envelope.frame { logins.append(harness.now) }
        }
        harness.connect()
        #expect(logins.count == 1)
        harness.confirmsCloses = false
        harness.handle(.reconnect)
        harness.pump()
        #expect(logins.count == 1, "the new connection waits for the old one's close")
        harness.advance(by: ServerCore.Configuration().closeWait - 1)
        #expect(logins.count == 1)
        harness.advance(by: 1)
        #expect(logins.count == 2, "it gives up waiting after closeWait")
        let loggedIn = harness.now
        harness.confirmsCloses = true
        harness.advance(by: Micros.seconds(3_600))
        let refreshes = logins.dropFirst(2).map { $0.microseconds - loggedIn.microseconds }
        #expect(refreshes == [Micros.seconds(60), Micros.seconds(300), Micros.seconds(900)])
        #expect(harness.session.connectionState == .connected)
    }
}
