import CSodium

/// Key material that is wiped from memory when it is released.
///
/// The bytes live in one heap allocation that is locked against swapping where the system
/// allows it (`sodium_mlock`) and zeroed with `sodium_memzero` in `deinit`. Callers borrow the
/// bytes through ``withUnsafeBytes(_:)`` and never get a copy in an ordinary array.
public final class SecretBytes: @unchecked Sendable {
    // Immutable after `init`: the only writes happen before the object is published and in
    // `deinit`, which is why the unchecked `Sendable` conformance is sound.
    private let storage: UnsafeMutableRawBufferPointer

    /// The number of bytes.
    public var count: Int { storage.count }

    /// Fills a new buffer of `count` bytes from `fill`.
    init(count: Int, fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        Sodium.ensureInitialised()
        storage = .allocate(byteCount: count, alignment: 16)
        _ = sodium_mlock(storage.baseAddress!, count)
        do {
            try fill(storage)
        } catch {
            sodium_munlock(storage.baseAddress!, count)
            storage.deallocate()
            throw error
        }
    }

    /// `count` random bytes from the operating system's CSPRNG.
    public static func random(count: Int) -> SecretBytes {
        SecretBytes(count: count) { randombytes_buf($0.baseAddress!, $0.count) }
    }

    /// Copies `bytes`. The caller remains responsible for wiping its own copy.
    public convenience init(copying bytes: some Collection<UInt8>) {
        self.init(count: bytes.count) { buffer in
            _ = buffer.initializeMemory(as: UInt8.self, from: bytes)
        }
    }

    deinit {
        // sodium_munlock zeroes the memory before unlocking it.
        sodium_munlock(storage.baseAddress!, storage.count)
        storage.deallocate()
    }

    /// Borrows the bytes. Do not let the pointer escape.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(storage))
    }

    /// Constant-time comparison.
    public func isEqual(to other: SecretBytes) -> Bool {
        guard count == other.count else { return false }
        return withUnsafeBytes { mine in
            other.withUnsafeBytes { theirs in
                sodium_memcmp(mine.baseAddress!, theirs.baseAddress!, mine.count) == 0
            }
        }
    }
}
