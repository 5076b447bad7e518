import OutpostStore

/// Durations in the core are plain microsecond counts: no `Duration`, no clock.
public enum Micros {
    public static func seconds(_ value: Int64) -> Int64 { value * 1_000_000 }
    public static func milliseconds(_ value: Int64) -> Int64 { value * 1_000 }
}

extension Timestamp {
    func adding(_ micros: Int64) -> Timestamp { adding(microseconds: micros) }
}
