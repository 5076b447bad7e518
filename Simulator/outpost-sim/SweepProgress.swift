import Foundation

/// A sweep's progress on standard error, one line rewritten in place with `\r`: the seed
/// running, how many are done, how many failed, and an estimate of the time left.
///
/// The estimate is the average wall time of the seeds done so far times the seeds left; wall
/// time is fine here, in the tool, and never reaches the engine or standard output, which
/// stay deterministic.
struct SweepProgress {
    let total: Int
    private var done = 0
    private var wallSeconds = 0.0
    /// How long the line last written was, so a shorter one can blank out the rest of it.
    private var lastLength = 0

    init(total: Int) {
        self.total = total
    }

    mutating func starting(seed: UInt64, failed: Int) {
        var line = "seed \(seed): \(done)/\(total) done, \(failed) failed"
        if done > 0 {
            let average = wallSeconds / Double(done)
            line += ", \(Self.describe(seconds: average)) per seed, about \(Self.describe(seconds: average * Double(total - done))) left"
        }
        show(line)
    }

    mutating func finished(wallSeconds seconds: Double) {
        done += 1
        wallSeconds += seconds
    }

    mutating func end(failed: Int) {
        show("\(done)/\(total) done, \(failed) failed")
        FileHandle.standardError.write(Data("\n".utf8))
    }

    private mutating func show(_ line: String) {
        let padded = line.padding(toLength: max(line.count, lastLength), withPad: " ", startingAt: 0)
        lastLength = line.count
        FileHandle.standardError.write(Data(("\r" + padded).utf8))
    }

    /// Tenths of a second below ten seconds, whole seconds below a minute, then minutes and hours.
    static func describe(seconds: Double) -> String {
        if seconds < 10 { return String(format: "%.1f s", seconds) }
        let whole = Int(seconds.rounded())
        switch whole {
        case ..<60: return "\(whole) s"
        case ..<3_600: return "\(whole / 60) min \(whole % 60) s"
        default: return "\(whole / 3_600) h \(whole % 3_600 / 60) min"
        }
    }
}
