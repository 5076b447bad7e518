import HeapModule
import OutpostStore

/// The simulator's agenda: events ordered by (virtual time, insertion sequence), the model of
/// swift-nio's `EmbeddedEventLoop`. Two events at the same time run in the order they were
/// scheduled, so a run depends only on its seed, never on hashing or threads.
struct EventQueue<Event> {
    /// One scheduled event. The sequence is unique, so the order is total: the heap pops the
    /// same event whatever its internal layout.
    private struct Entry: Comparable {
        let time: Timestamp
        let sequence: UInt64
        let event: Event

        static func < (lhs: Entry, rhs: Entry) -> Bool {
            (lhs.time.microseconds, lhs.sequence) < (rhs.time.microseconds, rhs.sequence)
        }

        static func == (lhs: Entry, rhs: Entry) -> Bool {
            lhs.time == rhs.time && lhs.sequence == rhs.sequence
        }
    }

    private var heap = Heap<Entry>()
    private var nextSequence: UInt64 = 0

    var count: Int { heap.count }
    var isEmpty: Bool { heap.isEmpty }
    var nextTime: Timestamp? { heap.min?.time }

    mutating func schedule(_ event: Event, at time: Timestamp) {
        heap.insert(Entry(time: time, sequence: nextSequence, event: event))
        nextSequence += 1
    }

    /// Whether any scheduled event satisfies `predicate` (the heap's order does not matter).
    func contains(where predicate: (Event) -> Bool) -> Bool {
        heap.unordered.contains { predicate($0.event) }
    }

    /// The earliest scheduled event that satisfies `predicate`.
    func first(where predicate: (Event) -> Bool) -> Event? {
        heap.unordered.filter { predicate($0.event) }.min()?.event
    }

    /// Drops every scheduled event that satisfies `predicate`.
    mutating func removeAll(where predicate: (Event) -> Bool) {
        heap = Heap(heap.unordered.filter { !predicate($0.event) })
    }

    /// Removes and returns the earliest event.
    mutating func pop() -> (time: Timestamp, event: Event)? {
        heap.popMin().map { ($0.time, $0.event) }
    }
}
