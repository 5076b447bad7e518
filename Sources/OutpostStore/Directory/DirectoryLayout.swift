/// Where everything lives in a data directory:
///
/// ```
/// <root>/outpost.json             header: format and the wrapped directory key (no secrets in clear)
/// <root>/servers.sealed           the server list, sealed (XChaCha20-Poly1305)
/// <root>/servers/<server id>/     one partition per server (the id is a keyed hash)
///     keys.json                   the partition's database keys, wrapped
///     messages.db                 SQLCipher: messages, conversations, outbox, cursor, gaps, credentials
///     mls_state.db                SQLCipher: opaque MLS state for the front end's MLS engine
/// ```
struct DirectoryLayout: Sendable {
    let root: String

    var header: String { root + "/outpost.json" }
    var registry: String { root + "/servers.sealed" }
    var servers: String { root + "/servers" }

    func partition(_ id: ServerID) -> String { servers + "/" + id.hex }
    func keys(_ id: ServerID) -> String { partition(id) + "/keys.json" }
    func database(_ id: ServerID, _ file: DatabaseFile) -> String { partition(id) + "/" + file.rawValue }
}

/// The two databases of a partition.
enum DatabaseFile: String, CaseIterable, Sendable {
    case messages = "messages.db"
    case mlsState = "mls_state.db"

    /// SQLite's companion files, which removal deletes too.
    static let sidecarSuffixes = ["-wal", "-shm", "-journal"]
}
