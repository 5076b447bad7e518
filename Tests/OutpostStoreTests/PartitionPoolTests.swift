import Foundation
import Testing
@testable import OutpostStore

@Suite("Bounded partition pool")
struct PartitionPoolTests {
    @Test func aThousandServersNeverOpenMorePartitionsThanThePoolAllows() throws {
        let scratch = ScratchDirectory()
        let key = InMemoryKeyProvider()
        let capacity = 16
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: key,
                                   options: .init(partitionPoolCapacity: capacity))
        var ids: [ServerID] = []
        for index in 0..<1_000 {
            let partition = try store.addServer(origin("server-\(index).example"), now: t0)
            _ = try partition.storeInbound([message("m-\(index)", conversation: "conv-\(index)", at: Int64(index))], now: t0)
            ids.append(partition.id)
            #expect(store.openPartitionCount <= capacity)
        }
        #expect(store.servers().count == 1_000)
        for (index, id) in ids.enumerated() {
            let partition = try store.partition(for: id)
            #expect(try partition.message("m-\(index)")?.conversationID == "conv-\(index)")
            #expect(try partition.message("m-\((index + 1) % 1_000)") == nil, "a partition sees only its own rows")
        }
        let unified = try store.unifiedConversations(limit: 5)
        #expect(unified.map(\.summary.conversationID) == ["conv-999", "conv-998", "conv-997", "conv-996", "conv-995"])
        #expect(store.peakOpenPartitionCount == capacity)
        #expect(store.openPartitionCount <= capacity)
    }

    @Test func leastRecentlyUsedIsEvictedFirst() throws {
        let scratch = ScratchDirectory()
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: InMemoryKeyProvider(),
                                   options: .init(partitionPoolCapacity: 2))
        let a = try store.addServer(origin("a.example"), now: t0)
        let b = try store.addServer(origin("b.example"), now: t0)
        let c = try store.addServer(origin("c.example"), now: t0)
        _ = try a.outbox()
        _ = try b.outbox()
        _ = try a.outbox()  // a is now more recent than b
        _ = try c.outbox()  // evicts b
        #expect(store.pool.slot(a.id)?.openPartition != nil)
        #expect(store.pool.slot(b.id)?.openPartition == nil)
        #expect(store.pool.slot(c.id)?.openPartition != nil)
        #expect(try b.outbox().isEmpty)  // reopened lazily
    }
}
