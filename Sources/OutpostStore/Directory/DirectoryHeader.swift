import Foundation

/// `outpost.json`: the one plaintext file of a data directory. It holds the format version and
/// the directory key sealed under the master key, nothing about any server or message.
/// Its JSON Schema is `Schemas/json/directory-header.schema.json`.
///
/// During a master-key rotation it holds two sealed copies of the same directory key: one
/// under the confirmed master key, one under the new key (``pendingDirectoryKey``), until the
/// app confirms that it saved the new key. Either key opens the directory in between, so an
/// app killed after rotating and before saving the new key is not locked out.
struct DirectoryHeader: Codable, Equatable {
    static let currentFormat = 1
    /// Binds the sealed directory key to its purpose.
    static let associatedData = Array("outpost.directory-key.v1".utf8)

    var format: Int
    var directoryKey: SealedBox
    /// The directory key sealed under a new master key not confirmed yet.
    var pendingDirectoryKey: SealedBox?

    enum CodingKeys: String, CodingKey {
        case format
        case directoryKey = "directory_key"
        case pendingDirectoryKey = "pending_directory_key"
    }

    static func create(directoryKey: SecretBytes, masterKey: SecretBytes) -> DirectoryHeader {
        DirectoryHeader(format: currentFormat, directoryKey: seal(directoryKey, under: masterKey))
    }

    static func seal(_ directoryKey: SecretBytes, under masterKey: SecretBytes) -> SealedBox {
        directoryKey.withUnsafeBytes { Sodium.seal($0, key: masterKey, associatedData: associatedData) }
    }

    static func read(from path: String) throws(StoreError) -> DirectoryHeader {
        let bytes = try FileSystem.read(path)
        let header: DirectoryHeader
        do {
            header = try JSONDecoder().decode(DirectoryHeader.self, from: Data(bytes))
        } catch {
            throw .corruptFile(path, "not a data directory header (\(error))")
        }
        guard header.format <= currentFormat else {
            throw StoreError(.schemaTooNew, "\(path) has format \(header.format); this code knows up to \(currentFormat)")
        }
        return header
    }

    func write(to path: String) throws(StoreError) {
        try FileSystem.writeAtomically(JSONFiles.encode(self), to: path)
    }

    /// Unwraps the directory key with the confirmed master key or, during a rotation, the new
    /// one; a failure can only mean the master key is wrong (or the header was tampered with,
    /// which is indistinguishable and equally fatal).
    func openDirectoryKey(masterKey: SecretBytes) throws(StoreError) -> SecretBytes {
        for sealed in [directoryKey] + (pendingDirectoryKey.map { [$0] } ?? []) {
            if let key = Sodium.open(sealed, key: masterKey, associatedData: Self.associatedData), key.count == Sodium.keyBytes {
                return key
            }
        }
        throw .wrongMasterKey
    }
}

/// Deterministic JSON for every file the store writes: sorted keys, so the bytes depend only on
/// the content.
enum JSONFiles {
    static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain Codable structs of strings and numbers cannot fail.
        return try! [UInt8](encoder.encode(value))
    }
}
