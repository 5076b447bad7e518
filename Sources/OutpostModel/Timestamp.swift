/// A point in time as Unix microseconds, the unit of Sovereign's `server_timestamp`.
///
/// The store never reads a clock: every operation that records a time takes it as an
/// argument, so the simulator can drive the store with virtual time.
public struct Timestamp: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var microseconds: Int64

    public init(microseconds: Int64) { self.microseconds = microseconds }

    public static let zero = Timestamp(microseconds: 0)

    public static func seconds(_ seconds: Int64) -> Timestamp { Timestamp(microseconds: seconds * 1_000_000) }

    /// The time `delta` µs later (earlier when negative), saturating at the ends of the range
    /// rather than trapping: a lifespan of "forever" is `Int64.max`.
    public func adding(microseconds delta: Int64) -> Timestamp {
        let (sum, overflow) = microseconds.addingReportingOverflow(delta)
        return Timestamp(microseconds: overflow ? (delta > 0 ? .max : .min) : sum)
    }

    public func adding(seconds: Int64) -> Timestamp {
        let (micros, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000)
        return adding(microseconds: overflow ? (seconds > 0 ? .max : .min) : micros)
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.microseconds < rhs.microseconds }

    public var description: String { "\(microseconds)µs" }

    public init(from decoder: any Decoder) throws {
        microseconds = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(microseconds)
    }
}
