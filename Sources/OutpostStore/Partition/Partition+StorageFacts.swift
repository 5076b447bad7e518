import Foundation

/// What a bug report needs to know about a partition's files, without anything in them.
public struct PartitionStorageFacts: Hashable, Sendable {
    /// The bytes the partition takes on disk: both databases and their companion files.
    public var bytesOnDisk: Int64
    /// The schema version of `messages.db` (`PRAGMA user_version`).
    public var schemaVersion: Int
}

extension Partition {
    /// The partition's size on disk and schema version.
    public func storageFacts() throws(StoreError) -> PartitionStorageFacts {
        let version = try read { partition throws(StoreError) in try partition.messages.integer("PRAGMA user_version") }
        var bytes: Int64 = 0
        for file in DatabaseFile.allCases {
            let path = store.layout.database(id, file)
            for suffix in [""] + DatabaseFile.sidecarSuffixes { bytes += FileSystem.size(of: path + suffix) }
        }
        return PartitionStorageFacts(bytesOnDisk: bytes, schemaVersion: Int(version))
    }
}
