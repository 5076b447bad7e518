import Foundation

/// Cost of Argon2id (`crypto_pwhash`) when deriving a key from a passphrase.
public struct Argon2Parameters: Hashable, Sendable, Codable {
    public var opsLimit: UInt64
    public var memLimit: UInt64

    public init(opsLimit: UInt64, memLimit: UInt64) {
        self.opsLimit = opsLimit
        self.memLimit = memLimit
    }

    /// libsodium's "moderate" limits: the default for a key file.
    public static var moderate: Argon2Parameters {
        Argon2Parameters(opsLimit: UInt64(crypto_pwhash_opslimit_moderate()), memLimit: UInt64(crypto_pwhash_memlimit_moderate()))
    }

    /// libsodium's "interactive" limits: faster, for tests and low-end devices.
    public static var interactive: Argon2Parameters {
        Argon2Parameters(opsLimit: UInt64(crypto_pwhash_opslimit_interactive()),
                         memLimit: UInt64(crypto_pwhash_memlimit_interactive()))
    }

    enum CodingKeys: String, CodingKey {
        case opsLimit = "ops_limit"
        case memLimit = "mem_limit"
    }

    /// The most passes accepted: 8× libsodium's "sensitive" limit.
    public static let maximumOpsLimit: UInt64 = 32
    /// The most memory accepted: 4 GiB, 4× libsodium's "sensitive" limit.
    public static let maximumMemLimit: UInt64 = 4 << 30

    /// Why these limits cannot be used, or `nil` when they can: within libsodium's bounds, and
    /// no more than ``maximumOpsLimit`` and ``maximumMemLimit``, so that a damaged or hostile
    /// key file cannot make opening the store take hours or all the memory there is.
    public var problem: String? {
        let opsRange = UInt64(crypto_pwhash_opslimit_min())...min(UInt64(crypto_pwhash_opslimit_max()), Self.maximumOpsLimit)
        let memRange = UInt64(crypto_pwhash_memlimit_min())...min(UInt64(crypto_pwhash_memlimit_max()), Self.maximumMemLimit)
        if !opsRange.contains(opsLimit) {
            return "ops_limit \(opsLimit) is outside \(opsRange.lowerBound)…\(opsRange.upperBound)"
        }
        if !memRange.contains(memLimit) {
            return "mem_limit \(memLimit) is outside \(memRange.lowerBound)…\(memRange.upperBound) bytes"
        }
        return nil
    }
}

/// A master key kept in a file, sealed under a key derived from a passphrase with Argon2id:
/// the Linux stand-in for the platform Keychain.
///
/// The file is JSON following `Schemas/json/master-key-file.schema.json`: the Argon2id
/// parameters and salt, and the master key sealed with XChaCha20-Poly1305. The passphrase is
/// needed every time the key is read; neither it nor the derived key is kept.
public struct PassphraseKeyFile: KeyProvider {
    public let path: String
    private let passphrase: SecretBytes

    static let currentFormat = 1
    static let associatedData = Array("outpost.master-key-file.v1".utf8)

    struct Contents: Codable {
        var format: Int
        var kdf: String
        var parameters: Argon2Parameters
        var salt: String
        var masterKey: SealedBox

        enum CodingKeys: String, CodingKey {
            case format, kdf, parameters, salt
            case masterKey = "master_key"
        }
    }

    /// A provider that reads the key file at `path` with `passphrase`.
    public init(path: String, passphrase: String) {
        self.path = path
        self.passphrase = SecretBytes(copying: Array(passphrase.utf8))
    }

    /// Creates a key file holding a new random master key. Refuses to overwrite an existing file.
    @discardableResult
    public static func create(
        at path: String, passphrase: String, parameters: Argon2Parameters = .moderate
    ) throws(StoreError) -> PassphraseKeyFile {
        guard !FileSystem.fileExists(path) else {
            throw StoreError(.io, "\(path) already exists; a key file is never overwritten")
        }
        let provider = PassphraseKeyFile(path: path, passphrase: passphrase)
        try provider.seal(SecretBytes.random(count: masterKeyLength), parameters: parameters, replacing: false)
        return provider
    }

    public func masterKey() throws(StoreError) -> SecretBytes {
        let bytes = try FileSystem.read(path)
        let contents: Contents
        do {
            contents = try JSONDecoder().decode(Contents.self, from: Data(bytes))
        } catch {
            throw .corruptFile(path, "not a master key file (\(error))")
        }
        guard contents.format <= Self.currentFormat else {
            throw StoreError(.schemaTooNew, "\(path) has format \(contents.format); this code knows up to \(Self.currentFormat)")
        }
        guard contents.kdf == "argon2id13", let salt = Data(base64Encoded: contents.salt), salt.count == Sodium.saltBytes else {
            throw .corruptFile(path, "unknown key derivation")
        }
        if let problem = contents.parameters.problem { throw .corruptFile(path, problem) }
        guard let wrappingKey = Sodium.argon2id(passphrase: passphrase, salt: [UInt8](salt), parameters: contents.parameters) else {
            throw StoreError(.invalidKey, "Argon2id failed for \(path) (not enough memory?)")
        }
        guard let key = Sodium.open(contents.masterKey, key: wrappingKey, associatedData: Self.associatedData),
              key.count == masterKeyLength
        else { throw .wrongPassphrase }
        return key
    }

    /// Re-seals the same master key under `newPassphrase` (the data directory is untouched).
    public func changePassphrase(to newPassphrase: String, parameters: Argon2Parameters = .moderate) throws(StoreError) -> PassphraseKeyFile {
        let key = try masterKey()
        let replacement = PassphraseKeyFile(path: path, passphrase: newPassphrase)
        try replacement.seal(key, parameters: parameters, replacing: true)
        return replacement
    }

    private func seal(_ key: SecretBytes, parameters: Argon2Parameters, replacing: Bool) throws(StoreError) {
        guard passphrase.count > 0 else { throw .invalidKey("the passphrase is empty") }
        if let problem = parameters.problem { throw .invalidKey(problem) }
        let salt = Sodium.randomBytes(Sodium.saltBytes)
        guard let wrappingKey = Sodium.argon2id(passphrase: passphrase, salt: salt, parameters: parameters) else {
            throw StoreError(.invalidKey, "Argon2id failed (not enough memory for \(parameters.memLimit) bytes?)")
        }
        let sealed = key.withUnsafeBytes { Sodium.seal($0, key: wrappingKey, associatedData: Self.associatedData) }
        let contents = Contents(format: Self.currentFormat, kdf: "argon2id13", parameters: parameters,
                                salt: Base64.encode(salt), masterKey: sealed)
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty { try FileSystem.createDirectory(parent) }
        try FileSystem.writeAtomically(JSONFiles.encode(contents), to: path)
    }
}

import CSodium
