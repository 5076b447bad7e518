import OutpostStore
import OutpostSync

/// Per-server history for the HTML report: connection state, queue depth and gaps over time.
public struct Timeline: Sendable {
    public struct Server: Sendable {
        public var states: [(time: Int64, state: ConnectionState)] = []
        public var queueDepths: [(time: Int64, depth: Int)] = []
        public var gaps: [(time: Int64, open: Bool)] = []
    }

    /// Something that happened to the whole run: a fault starting or ending, a kill, a
    /// relaunch, the heal.
    public struct Marker: Sendable {
        public enum Kind: String, Sendable { case fault, faultEnds, kill, relaunch, heal }
        public let time: Int64
        public let kind: Kind
        public let label: String
    }

    public let enabled: Bool
    public private(set) var servers: [Int: Server] = [:]
    public private(set) var markers: [Marker] = []
    /// How each server behaves (`legacy`, `history+sequence`, `upstream` …), by index.
    public private(set) var behaviours: [Int: String] = [:]

    init(enabled: Bool) { self.enabled = enabled }

    mutating func state(_ server: Int, _ state: ConnectionState, at time: Timestamp) {
        guard enabled else { return }
        servers[server, default: Server()].states.append((time.microseconds, state))
    }

    mutating func queueDepth(_ server: Int, _ depth: Int, at time: Timestamp) {
        guard enabled else { return }
        servers[server, default: Server()].queueDepths.append((time.microseconds, depth))
    }

    mutating func mark(_ kind: Marker.Kind, _ label: String, at time: Timestamp) {
        guard enabled else { return }
        markers.append(Marker(time: time.microseconds, kind: kind, label: label))
    }

    mutating func behaviour(_ server: Int, _ name: String) {
        guard enabled else { return }
        behaviours[server] = name
    }

    mutating func gap(_ server: Int, open: Bool, at time: Timestamp) {
        guard enabled else { return }
        servers[server, default: Server()].gaps.append((time.microseconds, open))
    }
}
