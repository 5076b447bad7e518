// outpost-bench: measures the bar of DESIGN §5, each figure as a ratio to its bar (or to its
// baseline measured in the same run). Build in release mode:
//
//     swift run -c release outpost-bench            # the full run (a few minutes)
//     swift run -c release outpost-bench --quick    # a few seconds: catches a benchmark that broke
//     swift run -c release outpost-bench --only ingest [--ingest-messages 20000]   # one section
import Foundation
import NIOConcurrencyHelpers
import Outpost
import OutpostLoopbackServer
@_spi(Benchmarks) import OutpostStore
import OutpostSimulation
import OutpostSync
import OutpostWire

let quick = CommandLine.arguments.contains("--quick")
/// The value after `flag` on the command line, if any.
func argument(after flag: String) -> String? {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: flag), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}
/// `--only <section>` runs one section (memory, ingest, enqueue, cold-open, unified, isolation,
/// simulator).
let onlySection = argument(after: "--only")
func runs(_ section: String) -> Bool { onlySection == nil || onlySection == section }
let scratchRoot = NSTemporaryDirectory() + "outpost-bench-\(ProcessInfo.processInfo.processIdentifier)"
defer { try? FileManager.default.removeItem(atPath: scratchRoot) }
var scratchCounter = 0
@MainActor func scratch() -> String {
    scratchCounter += 1
    return scratchRoot + "/\(scratchCounter)"
}

let clock = ContinuousClock()
@MainActor func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}
@MainActor func time(_ body: () throws -> Void) rethrows -> Double {
    let start = clock.now
    try body()
    return seconds(clock.now - start)
}

struct Row {
    let name: String
    let figure: String
    let bar: String
    let ratio: Double   // ≥ 1 meets the bar
}
var rows: [Row] = []
@MainActor func report(_ name: String, _ figure: String, bar: String, ratio: Double) {
    rows.append(Row(name: name, figure: figure, bar: bar, ratio: ratio))
    print("\(name): \(figure)  (bar: \(bar); ratio to bar \(String(format: "%.2f", ratio))\(ratio >= 1 ? "" : " — MISSES"))")
}

var now = Timestamp.seconds(1_800_000_000)
@MainActor func tick() -> Timestamp {
    now = now.adding(microseconds: 1)
    return now
}
/// 200 bytes standing in for a ciphertext, different for every message as real ciphertexts
/// are (repeating payloads would be dropped as content duplicates and flatter the figures).
@MainActor func payload(_ number: Int) -> [UInt8] {
    var bytes = Array(repeating: UInt8(number & 0xFF), count: 200)
    withUnsafeBytes(of: UInt64(number).littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
    return bytes
}
@MainActor func messages(_ count: Int, offset: Int, conversations: Int = 20) -> [Message] {
    (0..<count).map { index in
        let number = offset + index
        return Message(messageID: String(format: "%016X", number), conversationID: "c\(number % conversations)",
                       senderID: "peer-\(number % 7)", serverTimestamp: .seconds(1_700_000_000 + Int64(number)),
                       sequence: UInt64(number + 1), payload: payload(number))
    }
}

// MARK: Memory (first, while the process is small)

@MainActor func residentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kilobytes / 1_024
}

if runs("memory") {
    let servers = quick ? 60 : 1_000
    let store = try Store.open(at: scratch(), keyProvider: InMemoryKeyProvider(), options: .init(partitionPoolCapacity: 32))
    let partitions = try store.addServers((0..<servers).map { try ServerOrigin(parsing: "m\($0).example") }, now: tick())
    var atTenth = 0.0
    for (index, partition) in partitions.enumerated() {
        _ = try partition.storeInbound(messages(20, offset: index * 20), now: tick())
        if index == servers / 10 { atTenth = residentMegabytes() }
    }
    let atEnd = residentMegabytes()
    report("Memory with \(servers) partitions (pool of 32)", String(format: "%.0f MB after %d, %.0f MB after %d (%.2f×)", atTenth, servers / 10, atEnd, servers, atEnd / atTenth),
           bar: "bounded by the pool: ≤ 1.5× from \(servers / 10) to \(servers)", ratio: 1.5 / (atEnd / atTenth))
    store.close()
}

// MARK: Ingest

