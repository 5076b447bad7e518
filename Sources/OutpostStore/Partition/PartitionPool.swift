/// A bounded set of open partitions with least-recently-used eviction.
///
/// A thousand servers must not mean two thousand open databases: at most ``capacity``
/// partitions are open at once, each opened lazily on first use.
struct PartitionPool {
    let capacity: Int
    private var open: [ServerID: (partition: OpenPartition, lastUse: UInt64)] = [:]
    private var useCounter: UInt64 = 0
    /// The most partitions ever open at once, for tests and benchmarks.
    private(set) var peakOpenCount = 0

    init(capacity: Int) {
        precondition(capacity > 0, "the partition pool needs room for at least one partition")
        self.capacity = capacity
    }

    var openCount: Int { open.count }

    /// The open partition `id`, opening it with `opener` (after evicting the least recently
    /// used one if the pool is full).
    mutating func checkout(_ id: ServerID, opener: () throws(StoreError) -> OpenPartition) throws(StoreError) -> OpenPartition {
        useCounter += 1
        if let entry = open[id] {
            open[id] = (entry.partition, useCounter)
            return entry.partition
        }
        if open.count >= capacity { evictLeastRecentlyUsed() }
        let partition = try opener()
        open[id] = (partition, useCounter)
        peakOpenCount = max(peakOpenCount, open.count)
        return partition
    }

    /// The open partition `id`, if it is open.
    func ifOpen(_ id: ServerID) -> OpenPartition? { open[id]?.partition }

    /// Closes `id` if it is open.
    mutating func close(_ id: ServerID) {
        open.removeValue(forKey: id)?.partition.close()
    }

    mutating func closeAll() {
        // Sorted so that closing order never depends on hash order.
        for id in open.keys.sorted() { close(id) }
    }

    private mutating func evictLeastRecentlyUsed() {
        // Use counters are unique, so the choice is deterministic.
        guard let victim = open.min(by: { $0.value.lastUse < $1.value.lastUse })?.key else { return }
        close(victim)
    }
}
