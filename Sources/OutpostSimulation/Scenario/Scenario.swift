import Foundation
import OutpostJSONSchema
import OutpostSchemas
@_spi(Simulation) import OutpostClientCore
import OutpostSync

/// A simulation scenario: servers, network, workload and a fault schedule. Scenario files live
/// in `Simulator/Scenarios/*.json` and follow `Schemas/json/scenario.schema.json`.
public struct Scenario: Codable, Hashable, Sendable {
    public var name: String
    public var description: String
    public var seed: UInt64?
    public var durationSeconds: Int64
    public var servers: Servers
    public var network: Network
    public var workload: Workload
    public var client: Client
    public var faults: [Fault]
    /// Draw a random fault mix from the seed on top of `faults`.
    public var swarm: Bool
    /// After `durationSeconds` every fault heals; the client must converge within this time.
    public var livenessSeconds: Int64

    public struct Servers: Codable, Hashable, Sendable {
        public var count: Int
        /// `legacy`, `extended`, `upstream`, `mixed` (a `legacyFraction` of the servers are
        /// legacy, the others extended) or `any` (each server offers a subset of the extensions
        /// drawn from the seed, none, some or all, or behaves as upstream).
        public var behaviour: String
        public var legacyFraction: Double?
        /// When present, every server offers exactly these extensions (`idempotent-send`,
        /// `history`, `sequence`), whatever `behaviour` says.
        public var extensions: [String]?
        public var peersPerServer: Int
        public var conversationsPerServer: Int
        public var clockSkewSeconds: Int64?
        /// The resolution of the servers' timestamps in milliseconds (1 µs when absent): with
        /// `1000`, every message stored within a second has the same timestamp.
        public var timestampResolutionMilliseconds: Int64?

        enum CodingKeys: String, CodingKey {
            case count, behaviour, extensions
            case timestampResolutionMilliseconds = "timestamp_resolution_ms"
            case legacyFraction = "legacy_fraction"
            case peersPerServer = "peers_per_server"
            case conversationsPerServer = "conversations_per_server"
            case clockSkewSeconds = "clock_skew_seconds"
        }
    }

    public struct Network: Codable, Hashable, Sendable {
        public var latencyMilliseconds: Int64
        public var jitterMilliseconds: Int64
        /// What each connection carries each way, in kilobits a second; unlimited when absent.
        public var bandwidthKilobitsPerSecond: Int64?

        enum CodingKeys: String, CodingKey {
            case latencyMilliseconds = "latency_ms"
            case jitterMilliseconds = "jitter_ms"
            case bandwidthKilobitsPerSecond = "bandwidth_kbps"
        }
    }

    public struct Workload: Codable, Hashable, Sendable {
        /// Messages each server's peers write per hour, in total.
        public var peerMessagesPerHour: Double
        /// Messages the user writes per hour, across all servers.
        public var userMessagesPerHour: Double
        /// The user's other device reads (acknowledges) every message as it arrives, so nothing
        /// stays pending for this device: it must catch up from history.
        public var otherDeviceReads: Bool?
        /// The user's other devices on every server: online all the time, acknowledging every
        /// message pushed to them. One closed with 4003 (too many connections) comes back after
        /// a second, as a naive client would.
        public var otherDevices: Int?
        /// Messages the user writes from another device, per server and hour.
        public var otherDeviceMessagesPerHour: Double?
        /// How often, per hour, the user opens a conversation and reads it.
        public var readsPerHour: Double?

        enum CodingKeys: String, CodingKey {
            case peerMessagesPerHour = "peer_messages_per_hour"
            case userMessagesPerHour = "user_messages_per_hour"
            case otherDeviceReads = "other_device_reads"
            case otherDevices = "other_devices"
            case otherDeviceMessagesPerHour = "other_device_messages_per_hour"
            case readsPerHour = "reads_per_hour"
        }
    }

    public struct Client: Codable, Hashable, Sendable {
        public var poolCapacity: Int
        /// Test only: a deliberately broken client, to prove the checker catches it.
        @_spi(Simulation) public var deliberateBug: DeliberateBug?
        /// How long each message the user writes may wait to be sent; 30 days when absent.
        public var outboxLifespanSeconds: Int64?