/// Messages per second through `Partition.storeInbound`, in batches of `batch`.
@MainActor func ingestRate(keying: DatabaseKeying, total: Int, batch: Int) throws -> Double {
    var options = Store.Options()
    options.keying = keying
    let store = try Store.open(at: scratch(), keyProvider: InMemoryKeyProvider(), options: options)
    defer { store.close() }
    let partition = try store.addServer(ServerOrigin(parsing: "ingest.example"), now: tick())
    // Built before the clock starts: formatting 200,000 ids is the benchmark's work, not the store's.
    let batches = stride(from: 0, to: total, by: batch).map { messages(min(batch, total - $0), offset: $0) }
    var stored = 0
    let elapsed = try time {
        for messages in batches {
            let outcomes = try partition.storeInbound(messages, now: tick())
            stored += outcomes.count { $0 == .stored }
        }
    }
    guard stored == total else { throw IngestDeduplicated(stored: stored, total: total) }
    return Double(total) / elapsed
}

if runs("ingest") {
    let ingestTotal = argument(after: "--ingest-messages").flatMap { Int($0) } ?? (quick ? 2_000 : 200_000)
    let encrypted = try ingestRate(keying: .rawKey, total: ingestTotal, batch: 500)
    let plain = try ingestRate(keying: .none, total: ingestTotal, batch: 500)
    report("Encrypted vs plain ingest", String(format: "%.0f vs %.0f msg/s = %.2f", encrypted, plain, encrypted / plain),
           bar: "≥ 0.75 of plain", ratio: (encrypted / plain) / 0.75)
    report("Batched catch-up ingest into one partition", String(format: "%.0f msg/s", encrypted),
           bar: "≥ 100,000 msg/s", ratio: encrypted / 100_000)
}

// MARK: Durable enqueue

if runs("enqueue") {
    let store = try Store.open(at: scratch(), keyProvider: InMemoryKeyProvider())
    let partition = try store.addServer(ServerOrigin(parsing: "enqueue.example"), now: tick())
    var latencies: [Double] = []
    for index in 0..<(quick ? 200 : 5_000) {
        let start = clock.now
        try partition.enqueue(conversationID: "c\(index % 10)", messageType: "text", payload: Array(repeating: 1, count: 300),
                              clientMessageID: "cm-\(index)", now: tick())
        latencies.append(seconds(clock.now - start))
    }
    latencies.sort()
    let p50 = latencies[latencies.count / 2] * 1_000, p99 = latencies[latencies.count * 99 / 100] * 1_000
    report("Durable enqueue latency", String(format: "p50 %.3f ms, p99 %.3f ms", p50, p99), bar: "p99 < 1 ms", ratio: 1 / p99)
    store.close()
}

// MARK: Cold open

/// A data directory with `servers` partitions of `conversations` conversations each.
@MainActor func populatedDirectory(servers: Int, conversations: Int, keying: DatabaseKeying) throws -> String {
    let path = scratch()
    var options = Store.Options(partitionPoolCapacity: 8)
    options.keying = keying
    let store = try Store.open(at: path, keyProvider: RawKeyProvider(rawKey: [UInt8](repeating: 7, count: 32)), options: options)
    let partitions = try store.addServers((0..<servers).map { try ServerOrigin(parsing: "s\($0).example") }, now: tick())
    for partition in partitions {
        _ = try partition.storeInbound(messages(conversations, offset: 0, conversations: conversations), now: tick())
    }
    store.close()
    return path
}

@MainActor func coldOpen(_ path: String, keying: DatabaseKeying, servers: Int) throws -> Double {
    try time {
        var options = Store.Options(partitionPoolCapacity: servers)
        options.keying = keying
        let store = try Store.open(at: path, keyProvider: RawKeyProvider(rawKey: [UInt8](repeating: 7, count: 32)), options: options)
        _ = try store.unifiedConversations(limit: 50)
        store.close()
    }
}

if runs("cold-open") {
    let servers = quick ? 5 : 100
    let raw = try populatedDirectory(servers: servers, conversations: 100, keying: .rawKey)
    let kdf = try populatedDirectory(servers: servers, conversations: 100, keying: .passphraseKDF)
    let rawTime = try coldOpen(raw, keying: .rawKey, servers: servers)
    let kdfTime = try coldOpen(kdf, keying: .passphraseKDF, servers: servers)
    report("Cold open of \(servers) partitions + first unified list", String(format: "%.1f ms (passphrase KDF: %.0f ms, %.0f× slower)", rawTime * 1_000, kdfTime * 1_000, kdfTime / rawTime),
           bar: "< 150 ms and ≥ 20× faster than the KDF", ratio: min(0.150 / rawTime, (kdfTime / rawTime) / 20))
}

// MARK: Unified list, warm

if runs("unified") {
    let servers = quick ? 50 : 1_000
    let path = try populatedDirectory(servers: servers, conversations: 10, keying: .rawKey)
    let store = try Store.open(at: path, keyProvider: RawKeyProvider(rawKey: [UInt8](repeating: 7, count: 32)))
    _ = try store.unifiedConversations(limit: 50)  // cold: fills the per-server cache
    let rounds = 200
    let elapsed = try time {
        for _ in 0..<rounds { _ = try store.unifiedConversations(limit: 50) }
    }
    let perCall = elapsed / Double(rounds) * 1_000
    report("Unified top 50 across \(servers) servers, warm", String(format: "%.3f ms", perCall), bar: "< 5 ms", ratio: 5 / perCall)
    store.close()
}

