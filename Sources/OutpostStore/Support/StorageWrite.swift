/// One durable write the store is about to make. The simulator counts them to kill the
/// process at the k-th write; tests stop a removal after each of its steps.
public enum StorageWrite: Hashable, Sendable, CustomStringConvertible {
    /// The data directory header (the wrapped directory key).
    case header
    /// The sealed server list.
    case registry
    /// A partition's wrapped database keys.
    case partitionKeys(ServerID)
    /// A transaction in a partition database; `operation` names it.
    case transaction(ServerID, operation: String)
    /// One step of a server removal.
    case removal(ServerID, RemovalStep)

    public var description: String {
        switch self {
        case .header: "header"
        case .registry: "registry"
        case .partitionKeys(let id): "keys(\(id))"
        case .transaction(let id, let operation): "\(operation)(\(id))"
        case .removal(let id, let step): "remove(\(id)).\(step)"
        }
    }
}

/// The steps of a crash-safe server removal, in order. After ``markRemoving`` the server is
/// never listed or opened again; the remaining steps are re-run on the next open if the
/// process dies in between.
public enum RemovalStep: Hashable, Sendable, CustomStringConvertible {
    /// The server list records the removal (durable intent).
    case markRemoving
    /// The wrapped database keys are deleted: from here on the databases are unreadable.
    case destroyKeys
    /// One file of the partition is deleted.
    case deleteFile(String)
    /// The emptied partition directory is deleted.
    case removeDirectory
    /// The server is dropped from the server list.
    case dropFromRegistry

    public var description: String {
        switch self {
        case .markRemoving: "markRemoving"
        case .destroyKeys: "destroyKeys"
        case .deleteFile(let name): "deleteFile(\(name))"
        case .removeDirectory: "removeDirectory"
        case .dropFromRegistry: "dropFromRegistry"
        }
    }
}

/// Decides, before each durable write, whether the simulated process dies instead.
///
/// After a simulated crash the store refuses every further call with
/// ``StoreError/Code/simulatedCrash``: its memory is considered lost. Reopen the data directory
/// to continue, as a relaunched app would.
public struct StorageFaultInjector {
    public var shouldCrash: (StorageWrite) -> Bool

    public init(shouldCrash: @escaping (StorageWrite) -> Bool) {
        self.shouldCrash = shouldCrash
    }

    /// Crashes at the `k`-th write counted from now (1-based).
    public static func crash(atWrite k: Int) -> StorageFaultInjector {
        var count = 0
        return StorageFaultInjector { _ in
            count += 1
            return count == k
        }
    }
}
