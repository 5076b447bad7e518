import Foundation
import OutpostSchemas
import Testing
@testable import OutpostStore

/// `Schemas/` is the only copy of every format: the code loads it, and nothing repeats it.
@Suite("Schemas are the single source of truth")
struct SchemaSourceOfTruthTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test(arguments: SchemaCatalog.DatabaseKind.allCases)
    func theMigrationsTheCodeAppliesAreTheFilesInSchemas(kind: SchemaCatalog.DatabaseKind) throws {
        let folder = Self.repositoryRoot.appendingPathComponent("Schemas/sql/\(kind.rawValue)")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }.sorted()
        let loaded = try SchemaCatalog.migrations(for: kind)
        #expect(loaded.map(\.fileName) == files)
        for migration in loaded {
            let onDisk = try String(contentsOf: folder.appendingPathComponent(migration.fileName), encoding: .utf8)
            #expect(migration.sql == onDisk)
        }
        #expect(loaded.map(\.version) == Array(1...loaded.count))
    }

    @Test func noSourceFileKeepsASecondCopyOfTheSchema() throws {
        var offenders: [String] = []
        for folder in ["Sources", "Simulator"] {
            let root = Self.repositoryRoot.appendingPathComponent(folder)
            let enumerator = FileManager.default.enumerator(atPath: root.path)
            while let relative = enumerator?.nextObject() as? String {
                guard relative.hasSuffix(".swift") else { continue }
                let text = try String(contentsOf: root.appendingPathComponent(relative), encoding: .utf8)
                for marker in ["CREATE TABLE", "CREATE INDEX", "ALTER TABLE", "\"$schema\""] where text.contains(marker) {
                    offenders.append("\(folder)/\(relative) contains \(marker)")
                }
            }
        }
        #expect(offenders.isEmpty, "\(offenders)")
    }

    @Test func aNewDatabaseHasExactlyTheTablesTheMigrationsDefine() throws {
        let scratch = ScratchDirectory()
        let store = try Store.open(at: scratch.dataDirectory, keyProvider: InMemoryKeyProvider())
        let partition = try store.addServer(origin("family.example"), now: t0)
        let database = try store.withOpenPartition(partition.id) { $0.messages }
        let tables = try database.statement(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        ).rows { $0.text(0) }
        let sql = try SchemaCatalog.migrations(for: .messages).map(\.sql).joined()
        let declared = sql.components(separatedBy: "CREATE TABLE ").dropFirst()
            .map { String($0.prefix { $0 != " " && $0 != "(" }) }.sorted()
        #expect(tables == declared)
        #expect(try database.integer("PRAGMA user_version") == Int64(try SchemaCatalog.migrations(for: .messages).count))
        #expect(try database.statement("PRAGMA journal_mode").firstRow { $0.text(0) } == "wal")
    }
}