// MARK: Isolation: one server's catch-up against another server's sends

/// Notes when each `MESSAGE_SEND` (by client message id) is handed to its socket.
final class TimingTransport: WebSocketTransport {
    let inner = NIOWebSocketTransport()
    let stamps = NIOLockedValueBox<[String: ContinuousClock.Instant]>([:])

    func connect(to url: String) async throws -> any WebSocketConnection {
        TimingConnection(inner: try await inner.connect(to: url), stamps: stamps)
    }
}

final class TimingConnection: WebSocketConnection {
    let inner: any WebSocketConnection
    let stamps: NIOLockedValueBox<[String: ContinuousClock.Instant]>

    init(inner: any WebSocketConnection, stamps: NIOLockedValueBox<[String: ContinuousClock.Instant]>) {
        self.inner = inner
        self.stamps = stamps
    }

    func send(_ message: [UInt8]) {
        if let envelope = try? WireCodec.decodeClientEnvelope(message), case .messageSend(let send) = envelope.frame {
            let now = ContinuousClock.now
            stamps.withLockedValue { $0[send.clientMessageID] = now }
        }
        inner.send(message)
    }

    func close(code: UInt16) { inner.close(code: code) }

    func run(onMessage: @escaping @Sendable ([UInt8]) async -> Void) async -> UInt16? { await inner.run(onMessage: onMessage) }
}

