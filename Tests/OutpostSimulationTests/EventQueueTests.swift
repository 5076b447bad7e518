import OutpostStore
import OutpostSync
import Testing
@testable import OutpostSimulation

/// The agenda's order is (time, scheduling order) and nothing else: the trace hashes depend on it.
@Suite("The simulator's event queue")
struct EventQueueTests {
    @Test func eventsAtTheSameTimeRunInTheOrderTheyWereScheduled() {
        var queue = EventQueue<String>()
        for (name, time) in [("b1", 2), ("a1", 1), ("b2", 2), ("a2", 1), ("c", 3), ("b3", 2)] {
            queue.schedule(name, at: .seconds(Int64(time)))
        }
        #expect(queue.nextTime == .seconds(1))
        var order: [String] = []
        while let (_, name) = queue.pop() { order.append(name) }
        #expect(order == ["a1", "a2", "b1", "b2", "b3", "c"])
        #expect(queue.isEmpty && queue.nextTime == nil)
    }

    @Test(arguments: [1, 2, 3, 42] as [UInt64])
    func anyScheduleIsPoppedSortedByTimeThenSequence(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var queue = EventQueue<Int>()
        var expected: [(time: Int64, sequence: Int)] = []
        var popped: [Int] = []
        for sequence in 0..<2_000 {
            // A few pops between schedules, as the engine does.
            if random.next() % 4 == 0, let (_, event) = queue.pop() { popped.append(event) }
            let time = Int64(random.next() % 50)
            expected.append((time, sequence))
            queue.schedule(sequence, at: .seconds(time))
        }
        while let (_, event) = queue.pop() { popped.append(event) }
        #expect(popped.count == expected.count)
        // Replayed against a plain sorted list, with the same interleaving of pops.
        var reference = ReferenceQueue()
        var replayed: [Int] = []
        var random2 = SplitMix64(seed: seed)
        for (time, sequence) in expected {
            if random2.next() % 4 == 0, let event = reference.pop() { replayed.append(event) }
            _ = random2.next()
            reference.schedule(sequence, at: time)
        }
        while let event = reference.pop() { replayed.append(event) }
        #expect(popped == replayed)
    }

    /// The obvious, slow agenda.
    struct ReferenceQueue {
        var entries: [(time: Int64, sequence: Int)] = []
        mutating func schedule(_ sequence: Int, at time: Int64) { entries.append((time, sequence)) }
        mutating func pop() -> Int? {
            guard let index = entries.indices.min(by: { (entries[$0].time, entries[$0].sequence) < (entries[$1].time, entries[$1].sequence) })
            else { return nil }
            return entries.remove(at: index).sequence
        }
    }
}
