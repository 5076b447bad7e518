import NIOConcurrencyHelpers

/// Fans one stream of events out to any number of `AsyncStream` subscribers, each with its own
/// filter. Subscribers are served in the order they subscribed; a subscriber that stops
/// iterating is dropped.
final class Broadcaster<Event: Sendable>: Sendable {
    private struct Subscribers: Sendable {
        var next = 0
        var sinks: [Int: Sink] = [:]
        var finished = false
    }

    private struct Sink: Sendable {
        let yield: @Sendable (Event) -> Void
        let finish: @Sendable () -> Void
    }

    private let subscribers = NIOLockedValueBox(Subscribers())

    /// A stream that first yields `initial`, then `transform(event)` for every published event
    /// it does not map to `nil`.
    func subscribe<Element: Sendable>(
        initial: [Element] = [], _ transform: @escaping @Sendable (Event) -> Element?
    ) -> AsyncStream<Element> {
        let (stream, continuation) = AsyncStream<Element>.makeStream()
        for element in initial { continuation.yield(element) }
        let id: Int? = subscribers.withLockedValue { subscribers in
            guard !subscribers.finished else { return nil }
            subscribers.next += 1
            subscribers.sinks[subscribers.next] = Sink(
                yield: { event in if let element = transform(event) { continuation.yield(element) } },
                finish: { continuation.finish() })
            return subscribers.next
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            self?.subscribers.withLockedValue { _ = $0.sinks.removeValue(forKey: id) }
        }
        return stream
    }

    func publish(_ event: Event) {
        let sinks = subscribers.withLockedValue { $0.sinks.sorted { $0.key < $1.key }.map(\.value) }
        for sink in sinks { sink.yield(event) }
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
