import NIOConcurrencyHelpers

/// Fans one stream of events out to any number of `AsyncStream` subscribers, each with its own
/// filter and a bounded buffer. Subscribers are served in the order they subscribed; a
/// subscriber whose stream is dropped goes.
///
/// A subscriber that falls behind never makes memory grow: its buffer keeps the newest
/// `bufferingNewest` elements, and, when the stream has a ``MissedMarker``, the next element it
/// reads after a loss is a marker saying how many it missed.
final class Broadcaster<Event: Sendable>: Sendable {
    private struct Subscribers: Sendable {
        var next = 0
        var sinks: [Int: Sink] = [:]
        var finished = false
    }

    private struct Sink: Sendable {
        let yield: @Sendable (Event) -> Bool
        let finish: @Sendable () -> Void
    }

    private let subscribers = NIOLockedValueBox(Subscribers())

    /// A stream that first yields `initial`, then `transform(event)` for every published event
    /// it does not map to `nil`, holding at most `bufferingNewest` of them for a slow consumer.
    func subscribe<Element: Sendable>(
        initial: [Element] = [], bufferingNewest limit: Int, missed: MissedMarker<Element>? = nil,
        _ transform: @escaping @Sendable (Event) -> Element?
    ) -> AsyncStream<Element> {
        let queue = BoundedQueue<Element>(limit: limit, missed: missed)
        for element in initial { queue.push(element) }
        let registered = subscribers.withLockedValue { subscribers in
            guard !subscribers.finished else { return false }
            subscribers.next += 1
            // The stream owns its queue; the broadcaster only reaches it while the stream lives.
            subscribers.sinks[subscribers.next] = Sink(
                yield: { [weak queue] event in
                    guard let queue else { return false }
                    if let element = transform(event) { queue.push(element) }
                    return true
                },
                finish: { [weak queue] in queue?.finish() })
            return true
        }
        if !registered { queue.finish() }
        return AsyncStream(unfolding: { await queue.next() }, onCancel: { queue.finish() })
    }

    /// Subscribers still registered (a dropped stream goes at the next publish); for tests.
    var subscriberCount: Int { subscribers.withLockedValue { $0.sinks.count } }

    func publish(_ event: Event) {
        let sinks = subscribers.withLockedValue { $0.sinks.sorted { $0.key < $1.key } }
        var gone: [Int] = []
        for (key, sink) in sinks where !sink.yield(event) { gone.append(key) }
        if !gone.isEmpty {
            subscribers.withLockedValue { subscribers in
                for key in gone { subscribers.sinks.removeValue(forKey: key) }
            }
        }
    }

    /// Ends every stream; later subscribers get an empty one.
    func finish() {
        let sinks = subscribers.withLockedValue { subscribers in
            subscribers.finished = true
            defer { subscribers.sinks.removeAll() }
            return subscribers.sinks.sorted { $0.key < $1.key }.map(\.value)
        }
        for sink in sinks { sink.finish() }
    }
}

/// How a stream marks where a slow consumer lost elements: `make(count)` builds the marker.
struct MissedMarker<Element: Sendable>: Sendable {
    let make: @Sendable (Int) -> Element
}

/// One subscriber's buffer: the newest `limit` elements, and how many older ones were dropped
/// since the consumer last read.
private final class BoundedQueue<Element: Sendable>: Sendable {
    private struct State {
        var buffer: [Element] = []
        var missed = 0
        var waiter: CheckedContinuation<Element?, Never>?
        var finished = false
    }

    private let limit: Int
    private let missed: MissedMarker<Element>?
    private let state = NIOLockedValueBox(State())

    init(limit: Int, missed: MissedMarker<Element>?) {
        self.limit = max(limit, 1)
        self.missed = missed
    }

    func push(_ element: Element) {
        let waiter: CheckedContinuation<Element?, Never>? = state.withLockedValue { state in
            guard !state.finished else { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            if state.buffer.count == limit {
                state.buffer.removeFirst()
                state.missed += 1
            }
            state.buffer.append(element)
            return nil
        }
        waiter?.resume(returning: element)
    }

    func finish() {
        let waiter = state.withLockedValue { state in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// The next element: a marker first when some were dropped, then the oldest kept one;
    /// `nil` once finished and drained.
    func next() async -> Element? {
        await withCheckedContinuation { continuation in
            let ready: Element?? = state.withLockedValue { state in
                if state.missed > 0 {
                    let count = state.missed
                    state.missed = 0
                    if let missed { return .some(missed.make(count)) }
                }
                if !state.buffer.isEmpty { return .some(state.buffer.removeFirst()) }
                if state.finished { return .some(nil) }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
