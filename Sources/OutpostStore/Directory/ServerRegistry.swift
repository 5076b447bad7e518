import Foundation

/// The list of servers, kept in `servers.sealed` (XChaCha20-Poly1305 under a subkey of the
/// directory key) so that no host name is ever in plaintext on disk. The sealed content is JSON
/// following `Schemas/json/server-registry.schema.json`.
struct ServerRegistry: Codable, Equatable {
    static let currentFormat = 1
    static let associatedData = Array("outpost.server-registry.v1".utf8)

    enum EntryState: String, Codable {
        /// Being created; rolled back on the next open if the process died.
        case adding
        /// In use.
        case active
        /// Being removed; the removal is finished on the next open.
        case removing
    }

    struct Entry: Codable, Equatable {
        var id: ServerID
        var origin: ServerOrigin
        var state: EntryState
        var addedAt: Timestamp

        enum CodingKeys: String, CodingKey {
            case id, origin, state
            case addedAt = "added_at_us"
        }
    }

    var format: Int = currentFormat
    /// Sorted by id, so the sealed bytes never depend on insertion history.
    private(set) var entries: [Entry] = []

    enum CodingKeys: String, CodingKey {
        case format
        case entries = "servers"
    }

    init() {}

    func entry(_ id: ServerID) -> Entry? {
        // Entries are sorted by id: every partition access looks its server up here.
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].id < id { low = middle + 1 } else { high = middle }
        }
        return low < entries.count && entries[low].id == id ? entries[low] : nil
    }

    mutating func upsert(_ entry: Entry) {
        entries.removeAll { $0.id == entry.id }
        entries.append(entry)
        entries.sort { $0.id < $1.id }
    }

    mutating func remove(_ id: ServerID) {
        entries.removeAll { $0.id == id }
    }

    // MARK: Sealing

    static func read(from path: String, key: SecretBytes) throws(StoreError) -> ServerRegistry {
        let bytes = try FileSystem.read(path)
        guard let box = SealedBox(combined: bytes),
              let plaintext = Sodium.open(box, key: key, associatedData: associatedData)
        else {
            // The directory key was authenticated by the header, so this file is damaged.
            throw .corruptFile(path, "the server list cannot be opened")
        }
        let registry: ServerRegistry
        do {
            registry = try plaintext.withUnsafeBytes { try JSONDecoder().decode(ServerRegistry.self, from: Data($0)) }
        } catch {
            throw .corruptFile(path, "the server list is not valid (\(error))")
        }
        guard registry.format <= currentFormat else {
            throw StoreError(.schemaTooNew, "\(path) has format \(registry.format); this code knows up to \(currentFormat)")
        }
        return registry
    }

    func write(to path: String, key: SecretBytes) throws(StoreError) {
        let json = SecretBytes(copying: JSONFiles.encode(self))
        let box = json.withUnsafeBytes { Sodium.seal($0, key: key, associatedData: Self.associatedData) }
        try FileSystem.writeAtomically(box.combined, to: path)
    }
}
