import OutpostSchemas

/// Applies the numbered migrations of `Schemas/sql/<kind>/` through `PRAGMA user_version`.
enum SchemaMigrator {
    private static let catalog: [SchemaCatalog.DatabaseKind: Result<[SchemaCatalog.Migration], StoreError>] = {
        var result: [SchemaCatalog.DatabaseKind: Result<[SchemaCatalog.Migration], StoreError>] = [:]
        for kind in SchemaCatalog.DatabaseKind.allCases {
            do {
                result[kind] = .success(try SchemaCatalog.migrations(for: kind))
            } catch {
                result[kind] = .failure(StoreError(.database, "cannot load the \(kind.rawValue) schema: \(error)"))
            }
        }
        return result
    }()

    static func migrations(_ kind: SchemaCatalog.DatabaseKind) throws(StoreError) -> [SchemaCatalog.Migration] {
        try catalog[kind]!.get()
    }

    /// The version this code brings the database to.
    static func latestVersion(_ kind: SchemaCatalog.DatabaseKind) throws(StoreError) -> Int {
        try migrations(kind).count
    }

    /// Refuses a database written by newer code, before anything is written to it.
    static func checkVersion(_ database: Database, _ kind: SchemaCatalog.DatabaseKind) throws(StoreError) -> Int {
        let found = Int(try database.integer("PRAGMA user_version"))
        let supported = try latestVersion(kind)
        guard found <= supported else {
            throw .schemaTooNew(database.path, found: found, supported: supported)
        }
        return found
    }

    /// Applies each migration after `current` in its own transaction.
    static func migrate(_ database: Database, _ kind: SchemaCatalog.DatabaseKind, from current: Int) throws(StoreError) {
        for migration in try migrations(kind) where migration.version > current {
            try database.transaction { () throws(StoreError) in
                try database.execute(migration.sql)
                try database.execute("PRAGMA user_version = \(migration.version)")
            }
        }
    }
}
