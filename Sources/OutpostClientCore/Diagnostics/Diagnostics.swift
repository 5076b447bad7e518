/// A snapshot of the client's state for a bug report, redacted: servers are named by their id
/// (a keyed hash), never by address or display name, and nothing of a message, a token or a
/// key is in it. ``description`` is the text a user pastes.
public struct ClientDiagnostics: Hashable, Sendable, CustomStringConvertible {
    /// When it was taken.
    public var takenAt: Timestamp
    /// Every server, in the order of their ids.
    public var servers: [ServerDiagnostics]

    public init(takenAt: Timestamp, servers: [ServerDiagnostics]) {
        self.takenAt = takenAt
        self.servers = servers.sorted { $0.server < $1.server }
    }

    public var description: String {
        var lines = ["Outpost diagnostics at \(takenAt.microseconds) µs: \(servers.count) server(s)"]
        for server in servers { lines.append(server.description) }
        return lines.joined(separator: "\n")
    }
}

/// One server in a ``ClientDiagnostics``.
public struct ServerDiagnostics: Hashable, Sendable, CustomStringConvertible {
    public var server: ServerID
    /// `nil` when the server is available; else why it is not (its partition cannot be opened).
    public var unavailableReason: String?
    public var connectionState: ConnectionState
    public var capabilities: [String]
    public var gapGuarantee: GapGuarantee
    /// Queued and in-flight outbox items.
    public var outboxDepth: Int
    /// Persisted gaps still being filled.
    public var openGaps: Int
    public var lastError: ServerError?
    public var consecutiveFailures: Int
    public var nextRetryAt: Timestamp?
    public var isLowPower: Bool
    /// Undecodable messages skipped since launch.
    public var setAsideCount: Int
    /// `nil` when the partition could not be read.
    public var storage: PartitionStorageFacts?

    public var description: String {
        var line = "- server \(server.hex): "
        if let unavailableReason { return line + "unavailable (\(unavailableReason))" }
        line += "\(connectionState), capabilities [\(capabilities.joined(separator: ", "))], gaps \(gapGuarantee)"
        line += ", outbox \(outboxDepth), open gaps \(openGaps), failures in a row \(consecutiveFailures)"
        if let nextRetryAt { line += ", next retry at \(nextRetryAt.microseconds) µs" }
        if isLowPower { line += ", low power" }
        if setAsideCount > 0 { line += ", set aside \(setAsideCount)" }
        if let storage { line += ", partition \(storage.bytesOnDisk) bytes, schema v\(storage.schemaVersion)" }
        if let lastError {
            // The kind and code only: a transport error's message can name the server's address.
            line += ", last error \(lastError.reason.kind)"
            if let code = lastError.reason.closeCode { line += " (close \(code))" }
            line += " at \(lastError.at.microseconds) µs"
        }
        return line
    }
}
