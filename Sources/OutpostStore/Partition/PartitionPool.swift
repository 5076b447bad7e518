import Foundation

/// One server's place in the ``PartitionPool``: its open databases, and the lock that lets one
/// thread at a time use them.
///
/// The slot's lock is recursive, so a transaction of ``Partition/inOneTransaction(_:)`` can run
/// the partition's other operations inside it. The pool's bookkeeping (``users``, ``lastUse``)
/// is guarded by the store's lock instead.
final class PartitionSlot: @unchecked Sendable {
    let id: ServerID
    private let lock = NSRecursiveLock()
    /// Guarded by ``lock``.
    private var open: OpenPartition?
    /// Closed for good (evicted, removed, or the store closed): never opened again. Guarded by
    /// ``lock``.
    private var retired = false
    /// Leases not yet returned (guarded by the store's lock): a slot in use is never evicted.
    var users = 0
    /// When the slot was last leased (guarded by the store's lock).
    var lastUse: UInt64 = 0

    init(id: ServerID) { self.id = id }

    /// Runs `body` with the partition's databases, opening them with `opener` if needed.
    func withDatabases<T>(
        opener: () throws(StoreError) -> OpenPartition, _ body: (OpenPartition) throws(StoreError) -> T
    ) throws(StoreError) -> T {
        lock.lock()
        defer { lock.unlock() }
        // A thread that leased the slot just before a removal took it out of the pool.
        guard !retired else { throw .serverNotFound(id) }
        let partition: OpenPartition
        if let open {
            partition = open
        } else {
            partition = try opener()
            open = partition
        }
        return try body(partition)
    }

    /// The open databases, if they are open; for tests.
    var openPartition: OpenPartition? {
        lock.lock()
        defer { lock.unlock() }
        return open
    }

    /// Closes the databases for good (waiting for a thread that is using them). Safe to call
    /// twice. Returns what is worth keeping of them (see ``OpenPartition/close()``).
    @discardableResult
    func close() -> InboundContentIndex? {
        lock.lock()
        defer { lock.unlock() }
        retired = true
        let kept = open?.close()
        open = nil
        return kept
    }
}

/// A bounded set of open partitions with least-recently-used eviction.
///
/// A thousand servers must not mean two thousand open databases: at most ``capacity``
/// partitions are open at once, each opened lazily on first use. A partition that a thread is
/// using is never evicted, so when every slot is busy the pool may briefly hold one more per
/// concurrent user. Guarded by the store's lock; a slot evicted here is closed by the caller
/// after that lock is released, so closing (a WAL checkpoint) never holds up other servers.
struct PartitionPool {
    let capacity: Int
    private var slots: [ServerID: PartitionSlot] = [:]
    private var useCounter: UInt64 = 0
    /// The most partitions ever open at once, for tests and benchmarks.
    private(set) var peakOpenCount = 0

    init(capacity: Int) {
        precondition(capacity > 0, "the partition pool needs room for at least one partition")
        self.capacity = capacity
    }

    var openCount: Int { slots.count }

    /// Leases the slot of `id` (making room for it first when it is new). Return it with
    /// ``release(_:)``; close `evicted` once the store's lock is released.
    mutating func lease(_ id: ServerID) -> (slot: PartitionSlot, evicted: PartitionSlot?) {
        useCounter += 1
        var evicted: PartitionSlot?
        let slot: PartitionSlot
        if let existing = slots[id] {
            slot = existing
        } else {
            if slots.count >= capacity { evicted = evictLeastRecentlyUsed() }
            slot = PartitionSlot(id: id)
            slots[id] = slot
            peakOpenCount = max(peakOpenCount, slots.count)
        }
        slot.users += 1
        slot.lastUse = useCounter
        return (slot, evicted)
    }

    mutating func release(_ slot: PartitionSlot) {
        slot.users -= 1
    }

    /// The slot of `id`, if it is in the pool; for tests.
    func slot(_ id: ServerID) -> PartitionSlot? { slots[id] }

    /// Takes `id` out of the pool; the caller closes it.
    mutating func remove(_ id: ServerID) -> PartitionSlot? {
        slots.removeValue(forKey: id)
    }

    /// Takes every slot out of the pool, in a fixed order; the caller closes them.
    mutating func removeAll() -> [PartitionSlot] {
        // Sorted so that closing order never depends on hash order.
        let all = slots.keys.sorted().compactMap { slots[$0] }
        slots.removeAll()
        return all
    }

    private mutating func evictLeastRecentlyUsed() -> PartitionSlot? {
        // Use counters are unique, so the choice is deterministic.
        guard let victim = slots.values.filter({ $0.users == 0 }).min(by: { $0.lastUse < $1.lastUse }) else { return nil }
        return slots.removeValue(forKey: victim.id)
    }
}
