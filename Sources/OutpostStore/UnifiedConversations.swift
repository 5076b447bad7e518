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
    /// A write that may change `id`'s conversations: its cached summaries go.
    func conversationsChanged(_ id: ServerID) {
        lock.withLock { summaries.drop(id) }
    }

    /// Keeps `id`'s top summaries. Called with the partition's lock held, so that no write
    /// comes between reading them and keeping them.
    func cacheSummaries(_ id: ServerID, depth: Int, _ list: [ConversationSummary]) {
        lock.withLock { summaries.store(id, depth: depth, list) }
    }

    /// The unified conversation list: every server's conversations in one list, most recent
    /// activity first, each tagged with its server.
    ///
    /// Assembled in memory from one query per partition (no query spans two partitions);
    /// per-server results are cached until that server's conversations change.
    /// - Parameter servers: only these servers (server-focused mode); `nil` for all.
    public func unifiedConversations(limit: Int = 50, servers filter: Set<ServerID>? = nil) throws(StoreError) -> [UnifiedConversation] {
        try checkAlive()
        guard limit > 0 else { return [] }
        // The best `limit` rows so far, best first. Each server's summaries come newest first,
        // so a server stops contributing at its first row older than the worst kept: across
        // 1,000 warm servers that is about one comparison per server instead of a sort of
        // every row.
        var top: [UnifiedConversation] = []
        top.reserveCapacity(limit + 1)
        for server in servers() where filter?.contains(server.id) ?? true {
            let summaries: [ConversationSummary]
            if let cached = lock.withLock({ self.summaries.summaries(server.id, depth: limit) }) {
                summaries = cached
            } else {
                summaries = try Partition(store: self, id: server.id, origin: server.origin).conversationsForCache(limit: limit)
            }
            for summary in summaries.prefix(limit) {
                if top.count == limit, let worst = top.last {
                    // Summaries are ordered by activity time: none after this one can do better.
                    if summary.lastActivity.timestamp < worst.summary.lastActivity.timestamp { break }
                }
                let row = UnifiedConversation(serverID: server.id, origin: server.origin, summary: summary)
                if top.count == limit, let worst = top.last, !Self.precedes(row, worst) { continue }
                top.insert(row, at: Self.insertionIndex(of: row, in: top))
                if top.count > limit { top.removeLast() }
            }
        }
        return top
    }

    /// The unified list's order: most recent activity first, then by server, then by id.
    static func precedes(_ lhs: UnifiedConversation, _ rhs: UnifiedConversation) -> Bool {
        if lhs.summary.lastActivity != rhs.summary.lastActivity { return lhs.summary.lastActivity > rhs.summary.lastActivity }
        if lhs.origin != rhs.origin { return lhs.origin < rhs.origin }
        return lhs.summary.conversationID < rhs.summary.conversationID
    }

    /// Where `row` goes in `rows` (sorted by ``precedes(_:_:)``): after every row before it.
    private static func insertionIndex(of row: UnifiedConversation, in rows: [UnifiedConversation]) -> Int {
        var low = 0
        var high = rows.count
        while low < high {
            let middle = (low + high) / 2
            if precedes(rows[middle], row) { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