        enum CodingKeys: String, CodingKey {
            case poolCapacity = "pool_capacity"
            case outboxLifespanSeconds = "outbox_lifespan_seconds"
            case deliberateBug = "deliberate_bug"
        }
    }

    /// One scheduled fault.
    public struct Fault: Codable, Hashable, Sendable {
        public var atSeconds: Double
        public var kind: FaultKind
        /// Which servers (indices); `nil` means all, where the kind applies to servers.
        public var servers: [Int]?
        public var durationSeconds: Double?
        /// `clock_step`: how far the clock moves; `burst`: how many messages; `kill_at_write`
        /// and `storage_failure`: which write; `poison`: how many messages; `redeliver`: how
        /// many times over.
        public var amount: Int64?
        /// `flap`: how many down/up cycles; `storage_failure`: how many writes in a row fail.
        public var count: Int?
        /// `storage_failure`: `disk_full`, `busy` or `io_error`.
        public var error: String?

        public init(atSeconds: Double, kind: FaultKind, servers: [Int]? = nil, durationSeconds: Double? = nil,
                    amount: Int64? = nil, count: Int? = nil, error: String? = nil) {
            self.atSeconds = atSeconds
            self.kind = kind
            self.servers = servers
            self.durationSeconds = durationSeconds
            self.amount = amount
            self.count = count
            self.error = error
        }

        enum CodingKeys: String, CodingKey {
            case kind, servers, amount, count, error
            case atSeconds = "at_seconds"
            case durationSeconds = "duration_seconds"
        }
    }

    public enum FaultKind: String, Codable, Hashable, Sendable, CaseIterable {
        /// Connections reset (both sides see a close).
        case reset
        /// Links go silent for a while: no data, no close.
        case blackhole
        /// Servers unreachable for a while: connections reset, new ones time out.
        case partition
        /// Links go down and up `count` times, `duration_seconds` per half cycle.
        case flap
        /// The app goes to the background for a while; the OS kills its sockets.
        case background
        /// The device loses the network for a while.
        case unreachable
        /// The device is in low-power mode for a while: the client stretches its heartbeat and
        /// keeps every connection. (Not lifted by the heal: the checker then sees that nothing
        /// needs it off.)
        case lowPower = "low_power"
        /// The client process is killed and relaunched after `duration_seconds`.
        case kill
        /// The client process is killed at its `amount`-th storage write from now.
        case killAtWrite = "kill_at_write"
        /// The client process is killed now, and killed again at the `amount`-th storage write
        /// of its relaunch (reopening its servers, resending, catching up); the launch after
        /// that must recover from both.
        case killDuringRelaunch = "kill_during_relaunch"
        /// Servers restart (connections closed with 4006, data kept).
        case serverRestart = "server_restart"
        /// Servers are down for a while.
        case outage
        /// A server's clock steps by `amount` seconds (negative: backwards).
        case clockStep = "clock_step"
        /// Sessions expire; the front end supplies a new token after `duration_seconds`.
        case sessionExpiry = "session_expiry"
        /// Server rate limits tighten for a while.
        case rateLimit = "rate_limit"
        /// Peers write `amount` messages at once.
        case burst
        /// The user removes servers.
        case removeServer = "remove_server"
        /// Latency rises to `amount` ms for a while.
        case latency
        /// The servers' discovery documents cannot be fetched for the duration (their WebSocket
        /// still works): adding one again fails, and is retried, until it is back.
        case discoveryFailure = "discovery_failure"
        /// The `amount`-th storage write from now (and the `count - 1` after it) fails as the
        /// `error` says; the process lives on.
        case storageFailure = "storage_failure"
        /// Peers write `amount` messages that reach the user as frames no decoder accepts.
        case poison
        /// Servers push everything they already delivered to the user again, `amount` times.
        case redeliver
        /// The user adds servers removed earlier again (a new partition, a new sign-in).
        case readdServer = "readd_server"
        /// A server's partition is damaged on disk and the app relaunches: the server is
        /// unavailable, and the user removes it.
        case corruptPartition = "corrupt_partition"
        /// Servers answer every login with `AUTH_ERROR 9001` (a fault of theirs) for a while.
        case authGlitch = "auth_glitch"
        /// Peers write `amount` messages as large as each server takes.
        case largePosts = "large_posts"
        /// The device moves to another network: the sockets it had open go silent (frames vanish
        /// both ways; a close it sends is held), new connections work. After the duration the
        /// old path answers again and the held closes reach the server, late.
        case networkSwitch = "network_switch"
    }

