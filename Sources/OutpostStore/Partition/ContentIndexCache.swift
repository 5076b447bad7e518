/// The inbound content indexes of partitions the pool has closed, so that reopening one does
/// not mean scanning its deduplication records again. Bounded by the number of keys held
/// (16 bytes each); the oldest go first. Guarded by the store's lock.
struct ContentIndexCache {
    let capacityInKeys: Int
    private var indexes: [ServerID: InboundContentIndex] = [:]
    /// Oldest first.
    private var order: [ServerID] = []
    private var keyCount = 0

    init(capacityInKeys: Int) {
        self.capacityInKeys = capacityInKeys
    }

    mutating func keep(_ index: InboundContentIndex, for id: ServerID) {
        _ = take(id)
        guard index.keyCount <= capacityInKeys else { return }
        indexes[id] = index
        order.append(id)
        keyCount += index.keyCount
        while keyCount > capacityInKeys, let oldest = order.first {
            _ = take(oldest)
        }
    }

    mutating func take(_ id: ServerID) -> InboundContentIndex? {
        guard let index = indexes.removeValue(forKey: id) else { return nil }
        order.removeAll { $0 == id }
        keyCount -= index.keyCount
        return index
    }
}
