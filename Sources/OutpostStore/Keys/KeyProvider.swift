/// Supplies the master key of a data directory.
///
/// The master key never encrypts data itself: it wraps the data directory key, which in turn
/// wraps one random key per database (envelope encryption). Rotating the master key therefore
/// rewraps a single small record and re-encrypts no database.
///
/// Implementations: ``InMemoryKeyProvider`` (tests, or a key the app already holds),
/// ``RawKeyProvider`` (a key handed in, e.g. read from the Keychain), ``PassphraseKeyFile``
/// (a key file sealed under a passphrase with Argon2id, for Linux).
public protocol KeyProvider: Sendable {
    /// Returns the 256-bit master key. The store releases it (and so wipes it) after use.
    func masterKey() throws(StoreError) -> SecretBytes
}

/// The length of every symmetric key the store uses.
public let masterKeyLength = 32

/// A master key that lives only in memory.
public struct InMemoryKeyProvider: KeyProvider {
    private let key: SecretBytes

    /// A fresh random master key.
    public init() {
        key = .random(count: masterKeyLength)
    }

    /// Uses `key`, which must be 32 bytes.
    public init(key: SecretBytes) {
        precondition(key.count == masterKeyLength, "a master key is \(masterKeyLength) bytes")
        self.key = key
    }

    public func masterKey() throws(StoreError) -> SecretBytes { key }
}

/// A master key handed in as raw bytes, for example one the app keeps in the platform
/// Keychain. The bytes are copied into wiped-on-release memory.
public struct RawKeyProvider: KeyProvider {
    private let key: SecretBytes

    public init(rawKey: some Collection<UInt8>) throws(StoreError) {
        guard rawKey.count == masterKeyLength else {
            throw .invalidKey("a raw master key must be \(masterKeyLength) bytes, got \(rawKey.count)")
        }
        key = SecretBytes(copying: rawKey)
    }

    public func masterKey() throws(StoreError) -> SecretBytes { key }
}
