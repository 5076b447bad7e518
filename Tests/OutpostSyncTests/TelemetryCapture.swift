import CoreMetrics
import Foundation
import Logging

/// Every log record a test's logger received.
final class LogCapture: @unchecked Sendable {
    struct Record: CustomStringConvertible {
        let level: Logger.Level
        let message: String
        let metadata: Logger.Metadata

        /// The whole record as text, metadata sorted: what a log sink would write.
        var description: String {
            let fields = metadata.keys.sorted().map { "\($0)=\(metadata[$0]!)" }.joined(separator: " ")
            return "[\(level)] \(message) \(fields)"
        }
    }

    private let lock = NSLock()
    private var stored: [Record] = []

    var records: [Record] { lock.withLock { stored } }

    /// A logger writing here at every level.
    func logger() -> Logger {
        var logger = Logger(label: "test") { _ in Handler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    fileprivate func append(_ record: Record) { lock.withLock { stored.append(record) } }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
            capture.append(Record(level: event.level, message: "\(event.message)", metadata: merged))
        }
    }
}

/// A `MetricsFactory` that keeps every value: counters' totals and each gauge's recordings,
/// by label and dimensions.
final class MetricsCapture: MetricsFactory, @unchecked Sendable {
    private let lock = NSLock()
    private var counters: [String: Int64] = [:]
    private var recordings: [String: [Double]] = [:]

    static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
        ([label] + dimensions.sorted { $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }).joined(separator: " ")
    }

    func counter(_ label: String, server: String) -> Int64 {
        lock.withLock { counters[Self.key(label, [("server", server)])] ?? 0 }
    }

    func gauge(_ label: String, server: String) -> [Double] {
        lock.withLock { recordings[Self.key(label, [("server", server)])] ?? [] }
    }

    fileprivate func add(_ key: String, _ amount: Int64) { lock.withLock { counters[key, default: 0] += amount } }
    fileprivate func record(_ key: String, _ value: Double) { lock.withLock { recordings[key, default: []].append(value) } }

    func makeCounter(label: String, dimensions: [(String, String)]) -> CounterHandler {
        Handler(capture: self, key: Self.key(label, dimensions))
    }
    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> FloatingPointCounterHandler {
        Handler(capture: self, key: Self.key(label, dimensions))
    }
    func makeMeter(label: String, dimensions: [(String, String)]) -> MeterHandler {
        Handler(capture: self, key: Self.key(label, dimensions))
    }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> RecorderHandler {
        Handler(capture: self, key: Self.key(label, dimensions))
    }
    func makeTimer(label: String, dimensions: [(String, String)]) -> TimerHandler {
        Handler(capture: self, key: Self.key(label, dimensions))
    }
    func destroyCounter(_ handler: CounterHandler) {}
    func destroyMeter(_ handler: MeterHandler) {}
    func destroyFloatingPointCounter(_ handler: FloatingPointCounterHandler) {}
    func destroyRecorder(_ handler: RecorderHandler) {}
    func destroyTimer(_ handler: TimerHandler) {}

    private final class Handler: CounterHandler, FloatingPointCounterHandler, MeterHandler, RecorderHandler, TimerHandler,
        @unchecked Sendable {
        let capture: MetricsCapture
        let key: String

        init(capture: MetricsCapture, key: String) {
            self.capture = capture
            self.key = key
        }

        func increment(by amount: Int64) { capture.add(key, amount) }
        func increment(by amount: Double) { capture.record(key, amount) }
        func decrement(by amount: Double) { capture.record(key, -amount) }
        func set(_ value: Int64) { capture.record(key, Double(value)) }
        func set(_ value: Double) { capture.record(key, value) }
        func record(_ value: Int64) { capture.record(key, Double(value)) }
        func record(_ value: Double) { capture.record(key, value) }
        func recordNanoseconds(_ duration: Int64) { capture.record(key, Double(duration)) }
        func reset() {}
    }
}
