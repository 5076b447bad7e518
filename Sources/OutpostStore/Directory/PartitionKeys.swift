import Foundation

/// `keys.json` in a partition: one random 256-bit key per database, each sealed under the
/// key-wrapping subkey and bound to its server and file name. Deleting this file destroys the
/// partition's data for good. Its JSON Schema is `Schemas/json/partition-keys.schema.json`.
struct PartitionKeys: Codable, Equatable {
    static let currentFormat = 1

    var format: Int
    var messages: SealedBox
    var mlsState: SealedBox

    enum CodingKeys: String, CodingKey {
        case format, messages
        case mlsState = "mls_state"
    }

    static func associatedData(_ id: ServerID, _ file: DatabaseFile) -> [UInt8] {
        Array("outpost.database-key.v1|\(id.hex)|\(file.rawValue)".utf8)
    }

    /// Creates fresh random keys for `id`, wrapped under `wrappingKey`.
    static func generate(for id: ServerID, wrappingKey: SecretBytes) -> PartitionKeys {
        func wrapNew(_ file: DatabaseFile) -> SealedBox {
            let key = SecretBytes.random(count: Sodium.keyBytes)
            return key.withUnsafeBytes { Sodium.seal($0, key: wrappingKey, associatedData: associatedData(id, file)) }
        }
        return PartitionKeys(format: currentFormat, messages: wrapNew(.messages), mlsState: wrapNew(.mlsState))
    }

    static func read(from path: String) throws(StoreError) -> PartitionKeys {
        let bytes = try FileSystem.read(path)
        let keys: PartitionKeys
        do {
            keys = try JSONDecoder().decode(PartitionKeys.self, from: Data(bytes))
        } catch {
            throw .corruptFile(path, "not a partition key file (\(error))")
        }
        guard keys.format <= currentFormat else {
            throw StoreError(.schemaTooNew, "\(path) has format \(keys.format); this code knows up to \(currentFormat)")
        }
        return keys
    }

    func write(to path: String) throws(StoreError) {
        try FileSystem.writeAtomically(JSONFiles.encode(self), to: path)
    }

    /// Unwraps the key of `file`. The wrapping key is authenticated by the header, so a failure
    /// means this file was damaged or moved from another partition.
    func unwrap(_ file: DatabaseFile, for id: ServerID, wrappingKey: SecretBytes, path: String) throws(StoreError) -> SecretBytes {
        let box = file == .messages ? messages : mlsState
        guard let key = Sodium.open(box, key: wrappingKey, associatedData: Self.associatedData(id, file)),
              key.count == Sodium.keyBytes
        else { throw .corruptFile(path, "the \(file.rawValue) key cannot be unwrapped") }
        return key
    }
}
