import Foundation

/// A mutex whose critical sections may throw typed errors (`NSLock.withLock` rethrows untyped).
final class StoreLock: @unchecked Sendable {
    private let lock = NSLock()

    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
