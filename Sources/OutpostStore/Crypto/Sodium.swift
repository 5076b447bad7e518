import Foundation
import CSodium

/// Thin, typed wrappers over the few libsodium primitives the store uses.
///
/// libsodium 1.0.18 has no HKDF: derivation uses `crypto_kdf_derive_from_key` (BLAKE2b), names
/// use keyed BLAKE2b (`crypto_generichash`), sealing uses XChaCha20-Poly1305.
enum Sodium {
    private static let initialised: Bool = sodium_init() >= 0

    static func ensureInitialised() {
        precondition(initialised, "libsodium failed to initialise")
    }

    static let keyBytes = 32

    // MARK: Derivation

    /// Purposes of the subkeys derived from the data directory key. The numbers are part of
    /// the on-disk format: never renumber them.
    enum Subkey: UInt64 {
        case registrySealing = 1
        case partitionNaming = 2
        case databaseKeyWrapping = 3
    }

    /// Derives a 256-bit subkey for `purpose` (libsodium's BLAKE2b-based KDF).
    static func deriveSubkey(_ purpose: Subkey, from key: SecretBytes) -> SecretBytes {
        ensureInitialised()
        // The context is exactly crypto_kdf_CONTEXTBYTES (8) characters.
        let context: [CChar] = Array("Outpost1".utf8CString.dropLast())
        return SecretBytes(count: keyBytes) { out in
            key.withUnsafeBytes { master in
                _ = crypto_kdf_derive_from_key(
                    out.baseAddress!.assumingMemoryBound(to: UInt8.self), out.count,
                    purpose.rawValue, context,
                    master.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
    }

    // MARK: Hashing

    /// BLAKE2b of `input`, keyed when `key` is given.
    static func blake2b(_ input: some ContiguousBytes, key: SecretBytes? = nil, outputLength: Int = 32) -> [UInt8] {
        ensureInitialised()
        var out = [UInt8](repeating: 0, count: outputLength)
        input.withUnsafeBytes { message in
            let messagePointer = message.baseAddress?.assumingMemoryBound(to: UInt8.self)
            if let key {
                key.withUnsafeBytes { keyBytes in
                    _ = crypto_generichash(&out, outputLength, messagePointer, UInt64(message.count),
                                           keyBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), keyBytes.count)
                }
            } else {
                _ = crypto_generichash(&out, outputLength, messagePointer, UInt64(message.count), nil, 0)
            }
        }
        return out
    }

    // MARK: Sealing

    static let nonceBytes = Int(crypto_aead_xchacha20poly1305_ietf_npubbytes())
    static let tagBytes = Int(crypto_aead_xchacha20poly1305_ietf_abytes())

    /// Encrypts and authenticates `plaintext` under `key`, binding `associatedData`.
    static func seal(_ plaintext: UnsafeRawBufferPointer, key: SecretBytes, associatedData: [UInt8]) -> SealedBox {
        ensureInitialised()
        var nonce = [UInt8](repeating: 0, count: nonceBytes)
        randombytes_buf(&nonce, nonce.count)
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + tagBytes)
        var length: UInt64 = 0
        key.withUnsafeBytes { keyBytes in
            _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
                &ciphertext, &length,
                plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(plaintext.count),
                associatedData, UInt64(associatedData.count), nil, nonce,
                keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return SealedBox(nonce: nonce, ciphertext: ciphertext)
    }

    /// Opens a box sealed with ``seal(_:key:associatedData:)`` into wiped-on-release memory.
    /// Returns `nil` when the key is wrong or the box was altered.
    static func open(_ box: SealedBox, key: SecretBytes, associatedData: [UInt8]) -> SecretBytes? {
        ensureInitialised()
        guard box.nonce.count == nonceBytes, box.ciphertext.count >= tagBytes else { return nil }
        var failed = false
        let plaintext = SecretBytes(count: box.ciphertext.count - tagBytes) { out in
            var length: UInt64 = 0
            let result = key.withUnsafeBytes { keyBytes in
                crypto_aead_xchacha20poly1305_ietf_decrypt(
                    out.baseAddress?.assumingMemoryBound(to: UInt8.self), &length, nil,
                    box.ciphertext, UInt64(box.ciphertext.count),
                    associatedData, UInt64(associatedData.count), box.nonce,
                    keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
            failed = result != 0
        }
        return failed ? nil : plaintext
    }

    // MARK: Passwords

    /// Argon2id (`crypto_pwhash`) of `passphrase` into a 256-bit key.
    /// `nil` when libsodium refuses (not enough memory) or the limits do not fit its types.
    static func argon2id(passphrase: SecretBytes, salt: [UInt8], parameters: Argon2Parameters) -> SecretBytes? {
        ensureInitialised()
        guard let memLimit = Int(exactly: parameters.memLimit) else { return nil }
        var failed = false
        let key = SecretBytes(count: keyBytes) { out in
            let result = passphrase.withUnsafeBytes { password in
                crypto_pwhash(
                    out.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(out.count),
                    password.baseAddress!.assumingMemoryBound(to: CChar.self), UInt64(password.count),
                    salt, parameters.opsLimit, memLimit,
                    crypto_pwhash_alg_argon2id13())
            }
            failed = result != 0
        }
        return failed ? nil : key
    }

    static var saltBytes: Int { Int(crypto_pwhash_saltbytes()) }

    static func randomBytes(_ count: Int) -> [UInt8] {
        ensureInitialised()
        var bytes = [UInt8](repeating: 0, count: count)
        randombytes_buf(&bytes, count)
        return bytes
    }
}

/// A nonce and an XChaCha20-Poly1305 ciphertext (with its tag).
struct SealedBox: Codable, Equatable, Sendable {
    var nonce: [UInt8]
    var ciphertext: [UInt8]

    /// The compact binary form: nonce followed by ciphertext.
    var combined: [UInt8] { nonce + ciphertext }

    init(nonce: [UInt8], ciphertext: [UInt8]) {
        self.nonce = nonce
        self.ciphertext = ciphertext
    }

    init?(combined: [UInt8]) {
        guard combined.count >= Sodium.nonceBytes + Sodium.tagBytes else { return nil }
        nonce = Array(combined.prefix(Sodium.nonceBytes))
        ciphertext = Array(combined.dropFirst(Sodium.nonceBytes))
    }

    private enum CodingKeys: String, CodingKey { case nonce, ciphertext }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        nonce = try Base64.decode(container.decode(String.self, forKey: .nonce), in: container, key: .nonce)
        ciphertext = try Base64.decode(container.decode(String.self, forKey: .ciphertext), in: container, key: .ciphertext)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Base64.encode(nonce), forKey: .nonce)
        try container.encode(Base64.encode(ciphertext), forKey: .ciphertext)
    }
}