    enum CodingKeys: String, CodingKey {
        case name, description, seed, servers, network, workload, client, faults, swarm
        case durationSeconds = "duration_seconds"
        case livenessSeconds = "liveness_seconds"
    }

    // MARK: Loading

    /// Parses and validates a scenario file; a bad file gives an error naming the field and why.
    public static func load(from data: Data) throws -> Scenario {
        let schema = try JSONSchema(data: SchemaCatalog.jsonSchema(named: "scenario"))
        let violations = schema.validate(data)
        guard violations.isEmpty else { throw ScenarioError(violations: violations.map(\.description)) }
        let scenario = try JSONDecoder().decode(Scenario.self, from: data)
        let problems = scenario.semanticViolations()
        guard problems.isEmpty else { throw ScenarioError(violations: problems) }
        return scenario
    }

    /// The longest time a scenario may name, in seconds: the schema's maximum `duration_seconds`.
    static let longestSeconds = 2_592_000

    /// What the schema cannot say: faults within the scenario and its servers, and amounts the
    /// engine can turn into microseconds. Without these checks a fault at `1e13` seconds or a
    /// clock step of `1e13` seconds overflows `Int64` microseconds and traps the simulator.
    func semanticViolations() -> [String] {
        var problems: [String] = []
        for (index, fault) in faults.enumerated() {
            let path = "$.faults[\(index)]"
            // Not `duration_seconds`: a fault drawn for a swarm may follow another by a few
            // seconds past it, and such a scenario, once written out, must load again.
            let end = durationSeconds + livenessSeconds
            if fault.atSeconds > Double(end) {
                problems.append("\(path).at_seconds: \(fault.atSeconds) is after the end of the simulation (duration_seconds + liveness_seconds = \(end))")
            }
            if let duration = fault.durationSeconds, duration > Double(Self.longestSeconds) {
                problems.append("\(path).duration_seconds: \(duration) is longer than the longest scenario (\(Self.longestSeconds))")
            }
            for server in fault.servers ?? [] where server >= servers.count {
                problems.append("\(path).servers: server \(server) does not exist (servers.count is \(servers.count))")
            }
            if fault.kind == .flap, let count = fault.count, count > 10_000 {
                problems.append("\(path).count: \(count) flaps is more than 10000")
            }
            if let amount = fault.amount {
                switch fault.kind {
                case .clockStep where amount.magnitude > UInt64(Self.longestSeconds):
                    problems.append("\(path).amount: a clock step of \(amount) s is larger than \(Self.longestSeconds) s")
                case .latency where !(0...60_000).contains(amount):
                    problems.append("\(path).amount: a latency of \(amount) ms is outside 0...60000 (as network.latency_ms)")
                case .burst, .poison, .largePosts, .redeliver, .killAtWrite, .killDuringRelaunch, .storageFailure:
                    // Counts of messages, redeliveries or writes: at least one, and few enough that
                    // the run ends (a burst of 10^12 would never finish).
                    let limit: Int64 = switch fault.kind {
                    case .redeliver: 100
                    case .largePosts: 1_000
                    case .killAtWrite, .killDuringRelaunch, .storageFailure: 1_000_000
                    default: 100_000
                    }
                    if !(1...limit).contains(amount) {
                        problems.append("\(path).amount: \(amount) is outside 1...\(limit) for \(fault.kind.rawValue)")
                    }
                default:
                    break
                }
            }
        }
        return problems
    }

    public static func load(path: String) throws -> Scenario {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ScenarioError(violations: ["cannot read \(path)"])
        }
        return try load(from: data)
    }

    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data()
    }
}

public struct ScenarioError: Error, CustomStringConvertible {
    public let violations: [String]
    public var description: String { "invalid scenario:\n" + violations.map { "  " + $0 }.joined(separator: "\n") }
}
