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
    /// A step of a first-run setup that is not a file of its own (see ``SetupStep``).
    case setup(SetupStep)

    public var description: String {
        switch self {
        case .header: "header"
        case .registry: "registry"
        case .partitionKeys(let id): "keys(\(id))"
        case .transaction(let id, let operation): "\(operation)(\(id))"
        case .removal(let id, let step): "remove(\(id)).\(step)"
        case .setup(let step): "setup.\(step)"
        }
    }
}

/// The directory steps of a first-run setup. In order: ``createDirectory``, the header
/// (``StorageWrite/header``), ``createServersDirectory``, the server list
/// (``StorageWrite/registry``).
public enum SetupStep: Hashable, Sendable, CustomStringConvertible {
    /// The data directory itself.
    case createDirectory
    /// The directory that holds the partitions.
    case createServersDirectory

    public var description: String {
        switch self {
        case .createDirectory: "createDirectory"
        case .createServersDirectory: "createServersDirectory"
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

/// Decides, before each durable write, whether it happens: the simulator's and the tests'
/// hand on the store.
///
/// - A simulated crash kills the process: the store refuses every further call with
///   ``StoreError/Code/simulatedCrash`` (its memory is considered lost). Reopen the data
///   directory to continue, as a relaunched app would.
/// - A simulated failure makes one write fail as a full disk, a busy database or an I/O error
///   would; nothing is written, and the process lives on.
public struct StorageFaultInjector {
    /// What happens to one write.
    public enum Decision {
        /// The process dies before the write.
        case crash
        /// The write fails with `error`; the store stays usable.
        case fail(StoreError)
    }

    /// `nil`: the write goes ahead.
    public var decide: (StorageWrite) -> Decision?

    public init(decide: @escaping (StorageWrite) -> Decision?) {
        self.decide = decide
    }

    /// The process dies when `shouldCrash` says so.
    public init(shouldCrash: @escaping (StorageWrite) -> Bool) {
        decide = { shouldCrash($0) ? .crash : nil }
    }

    /// Crashes at the `k`-th write counted from now (1-based).
    public static func crash(atWrite k: Int) -> StorageFaultInjector {
        var count = 0
        return StorageFaultInjector { _ in
            count += 1
            return count == k
        }
    }

    /// Fails writes `k` … `k + count - 1` (1-based, counted from now) with `error`; the others
    /// go ahead.
    public static func fail(atWrite k: Int, count: Int = 1, with error: StoreError) -> StorageFaultInjector {
        var seen = 0
        return StorageFaultInjector { _ in
            seen += 1
            return (k..<(k + max(count, 1))).contains(seen) ? .fail(error) : nil
        }
    }
}
