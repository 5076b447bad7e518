import OutpostStore
import OutpostSync

/// Per-server history for the HTML report: connection state, queue depth and gaps over time.
public struct Timeline: Sendable {
    public struct Server: Sendable {
        public var states: [(time: Int64, state: ConnectionState)] = []
        public var queueDepths: [(time: Int64, depth: Int)] = []
        public var gaps: [(time: Int64, open: Bool)] = []
    }

    public let enabled: Bool
    public private(set) var servers: [Int: Server] = [:]

    init(enabled: Bool) { self.enabled = enabled }

    mutating func state(_ server: Int, _ state: ConnectionState, at time: Timestamp) {
        guard enabled else { return }
        servers[server, default: Server()].states.append((time.microseconds, state))
    }

    mutating func queueDepth(_ server: Int, _ depth: Int, at time: Timestamp) {
        guard enabled else { return }
        servers[server, default: Server()].queueDepths.append((time.microseconds, depth))
    }

    mutating func gap(_ server: Int, open: Bool, at time: Timestamp) {
        guard enabled else { return }
        servers[server, default: Server()].gaps.append((time.microseconds, open))
    }
}
