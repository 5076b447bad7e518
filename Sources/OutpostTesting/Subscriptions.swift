import OutpostClientCore
import OutpostStore
import OutpostSync

/// The streams the app's clients opened in a ``SimulatedWorld``: what each one has to deliver,
/// kept until the test's `for await` pulls it. A stream belongs to the app's incarnation that
/// opened it and ends when that app dies, as a real one would.
final class Subscriptions {
    enum Kind {
        case events
        case notifications
        case connectionStates(ServerID)
        case conversationList(limit: Int, servers: Set<ServerID>?)
    }

    enum Value {
        case event(OutpostEvent)
        case notification(MessageNotification)
        case state(ConnectionState)
        /// The conversation list changed: the next value is computed when it is pulled.
        case listChanged(limit: Int, servers: Set<ServerID>?)
    }

    private struct Subscription {
        let kind: Kind
        let incarnation: UInt64
        var buffer: [Value] = []
        var isListStale = false
    }

    private var entries: [Int: Subscription] = [:]
    private var nextKey = 0

    func add(_ kind: Kind, incarnation: UInt64, initial: Value? = nil) -> Int {
        nextKey += 1
        var subscription = Subscription(kind: kind, incarnation: incarnation)
        if let initial { subscription.buffer.append(initial) }
        if case .conversationList = kind { subscription.isListStale = true }
        entries[nextKey] = subscription
        return nextKey
    }

    func remove(_ key: Int) {
        entries.removeValue(forKey: key)
    }

    /// Whether the subscription's app is still the one running.
    func isAlive(_ key: Int, running incarnation: UInt64?) -> Bool {
        entries[key]?.incarnation == incarnation
    }

    /// Whether a pull of `key` can be answered now: a value waits, or the stream has ended.
    func isReady(_ key: Int, running incarnation: UInt64?) -> Bool {
        guard let entry = entries[key], entry.incarnation == incarnation else { return true }
        return !entry.buffer.isEmpty || entry.isListStale
    }

    /// The oldest value waiting for `key`.
    func take(_ key: Int) -> Value? {
        guard var entry = entries[key] else { return nil }
        defer { entries[key] = entry }
        if !entry.buffer.isEmpty { return entry.buffer.removeFirst() }
        guard entry.isListStale, case .conversationList(let limit, let servers) = entry.kind else { return nil }
        entry.isListStale = false
        return .listChanged(limit: limit, servers: servers)
    }

    func publish(_ event: OutpostEvent) {
        for key in entries.keys {
            switch entries[key]!.kind {
            case .events:
                entries[key]!.buffer.append(.event(event))
            case .connectionStates(let server) where server == event.server:
                if case .connectionStateChanged(let state) = event.kind { entries[key]!.buffer.append(.state(state)) }
            default:
                break
            }
        }
    }

    func publish(_ notification: MessageNotification) {
        for key in entries.keys {
            if case .notifications = entries[key]!.kind { entries[key]!.buffer.append(.notification(notification)) }
        }
    }

    func conversationsChanged() {
        for key in entries.keys {
            if case .conversationList = entries[key]!.kind { entries[key]!.isListStale = true }
        }
    }
}
