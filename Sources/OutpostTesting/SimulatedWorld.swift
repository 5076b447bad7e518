import Foundation
@_spi(Simulation) import OutpostClientCore
@_spi(Simulation) import OutpostSimulation
import OutpostStore
import OutpostSync

/// A deterministic world for an app's own tests: the app's client (``client``, the same
/// `OutpostClientProtocol` surface as `OutpostClient`, over the same client core and the real
/// encrypted store), simulated Sovereign servers of every behaviour, a simulated network and app
/// lifecycle, and virtual time.
///
/// Nothing happens until the test moves time: ``advance(by:)``, ``runUntilIdle(limit:)``, or
/// awaiting one of the client's streams, which runs the world until the stream has something
/// to deliver. No socket, no wall clock, no sleep: a simulated day of a few servers takes a
/// fraction of a second, and a seed gives the same run, and the same ``traceHash``, every time.
///
/// ```swift
/// @Test @MainActor func unsentMessagesSurviveARelaunch() async throws {
///     let world = try SimulatedWorld(seed: 7)
///     let home = try world.addServer(.extended, host: "home.example", conversations: ["family"])
///     try world.runUntilIdle()
///     world.pullPlug()
///     try await world.client.send(Array("hi".utf8), to: "family", on: home)
///     world.killApp()
///     world.plugIn()
///     try world.runUntilIdle()
///     #expect(await world.client.servers().map(\.pendingOutboxCount) == [0])
///     try world.check()
/// }
/// ```
@MainActor
public final class SimulatedWorld {
    /// Per simulated server, how it speaks the protocol.
    public typealias Behaviour = ServerBehaviour

    /// The seed every random choice of the world comes from.
    public let seed: UInt64
    let simulation: Simulation
    private let directory: String
    private let subscriptions = Subscriptions()
    private weak var currentClient: SimulatedClient?
    /// `Suite.test` of the test that made the world: what `swift test --filter` takes.
    private let testName: String

    /// Makes a world with the app launched and no server yet.
    ///
    /// - Parameters:
    ///   - seed: every random choice (latency draws, server tokens, message ids) comes from it.
    ///   - latency: each way, between the device and every server.
    ///   - fileID, function: where the world is made; with the running Swift Testing test, they
    ///     name the test in the line that reproduces a failure.
    public convenience init(seed: UInt64 = 1, latency: Duration = .milliseconds(30), fileID: String = #fileID,
                            function: String = #function) throws {
        try self.init(seed: seed, latency: latency, deliberateBug: nil, fileID: fileID, function: function)
    }

