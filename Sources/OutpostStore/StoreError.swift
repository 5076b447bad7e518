/// An error from the encrypted store.
///
/// Errors are a struct with static members (the swift-nio style), so that new cases can be
/// added without breaking callers that switch on ``code``. No path that throws one of these
/// deletes or overwrites user data.
public struct StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, as a closed set the caller can match on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case wrongMasterKey = "wrong master key"
            case wrongPassphrase = "wrong passphrase"
            case invalidKey = "invalid key"
            case corruptDatabase = "corrupt database"
            case corruptFile = "corrupt file"
            case schemaTooNew = "schema newer than this code"
            case diskFull = "disk full"
            case busy = "database busy"
            case serverNotFound = "server not found"
            case serverAlreadyAdded = "server already added"
            case invalidServerURL = "invalid server URL"
            case payloadTooLarge = "payload too large"
            case outboxItemNotFound = "outbox item not found"
            case invalidOutboxTransition = "invalid outbox transition"
            case database = "database error"
            case io = "I/O error"
            case simulatedCrash = "simulated crash"
        }

        fileprivate let base: Base

        public static let wrongMasterKey = Code(base: .wrongMasterKey)
        public static let wrongPassphrase = Code(base: .wrongPassphrase)
        public static let invalidKey = Code(base: .invalidKey)
        public static let corruptDatabase = Code(base: .corruptDatabase)
        public static let corruptFile = Code(base: .corruptFile)
        public static let schemaTooNew = Code(base: .schemaTooNew)
        public static let diskFull = Code(base: .diskFull)
        /// Another connection held the database's lock for longer than the busy timeout.
        public static let busy = Code(base: .busy)
        public static let serverNotFound = Code(base: .serverNotFound)
        public static let serverAlreadyAdded = Code(base: .serverAlreadyAdded)
        public static let invalidServerURL = Code(base: .invalidServerURL)
        public static let payloadTooLarge = Code(base: .payloadTooLarge)
        public static let outboxItemNotFound = Code(base: .outboxItemNotFound)
        public static let invalidOutboxTransition = Code(base: .invalidOutboxTransition)
        public static let database = Code(base: .database)
        public static let io = Code(base: .io)
        public static let simulatedCrash = Code(base: .simulatedCrash)

        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// A human-readable explanation: which file, which value, which limit.
    public let detail: String
    /// The SQLite result code, when the failure came from SQLite.
    public let sqliteResultCode: Int32?

    init(_ code: Code, _ detail: String, sqliteResultCode: Int32? = nil) {
        self.code = code
        self.detail = detail
        self.sqliteResultCode = sqliteResultCode
    }

    public var description: String { "\(code): \(detail)" }

    // MARK: Constructors

    static var wrongMasterKey: StoreError {
        StoreError(.wrongMasterKey, "the master key does not open this data directory")
    }
    static var wrongPassphrase: StoreError {
        StoreError(.wrongPassphrase, "the passphrase does not open this key file")
    }
    static func invalidKey(_ detail: String) -> StoreError { StoreError(.invalidKey, detail) }
    static func corruptDatabase(_ path: String, sqliteResultCode: Int32? = nil) -> StoreError {
        StoreError(.corruptDatabase, "\(path) is not a readable database under its (verified) key",
                   sqliteResultCode: sqliteResultCode)
    }
    static func corruptFile(_ path: String, _ why: String) -> StoreError {
        StoreError(.corruptFile, "\(path): \(why)")
    }
    static func schemaTooNew(_ path: String, found: Int, supported: Int) -> StoreError {
        StoreError(.schemaTooNew, "\(path) has schema version \(found); this code knows up to \(supported)")
    }
    static func diskFull(_ detail: String) -> StoreError {
        StoreError(.diskFull, detail, sqliteResultCode: 13)
    }
    static func serverNotFound(_ id: ServerID) -> StoreError {
        StoreError(.serverNotFound, "no server \(id)")
    }
    static func serverAlreadyAdded(_ origin: ServerOrigin) -> StoreError {
        StoreError(.serverAlreadyAdded, "\(origin) is already added")
    }
    static func invalidServerURL(_ text: String, _ why: String) -> StoreError {
        StoreError(.invalidServerURL, "\"\(text)\": \(why)")
    }
    static func payloadTooLarge(_ size: Int, limit: Int) -> StoreError {
        StoreError(.payloadTooLarge, "payload of \(size) bytes is over the \(limit)-byte limit")
    }
    static func outboxItemNotFound(_ clientMessageID: String) -> StoreError {
        StoreError(.outboxItemNotFound, "no outbox item \(clientMessageID)")
    }
    static func invalidOutboxTransition(_ clientMessageID: String, from: OutboxState, to: String) -> StoreError {
        StoreError(.invalidOutboxTransition, "outbox item \(clientMessageID) is \(from.rawValue); cannot \(to)")
    }
    static func io(_ operation: String, path: String, errno code: Int32) -> StoreError {
        StoreError(.io, "\(operation) \(path): \(String(cString: strerror(code))) (errno \(code))")
    }
    static func simulatedCrash(_ write: StorageWrite) -> StoreError {
        StoreError(.simulatedCrash, "process killed before write \(write)")
    }

    /// A write failure as a simulation injects it (``StorageFaultInjector/fail(atWrite:count:with:)``):
    /// ``Code/diskFull``, ``Code/busy`` or ``Code/io``, with the SQLite result code a real one
    /// would carry.
    public static func simulatedFailure(_ code: Code) -> StoreError {
        switch code {
        case .diskFull: StoreError(.diskFull, "simulated: the disk is full", sqliteResultCode: 13)
        case .busy: StoreError(.busy, "simulated: the database is locked", sqliteResultCode: 5)
        default: StoreError(.io, "simulated: disk I/O error", sqliteResultCode: 10)
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
