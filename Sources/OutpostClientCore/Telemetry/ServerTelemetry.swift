import CoreMetrics
import Logging

/// One server core's logger and metrics: the server's id as the logger's `server` metadata and
/// as every metric's `server` dimension. A class, so that a ``ServerCore`` (a value the
/// simulator and the runtime move around on every input) carries one reference, not a dozen.
///
/// Metric names (all labelled `server`):
///
/// | name | type | what |
/// | --- | --- | --- |
/// | `outpost_reconnects_total` | counter | connection attempts after the first |
/// | `outpost_connection_state` | gauge | 0 Disconnected, 1 Connecting, 2 Authenticating, 3 Connected, 4 AuthFailed, 5 Disconnecting |
/// | `outpost_outbox_depth` | gauge | queued and in-flight items |
/// | `outpost_outbox_oldest_age_seconds` | gauge | how long the oldest of them has waited |
/// | `outpost_messages_stored_total` | counter | inbound messages committed |
/// | `outpost_duplicates_dropped_total` | counter | inbound messages already stored (redeliveries, history overlap) |
/// | `outpost_gaps_opened_total`, `outpost_gaps_filled_total` | counter | persisted gaps |
/// | `outpost_history_pages_total` | counter | history pages received |
/// | `outpost_storage_errors_total` | counter | failed partition writes |
final class ServerTelemetry: Sendable {
    let logger: Logger
    let reconnects: Counter
    let connectionState: Gauge
    let outboxDepth: Gauge
    let outboxOldestAge: Gauge
    let messagesStored: Counter
    let duplicatesDropped: Counter
    let gapsOpened: Counter
    let gapsFilled: Counter
    let historyPages: Counter
    let storageErrors: Counter

    init(server: ServerID, logger: Logger, metrics factory: any MetricsFactory) {
        var logger = logger
        logger[metadataKey: "server"] = "\(server)"
        self.logger = logger
        let dimensions = [("server", "\(server)")]
        func counter(_ label: String) -> Counter { Counter(label: label, dimensions: dimensions, factory: factory) }
        func gauge(_ label: String) -> Gauge { Gauge(label: label, dimensions: dimensions, factory: factory) }
        reconnects = counter("outpost_reconnects_total")
        connectionState = gauge("outpost_connection_state")
        outboxDepth = gauge("outpost_outbox_depth")
        outboxOldestAge = gauge("outpost_outbox_oldest_age_seconds")
        messagesStored = counter("outpost_messages_stored_total")
        duplicatesDropped = counter("outpost_duplicates_dropped_total")
        gapsOpened = counter("outpost_gaps_opened_total")
        gapsFilled = counter("outpost_gaps_filled_total")
        historyPages = counter("outpost_history_pages_total")
        storageErrors = counter("outpost_storage_errors_total")
    }

    /// The value of `outpost_connection_state` for `state`.
    static func gaugeValue(_ state: ConnectionState) -> Int {
        switch state {
        case .disconnected: 0
        case .connecting: 1
        case .authenticating: 2
        case .connected: 3
        case .authFailed: 4
        case .disconnecting: 5
        }
    }
}

extension Logger {
    /// A logger that drops everything: the default of the client core, which the simulator and
    /// the tests run by the thousand; the runtime passes the app's own.
    static let silent = Logger(label: "outpost", factory: { _ in SwiftLogNoOpLogHandler() })
}