    /// A world whose client has `deliberateBug`: for proving that a check catches it.
    @_spi(Simulation)
    public init(seed: UInt64 = 1, latency: Duration = .milliseconds(30), deliberateBug: DeliberateBug?,
                fileID: String = #fileID, function: String = #function) throws {
        self.seed = seed
        testName = Self.testName(fileID: fileID, function: function)
        var template = Array((NSTemporaryDirectory() + "/outpost-world-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw OutpostError(.storage, "cannot create a scratch directory in \(NSTemporaryDirectory())")
        }
        directory = String(cString: made)
        simulation = Simulation.interactive(seed: seed, workDirectory: directory, latencyMilliseconds: Micros.of(latency) / 1_000,
                                            deliberateBug: deliberateBug)
        simulation.frontEnd = FrontEndHooks(
            event: { [unowned self] in subscriptions.publish($0) },
            notification: { [unowned self] in subscriptions.publish($0) },
            conversationsChanged: { [unowned self] in subscriptions.conversationsChanged() })
        try simulation.begin()
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The running app's client. After ``killApp(relaunchAfter:)`` and a relaunch this is a new
    /// client, as it is in an app; the old one is closed and its streams have ended.
    public var client: SimulatedClient {
        let incarnation = simulation.runningIncarnation ?? 0
        if let currentClient, currentClient.incarnation == incarnation { return currentClient }
        let client = SimulatedClient(world: self, incarnation: incarnation)
        currentClient = client
        return client
    }

    /// Virtual time since the world began.
    public var elapsed: Duration { .microseconds(simulation.currentTime.microseconds) }

    /// The virtual clock, as the client core reads it.
    public var now: Timestamp { simulation.currentTime }

    /// A hash of everything that happened: two runs with one seed and the same calls have the
    /// same hash.
    public var traceHash: UInt64 { simulation.traceHash }

    // MARK: Time

    /// Runs the world for `duration` of virtual time.
    public func advance(by duration: Duration) {
        simulation.run(until: now.adding(microseconds: Micros.of(duration)))
    }

    /// Runs the world until nothing is under way that would go on without a call: no frame in
    /// flight, no fault waiting to end, no relaunch pending, every reachable server connected,
    /// caught up and with its outbox sent (or waiting for the user to sign in again).
    ///
    /// - Throws: ``WorldError`` when the world is still busy after `limit` of virtual time
    ///   (a server that never connects, an outbox that never drains), saying what it is busy with.
    public func runUntilIdle(limit: Duration = .seconds(3_600)) throws(WorldError) {
        let deadline = now.adding(microseconds: Micros.of(limit))
        while !simulation.isIdle {
            guard let next = simulation.nextEventTime, next <= deadline else {
                throw WorldError("not idle after \(limit) of virtual time: \(simulation.busyReason)")
            }
            _ = simulation.step()
        }
    }

    /// Runs the world one event at a time until `condition` holds, the world is idle, or
    /// `limit` of virtual time passed; returns whether `condition` holds.
    func run(until condition: () -> Bool, limit: Duration = .seconds(86_400)) -> Bool {
        let deadline = now.adding(microseconds: Micros.of(limit))
        while !condition() {
            guard !simulation.isIdle, let next = simulation.nextEventTime, next <= deadline, simulation.step() else {
                return condition()
            }
        }
        return true
    }

    // MARK: Servers and people

    /// Adds a simulated server, signs the user in, and starts syncing it.
    ///
    /// - Parameters:
    ///   - behaviour: `.legacy` (pending push only), `.extended` (`idempotent-send`, `history`,
    ///     `sequence`) or `.upstream` (the real Sovereign server's behaviour).
    ///   - host: its host name; `ServerInfo.name` is this.
    ///   - conversations: its conversations, each with the user and every peer.
    ///   - peers: the other people on it (`post(_:in:on:from:)` writes as one of them).
    /// - Returns: the server's id, as the app's client knows it.
    @discardableResult
    public func addServer(_ behaviour: Behaviour, host: String, conversations: [String] = ["general"],
                          peers: [String] = ["alice"]) throws(OutpostError) -> ServerID {
        let index = try simulation.addServer(.init(behaviour: behaviour), host: host, conversations: conversations, peers: peers)
        let id = simulation.serverCore(at: index)!.id
        subscriptions.publish(OutpostEvent(server: id, kind: .serverAdded))
        subscriptions.conversationsChanged()
        return id
    }

    /// Someone else writes `text` into a conversation (as `sender`, or its first peer).
    public func post(_ text: String, in conversationID: String, on server: ServerID, from sender: String? = nil) {
        simulation.post(Array(text.utf8), in: conversationID, on: index(of: server), from: sender)
    }

    /// What `server` stored, in its order: the server's truth, to compare with what the app shows.
    public func serverMessages(on server: ServerID, in conversationID: String) -> [String] {
        simulation.server(at: index(of: server)).messages
            .filter { $0.conversationID == conversationID }
            .map { String(decoding: $0.payload, as: UTF8.self) }
    }

    // MARK: The device and the app

    /// The device loses its network (a pulled plug, airplane mode): every connection resets.
    public func pullPlug() { simulation.setReachable(false) }

    /// The device has its network again.
    public func plugIn() { simulation.setReachable(true) }

    /// The app is killed: memory is gone, the data directory stays. It is launched again on
    /// the same data after `relaunchAfter` of virtual time, or by ``relaunch()`` when `nil`.
    public func killApp(relaunchAfter: Duration? = .seconds(5)) {
        simulation.killApp(relaunchAfter: relaunchAfter.map(Micros.of))
    }

    /// Launches the killed app again on the same data.
    public func relaunch() { simulation.relaunch() }

    /// Whether the app is running.
    public var isAppRunning: Bool { simulation.runningIncarnation != nil }

    // MARK: Faults

    /// Every connection to `servers` (all when `nil`) drops at once.
    public func dropConnections(on servers: [ServerID]? = nil) { inject(.reset, on: servers) }

    /// Frames to and from `servers` vanish for `duration`; nothing closes.
    public func blackHole(_ servers: [ServerID]? = nil, for duration: Duration) { inject(.blackhole, on: servers, for: duration) }

    /// `servers` cannot be reached for `duration`: connections reset, new ones never open.
    public func partition(_ servers: [ServerID]? = nil, for duration: Duration) { inject(.partition, on: servers, for: duration) }

    /// The link to `servers` goes down and up `times` times, each half lasting `every`.
    public func flap(_ servers: [ServerID]? = nil, times: Int, every: Duration) {
        inject(.flap, on: servers, for: every, count: times)
    }

    /// The app is in the background for `duration` (the OS closes its sockets after 10 s).
    public func background(for duration: Duration) { inject(.background, for: duration) }

    /// `servers` restart: every connection drops and what they buffered for pushes is gone.
    public func restartServer(_ servers: [ServerID]? = nil) { inject(.serverRestart, on: servers) }

    /// `servers`' clocks step by `seconds` (negative: backwards).
    public func stepClock(on servers: [ServerID]? = nil, by seconds: Int64) { inject(.clockStep, on: servers, amount: seconds) }

    /// `servers` end the user's sessions: the next login is refused until a new token comes.
    public func expireSession(on servers: [ServerID]? = nil) { inject(.sessionExpiry, on: servers) }

    /// `servers` allow one request a second for `duration`.
    public func rateLimit(_ servers: [ServerID]? = nil, for duration: Duration) { inject(.rateLimit, on: servers, for: duration) }

    /// The store refuses `count` writes from the `atWrite`-th on, with `error` (`disk_full`,
    /// `busy` or `io_error`), while the app lives.
    public func failStorage(atWrite: Int64 = 1, count: Int = 1, error: String = "disk_full") {
        inject(.storageFailure, amount: atWrite, count: count, error: error)
    }

    /// The app dies at its `write`-th write to the store from now (a crash in the middle of a commit).
    public func crashAtWrite(_ write: Int64) { inject(.killAtWrite, amount: write) }

    /// The app is killed now, and killed again at the `write`-th write of its relaunch.
    public func crashDuringRelaunch(atWrite write: Int64) { inject(.killDuringRelaunch, amount: write) }

    /// Any fault of the scenario format, now: the same kinds and fields as a scenario file's
    /// `faults` (see `Scenario.FaultKind`).
    public func inject(_ kind: Scenario.FaultKind, on servers: [ServerID]? = nil, for duration: Duration? = nil,
                       amount: Int64? = nil, count: Int? = nil, error: String? = nil) {
        let indices = servers.map { $0.map(index(of:)) }
        simulation.inject(Scenario.Fault(atSeconds: 0, kind: kind, servers: indices,
                                         durationSeconds: duration.map { Double(Micros.of($0)) / 1_000_000 },
                                         amount: amount, count: count, error: error))
    }

    // MARK: Checking

    /// The simulator's checker, as an assertion: every fault heals, the client gets
    /// `liveness` of virtual time to converge, then nothing may be lost, duplicated,
    /// reordered or unseen, every outbox item sent, every session connected and caught up,
    /// every message notified once. Call it at the end of a test.
    ///
    /// - Throws: ``WorldCheckFailure``, listing what went wrong and the line that reproduces it.
    public func check(liveness: Duration = .seconds(600)) throws(WorldCheckFailure) {
        let violations = simulation.healAndCheck(livenessSeconds: Micros.of(liveness) / 1_000_000)
        guard violations.isEmpty else {
            throw WorldCheckFailure(violations: violations, seed: seed, traceHash: traceHash, test: testName)
        }
    }

    /// An expectation of the test's own (a view model's state …) that fails the way
    /// ``check(liveness:)`` does: with what was expected, what there was, and the line that
    /// reproduces the world.
    ///
    /// - Throws: ``WorldCheckFailure`` when `actual` is not `expected`.
    public func expect<Value: Equatable>(_ actual: Value, _ expected: Value, _ what: @autoclosure () -> String,
                                         fileID: String = #fileID, line: Int = #line) throws(WorldCheckFailure) {
        guard actual != expected else { return }
        let at = "at \(elapsed) of virtual time (\(fileID):\(line))"
        throw WorldCheckFailure(violations: ["\(what()): expected \(expected), got \(actual), \(at)"], seed: seed,
                                traceHash: traceHash, test: testName)
    }

    /// Runs a scenario file (a path, or the name of one of the simulator's scenarios) with
    /// `seed` and checks it.
    ///
    /// - Throws: ``WorldCheckFailure`` with the `outpost-sim` line that reproduces it.
    @discardableResult
    public static func runScenario(_ nameOrPath: String, seed: UInt64) throws -> SimulationResult {
        let scenario = try ScenarioLibrary.load(nameOrPath)
        var template = Array((NSTemporaryDirectory() + "/outpost-world-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw OutpostError(.storage, "cannot create a scratch directory") }
        let directory = String(cString: made)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = Simulation(scenario: scenario, options: .init(seed: seed, workDirectory: directory)).run()
        guard result.passed else {
            throw WorldCheckFailure(violations: result.violations, seed: seed, traceHash: result.traceHash,
                                    repro: "outpost-sim run \(nameOrPath) --seed \(seed)")
        }
        return result
    }

    // MARK: For the client

    func index(of server: ServerID) -> Int {
        guard let index = simulation.serverIndex(of: server) else {
            preconditionFailure("\(server) is not a server of this world; add it with addServer(_:host:)")
        }
        return index
    }

    func subscribe(_ kind: Subscriptions.Kind, incarnation: UInt64, initial: Subscriptions.Value? = nil) -> Int {
        subscriptions.add(kind, incarnation: incarnation, initial: initial)
    }

    /// The next value of subscription `key`, running the world until there is one; `nil` once
    /// the app that opened it died, or when the world is idle with nothing more for it (a real
    /// stream would wait for ever; in a test that is the end).
    func next(_ key: Int) -> Subscriptions.Value? {
        let ready = run { subscriptions.isReady(key, running: simulation.runningIncarnation) }
        guard ready, subscriptions.isAlive(key, running: simulation.runningIncarnation), let value = subscriptions.take(key) else {
            subscriptions.remove(key)
            return nil
        }
        return value
    }

    /// Server removed by the app: what `OutpostClient` tells its streams.
    func serverRemoved(_ id: ServerID) {
        subscriptions.publish(OutpostEvent(server: id, kind: .connectionStateChanged(.disconnected)))
        subscriptions.publish(OutpostEvent(server: id, kind: .serverRemoved))
        subscriptions.conversationsChanged()
    }

    /// `File.test`: the running Swift Testing test's name when there is one (the world may be
    /// made in a helper), else the function that made the world (an XCTest method).
    private static func testName(fileID: String, function: String) -> String {
        var function = function
        #if canImport(Testing)
        if let test = Test.current { function = test.name }
        #endif
        let file = fileID.split(separator: "/").last.map { String($0.dropLast(".swift".count)) } ?? fileID
        let name = function.split(separator: "(").first.map(String.init) ?? function
        return "\(file).\(name)"
    }
}

/// The world could not do what a test asked (it never became idle …).
public struct WorldError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The checker found something wrong at the end of a test.
public struct WorldCheckFailure: Error, CustomStringConvertible, Sendable {
    /// What went wrong, one line each, as the simulator's checker words them.
    public let violations: [String]
    public let seed: UInt64
    public let traceHash: UInt64
    /// The command that runs the same world again.
    public let repro: String

    init(violations: [String], seed: UInt64, traceHash: UInt64, test: String) {
        self.init(violations: violations, seed: seed, traceHash: traceHash,
                  repro: "swift test --filter '\(test)'  (world seed \(seed), trace \(String(traceHash, radix: 16)))")
    }

    init(violations: [String], seed: UInt64, traceHash: UInt64, repro: String) {
        self.violations = violations
        self.seed = seed
        self.traceHash = traceHash
        self.repro = repro
    }

    public var description: String {
        let shown = violations.prefix(20).map { "  - " + $0 }
        let more = violations.count > 20 ? ["  … and \(violations.count - 20) more"] : []
        return (["the simulated world found \(violations.count) problem(s):"] + shown + more
            + ["reproduce: \(repro)"]).joined(separator: "\n")
    }
}

#if canImport(Testing)
import Testing
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
