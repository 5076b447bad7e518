import Foundation

/// Access to the files in `Schemas/`, the single source of truth for every persistent and wire
/// format. The store applies the SQL migrations from here and validates against the JSON
/// Schemas from here; there is no second copy in the code.
public enum SchemaCatalog {
    /// One numbered migration file, e.g. `sql/messages/0001_initial.sql`.
    public struct Migration: Sendable, Hashable {
        /// The number from the file name; `PRAGMA user_version` after applying it.
        public let version: Int
        public let fileName: String
        public let sql: String
    }

    /// The databases with a schema of their own.
    public enum DatabaseKind: String, Sendable, CaseIterable {
        case messages
        case mls
    }

    /// The migrations of `database`, in order, numbered 1, 2, 3 … with no hole.
    public static func migrations(for database: DatabaseKind) throws -> [Migration] {
        let folder = try resourceFolder("sql").appendingPathComponent(database.rawValue)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".sql") }
            .sorted()
        var migrations: [Migration] = []
        for name in names {
            guard let version = Int(name.prefix { $0.isNumber }) else {
                throw CatalogError(description: "migration file \(name) does not start with its number")
            }
            guard version == migrations.count + 1 else {
                throw CatalogError(description: "migration \(name) breaks the sequence 1, 2, 3 …")
            }
            let sql = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            migrations.append(Migration(version: version, fileName: name, sql: sql))
        }
        return migrations
    }

    /// The bytes of `json/<name>.schema.json`.
    public static func jsonSchema(named name: String) throws -> Data {
        try Data(contentsOf: resourceFolder("json").appendingPathComponent("\(name).schema.json"))
    }

    /// The names of every JSON Schema in the catalog, sorted.
    public static func jsonSchemaNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: resourceFolder("json").path)
            .filter { $0.hasSuffix(".schema.json") }
            .map { String($0.dropLast(".schema.json".count)) }
            .sorted()
    }

    private static func resourceFolder(_ name: String) throws -> URL {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil) else {
            throw CatalogError(description: "the schema resources (\(name)) are missing from the bundle")
        }
        return url
    }

    public struct CatalogError: Error, CustomStringConvertible {
        public let description: String
    }
}