/// Enqueue-to-wire latencies (ms) of `sends` messages to server B, while server A catches up a
/// backlog of `backlog` messages from history (or sits idle when `backlog` is 0); and how many of
/// the sends happened while A was still catching up.
func isolationRound(backlog: Int, sends: Int) async throws -> (latencies: [Double], duringCatchUp: Int) {
    let a = ServerHost(name: "A", behaviour: .extended, users: ["me", "alice"], conversations: ["family"], seed: 1)
    let b = ServerHost(name: "B", behaviour: .extended, users: ["me", "alice"], conversations: ["family"], seed: 2)
    let listenerA = try await WebSocketServer.start(port: 0, serverHost: a)
    let listenerB = try await WebSocketServer.start(port: 0, serverHost: b)
    defer { Task { await listenerA.stop(); await listenerB.stop() } }
    for number in 0..<backlog { await a.post(from: "alice", to: "family", text: "backlog \(number)") }
    await a.acknowledgeEverything(for: "me")  // another device read them: history brings them
    let transport = TimingTransport()
    var configuration = OutpostClient.Configuration()
    configuration.transport = transport
    configuration.session.historyPageSize = 500
    configuration.session.foregroundHistoryPages = 1_000
    let client = try OutpostClient(directory: await scratch(), keyProvider: InMemoryKeyProvider(), configuration: configuration)
    let events = await client.events()
    await client.start()
    let bID = try await client.addServer("http://127.0.0.1:\(listenerB.port)",
                                         signIn: ServerSignIn(sessionToken: await b.issueToken(for: "me"), userID: "me"))
    var aID: ServerID?
    if backlog > 0 {
        aID = try await client.addServer("http://127.0.0.1:\(listenerA.port)",
                                         signIn: ServerSignIn(sessionToken: await a.issueToken(for: "me"), userID: "me"))
    }
    let caughtUp = NIOLockedValueBox(false)
    let bConnected = NIOLockedValueBox(false)
    let watcher = Task {
        for await event in events {
            if event.server == bID, event.kind == .connectionStateChanged(.connected) { bConnected.withLockedValue { $0 = true } }
            if let aID, event.server == aID, event.kind == .caughtUp { caughtUp.withLockedValue { $0 = true } }
        }
    }
    while !bConnected.withLockedValue({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
    var latencies: [Double] = []
    var duringCatchUp = 0
    for number in 0..<sends {
        let busy = backlog > 0 && !caughtUp.withLockedValue { $0 }
        let start = ContinuousClock.now
        let item = try await client.send(Array("probe \(number)".utf8), to: "family", on: bID)
        guard let wired = transport.stamps.withLockedValue({ $0[item.clientMessageID] }) else { continue }
        latencies.append(Double((wired - start).components.attoseconds) / 1e15 + Double((wired - start).components.seconds) * 1e3)
        if busy { duringCatchUp += 1 }
        // At the protocol's rate (30 a second), so the outbox never has to hold one back.
        try await Task.sleep(for: .milliseconds(40))
    }
    watcher.cancel()
    await client.close()
    return (latencies, duringCatchUp)
}

func percentile(_ values: [Double], _ fraction: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
}

if runs("isolation") {
    let rounds = quick ? 1 : 5
    let backlog = quick ? 2_000 : 100_000
    let sends = quick ? 20 : 100
    var idle: [(p50: Double, p95: Double)] = []
    var busy: [(p50: Double, p95: Double)] = []
    var ratios: [Double] = []
    var pooledBusy: [Double] = []
    var overlapping = 0
    for _ in 0..<rounds {
        // Interleaved: an idle round, then a busy one; the ratio is taken within the pair.
        let quiet = try await isolationRound(backlog: 0, sends: sends)
        let loaded = try await isolationRound(backlog: backlog, sends: sends)
        idle.append((percentile(quiet.latencies, 0.5), percentile(quiet.latencies, 0.95)))
        busy.append((percentile(loaded.latencies, 0.5), percentile(loaded.latencies, 0.95)))
        ratios.append(busy.last!.p95 / idle.last!.p95)
        pooledBusy += loaded.latencies
        overlapping += loaded.duringCatchUp
    }
    let median = { (values: [Double]) in percentile(values, 0.5) }
    let summary = { (values: [Double]) in String(format: "%.3f/%.3f/%.3f", values.min()!, median(values), values.max()!) }
    print("  isolation (ms, min/median/max of \(rounds) rounds; \(overlapping) sends during catch-ups):")
    print("    idle: p50 \(summary(idle.map(\.p50))), p95 \(summary(idle.map(\.p95)))")
    print("    while another server catches up \(backlog) messages: p50 \(summary(busy.map(\.p50))), p95 \(summary(busy.map(\.p95)))")
    print("    p95 busy/idle per round: \(summary(ratios)); p99 of every busy sample: \(String(format: "%.3f", percentile(pooledBusy, 0.99)))")
    report("Isolation: another server's enqueue-to-wire p95 while one catches up", String(format: "%.2f× idle (median of %d rounds)", median(ratios), rounds),
           bar: "≤ 1.5× idle", ratio: 1.5 / median(ratios))
    report("Enqueue-to-wire p99 while another server ingests", String(format: "%.3f ms", percentile(pooledBusy, 0.99)),
           bar: "p99 < 1 ms", ratio: 1 / percentile(pooledBusy, 0.99))
}

// MARK: Simulator

@MainActor func simulatorRun(servers: Int) throws -> (eventsPerSecond: Double, simulatedPerWall: Double, wall: Double) {
    var scenario = try ScenarioLibrary.load("thousand-servers-day")
    scenario.servers.count = servers
    scenario.client.poolCapacity = servers
    scenario.workload.userMessagesPerHour *= Double(servers) / 1_000
    scenario.faults = scenario.faults.map { fault in
        var copy = fault
        copy.servers = fault.servers?.filter { $0 < servers }
        return copy
    }
    if quick { scenario.durationSeconds = 3_600 }
    var result: SimulationResult?
    let wall = time { result = Simulation(scenario: scenario, options: .init(seed: 1, workDirectory: scratch())).run() }
    guard let result, result.passed else { throw SimulationFailed(violations: result?.violations ?? []) }
    return (Double(result.statistics.events) / wall, result.simulatedSeconds / wall, wall)
}
struct SimulationFailed: Error { let violations: [String] }
/// Every ingested message is distinct: fewer stored means the benchmark measured deduplication.
struct IngestDeduplicated: Error { let stored: Int, total: Int }

if runs("simulator") {
    let counts = quick ? [10, 50] : [10, 100, 1_000]
    var rates: [Int: Double] = [:]
    for count in counts {
        let run = try simulatorRun(servers: count)
        rates[count] = run.eventsPerSecond
        print(String(format: "  simulator, %d servers: %.0f events/s, %.0f simulated s per wall s, %.1f s wall", count,
                     run.eventsPerSecond, run.simulatedPerWall, run.wall))
        if count == 1_000 {
            report("Simulator, 1,000 servers × 24 h", String(format: "%.1f s wall", run.wall), bar: "< 60 s", ratio: 60 / run.wall)
        }
    }
    let growth = rates[counts.first!]! / rates[counts.last!]!
    report("Simulator cost per event, \(counts.first!) → \(counts.last!) servers", String(format: "grows %.2f×", growth),
           bar: "≤ 1.5×", ratio: 1.5 / growth)
}

print("\n| benchmark | figure | bar | ratio to bar |\n| --- | --- | --- | --- |")
for row in rows {
    print("| \(row.name) | \(row.figure) | \(row.bar) | \(String(format: "%.2f", row.ratio)) |")
}
