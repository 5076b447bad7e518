/// Durations in the deterministic layers are plain microsecond counts: no `Duration`, no clock.
public enum Micros {
    public static func seconds(_ value: Int64) -> Int64 { value * 1_000_000 }
    public static func milliseconds(_ value: Int64) -> Int64 { value * 1_000 }

    /// `duration` in whole microseconds, rounded up so that a positive duration is never 0,
    /// and saturating at `Int64.max` instead of trapping on a huge value.
    public static func of(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (fromSeconds, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        // 10^12 attoseconds per microsecond; round towards +infinity.
        let fraction = attoseconds / 1_000_000_000_000 + (attoseconds % 1_000_000_000_000 > 0 ? 1 : 0)
        let (total, overflowAgain) = fromSeconds.addingReportingOverflow(fraction)
        return overflowAgain ? (seconds < 0 ? .min : .max) : total
    }
}
