import Foundation

/// `outpost.json`: the one plaintext file of a data directory. It holds the format version and
/// the directory key sealed under the master key, nothing about any server or message.
/// Its JSON Schema is `Schemas/json/directory-header.schema.json`.
struct DirectoryHeader: Codable, Equatable {
    static let currentFormat = 1
    /// Binds the sealed directory key to its purpose.
    static let associatedData = Array("outpost.directory-key.v1".utf8)

    var format: Int
    var directoryKey: SealedBox

    enum CodingKeys: String, CodingKey {
        case format
        case directoryKey = "directory_key"
    }

    static func create(directoryKey: SecretBytes, masterKey: SecretBytes) -> DirectoryHeader {
        let sealed = directoryKey.withUnsafeBytes {
            Sodium.seal($0, key: masterKey, associatedData: associatedData)
        }
        return DirectoryHeader(format: currentFormat, directoryKey: sealed)
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

    /// Unwraps the directory key; a failure can only mean the master key is wrong (or the
    /// header was tampered with, which is indistinguishable and equally fatal).
    func openDirectoryKey(masterKey: SecretBytes) throws(StoreError) -> SecretBytes {
        guard let key = Sodium.open(directoryKey, key: masterKey, associatedData: Self.associatedData),
              key.count == Sodium.keyBytes
        else { throw .wrongMasterKey }
        return key
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
