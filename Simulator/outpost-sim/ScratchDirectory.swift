import Foundation

/// The directory a command's runs put their client data directories in (`client-<seed>`).
///
/// The engine removes each run's data directory, but not the directory around it, so without
/// this every invocation left an empty `outpost-sim-…` directory in the temporary directory.
/// Each command makes one with ``make()`` and removes it with `defer` (unless asked to keep
/// it), so it goes whether the command passes, fails or throws.
struct ScratchDirectory {
    let path: String

    /// A new, empty directory of this process's own. `mkdtemp` rather than a name built from
    /// the process id: a reused process id must never point at a directory a run kept.
    static func make() throws -> ScratchDirectory {
        var base = NSTemporaryDirectory()
        if !base.hasSuffix("/") { base += "/" }
        var template = Array((base + "outpost-sim-\(ProcessInfo.processInfo.processIdentifier)-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CommandFailure("cannot create a scratch directory in \(base): \(String(cString: strerror(errno)))")
        }
        return ScratchDirectory(path: String(cString: made))
    }

    /// Where the engine puts the client's data directory of the run with `seed`.
    func clientDirectory(seed: UInt64) -> String {
        path + "/client-\(seed)"
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// A failure the tool explains in one sentence; ArgumentParser prints it after `Error:` and
/// exits with a non-zero status.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
