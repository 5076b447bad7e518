/// A row of the unified conversation list: a conversation tagged with its server.
public struct UnifiedConversation: Hashable, Sendable {
    public let serverID: ServerID
    public let origin: ServerOrigin
    public let summary: ConversationSummary
}

/// Each server's top conversations, kept in memory so the unified list needs no query when
/// nothing changed. A write that changes a server's conversations drops that server's entry.
struct ConversationSummaryCache {
    private var byServer: [ServerID: (depth: Int, summaries: [ConversationSummary])] = [:]

    func summaries(_ id: ServerID, depth: Int) -> [ConversationSummary]? {
        guard let entry = byServer[id], entry.depth >= depth else { return nil }
        return entry.summaries
    }

    mutating func store(_ id: ServerID, depth: Int, _ summaries: [ConversationSummary]) {
        byServer[id] = (depth, summaries)
    }

    mutating func drop(_ id: ServerID) {
        byServer.removeValue(forKey: id)
    }
}

extension Store {
    /// The unified conversation list: every server's conversations in one list, most recent
    /// activity first, each tagged with its server.
    ///
    /// Assembled in memory from one query per partition (no query spans two partitions);
    /// per-server results are cached until that server's conversations change.
    /// - Parameter servers: only these servers (server-focused mode); `nil` for all.
    public func unifiedConversations(limit: Int = 50, servers filter: Set<ServerID>? = nil) throws(StoreError) -> [UnifiedConversation] {
        try checkAlive()
        var rows: [UnifiedConversation] = []
        for server in servers() where filter?.contains(server.id) ?? true {
            let summaries: [ConversationSummary]
            if let cached = self.summaries.summaries(server.id, depth: limit) {
                summaries = cached
            } else {
                summaries = try Partition(store: self, id: server.id, origin: server.origin).conversations(limit: limit)
                self.summaries.store(server.id, depth: limit, summaries)
            }
            rows.append(contentsOf: summaries.prefix(limit).map {
                UnifiedConversation(serverID: server.id, origin: server.origin, summary: $0)
            })
        }
        rows.sort { lhs, rhs in
            if lhs.summary.lastActivity != rhs.summary.lastActivity { return lhs.summary.lastActivity > rhs.summary.lastActivity }
            if lhs.origin != rhs.origin { return lhs.origin < rhs.origin }
            return lhs.summary.conversationID < rhs.summary.conversationID
        }
        return Array(rows.prefix(limit))
    }
}
