import Foundation
import OutpostStore

/// The runtime's source of time: wall-clock timestamps for the sync core and the store, and
/// sleeping until a timer is due. The sans-IO core never reads a clock itself.
public protocol RuntimeClock: Sendable {
    /// The current time as Unix microseconds.
    func now() -> Timestamp
    /// Returns once `deadline` (a value of ``now()``) has passed; throws when cancelled.
    func sleep(until deadline: Timestamp) async throws
}

/// The real clock: wall time for timestamps, the monotonic clock for waiting.
public struct SystemClock: RuntimeClock {
    public init() {}

    public func now() -> Timestamp {
        Timestamp(microseconds: Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()))
    }

    public func sleep(until deadline: Timestamp) async throws {
        let delay = deadline.microseconds - now().microseconds
        if delay > 0 { try await Task.sleep(for: .microseconds(delay)) }
    }
}

/// A clock that runs `speed` times faster than real time, from the wall time at which it was
/// made: every protocol timer (30 s heartbeat, 10 s pong deadline, backoff) fires `speed`
/// times sooner. For tests and demos against local servers; never for talking to real ones.
public struct AcceleratedClock: RuntimeClock {
    /// How many times faster than real time the clock runs.
    public let speed: Double
    private let origin: Timestamp
    private let start = ContinuousClock.now

    public init(speed: Double) {
        precondition(speed >= 1, "an accelerated clock runs at least at real speed")
        self.speed = speed
        origin = SystemClock().now()
    }

    public func now() -> Timestamp {
        let elapsed = ContinuousClock.now - start
        let micros = Double(elapsed.components.seconds) * 1_000_000 + Double(elapsed.components.attoseconds) / 1e12
        return Timestamp(microseconds: origin.microseconds + Int64(micros * speed))
    }

    public func sleep(until deadline: Timestamp) async throws {
        let delay = Double(deadline.microseconds - now().microseconds) / speed
        if delay > 0 { try await Task.sleep(for: .microseconds(Int64(delay.rounded(.up)))) }
    }
}
