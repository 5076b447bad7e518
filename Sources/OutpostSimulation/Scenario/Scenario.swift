import Foundation
import OutpostJSONSchema
import OutpostSchemas
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
        /// `legacy`, `extended`, or `mixed` (a `legacyFraction` of the servers are legacy).
        public var behaviour: String
        public var legacyFraction: Double?
        public var peersPerServer: Int
        public var conversationsPerServer: Int
        public var clockSkewSeconds: Int64?

        enum CodingKeys: String, CodingKey {
            case count, behaviour
            case legacyFraction = "legacy_fraction"
            case peersPerServer = "peers_per_server"
            case conversationsPerServer = "conversations_per_server"
            case clockSkewSeconds = "clock_skew_seconds"
        }
    }

    public struct Network: Codable, Hashable, Sendable {
        public var latencyMilliseconds: Int64
        public var jitterMilliseconds: Int64

        enum CodingKeys: String, CodingKey {
            case latencyMilliseconds = "latency_ms"
            case jitterMilliseconds = "jitter_ms"
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

        enum CodingKeys: String, CodingKey {
            case peerMessagesPerHour = "peer_messages_per_hour"
            case userMessagesPerHour = "user_messages_per_hour"
            case otherDeviceReads = "other_device_reads"
        }
    }

    public struct Client: Codable, Hashable, Sendable {
        public var poolCapacity: Int
        /// Test only: a deliberately broken client, to prove the checker catches it.
        public var deliberateBug: DeliberateBug?

        enum CodingKeys: String, CodingKey {
            case poolCapacity = "pool_capacity"
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
        /// `clock_step`: how far the clock moves; `burst`: how many messages; `kill_at_write`: which write.
        public var amount: Int64?
        /// `flap`: how many down/up cycles.
        public var count: Int?

        public init(atSeconds: Double, kind: FaultKind, servers: [Int]? = nil, durationSeconds: Double? = nil,
                    amount: Int64? = nil, count: Int? = nil) {
            self.atSeconds = atSeconds
            self.kind = kind
            self.servers = servers
            self.durationSeconds = durationSeconds
            self.amount = amount
            self.count = count
        }

        enum CodingKeys: String, CodingKey {
            case kind, servers, amount, count
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
        /// The client process is killed and relaunched after `duration_seconds`.
        case kill
        /// The client process is killed at its `amount`-th storage write from now.
        case killAtWrite = "kill_at_write"
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
        /// Discovery of a server being added fails (it is retried).
        case discoveryFailure = "discovery_failure"
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
        return try JSONDecoder().decode(Scenario.self, from: data)
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
