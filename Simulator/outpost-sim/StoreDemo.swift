import ArgumentParser
import Foundation
import OutpostStore

/// Walks through the encrypted store: several servers, a durable outbox, inbound messages with
/// duplicates, the unified conversation list, and a removal, then proves that nothing it wrote
/// is readable on disk.
struct StoreDemo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store-demo",
        abstract: "Demonstrate the encrypted, partitioned store in a scratch directory.")

    @Option(help: "Data directory to use (default: a new temporary directory, removed afterwards).")
    var directory: String?

    @Option(help: "How many servers to add.")
    var servers: Int = 5

    func run() throws {
        let root = directory ?? (NSTemporaryDirectory() + "outpost-demo-\(ProcessInfo.processInfo.processIdentifier)")
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: root) } }
        var now = Timestamp.seconds(1_800_000_000)
        func tick() -> Timestamp { now = now.adding(microseconds: 1_000); return now }

        let store = try Store.open(at: root, keyProvider: InMemoryKeyProvider())
        print("Data directory: \(root)")
        var partitions: [Partition] = []
        for index in 0..<servers {
            let partition = try store.addServer(ServerOrigin(parsing: "server-\(index).sovereign.example"), now: tick())
            try partition.setOwnUserID("me", now: tick())
            try partition.setSessionToken("session-token-\(index)", now: tick())
            partitions.append(partition)
        }
        print("Added \(servers) servers, each with its own encrypted partition.")

        for (index, partition) in partitions.enumerated() {
            try partition.enqueue(conversationID: "general", messageType: "text",
                                  payload: Array("hello from the outbox \(index)".utf8),
                                  clientMessageID: "client-\(index)", now: tick())
            let inbound = (0..<3).map { number in
                Message(messageID: "msg-\(index)-\(number)", conversationID: number == 2 ? "random" : "general",
                        senderID: "peer-\(number)", serverTimestamp: tick(), payload: Array("ciphertext \(index)-\(number)".utf8))
            }
            let outcomes = try partition.storeInbound(inbound + [inbound[0]], now: tick())
            if index == 0 { print("Inbound batch with a repeated push: \(outcomes)") }
        }
        print("\nUnified conversation list (top 6 across all servers):")
        for row in try store.unifiedConversations(limit: 6) {
            print("  \(row.origin.host.padding(toLength: 28, withPad: " ", startingAt: 0)) \(row.summary.conversationID.padding(toLength: 8, withPad: " ", startingAt: 0)) unread \(row.summary.unreadCount)")
        }

        let removed = partitions[0]
        try store.removeServer(removed.id)
        print("\nRemoved \(removed.origin): its partition directory exists: \(FileManager.default.fileExists(atPath: root + "/servers/" + removed.id.hex))")
        print("Servers left: \(store.servers().count); open partitions: \(store.openPartitionCount)")

        let needles = ["hello from the outbox", "sovereign.example", "session-token"]
        var found: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let relative = enumerator?.nextObject() as? String {
            guard let data = FileManager.default.contents(atPath: root + "/" + relative) else { continue }
            for needle in needles where data.range(of: Data(needle.utf8)) != nil { found.append("\(needle) in \(relative)") }
        }
        print("Plaintext scan of every file (WAL included) for \(needles): \(found.isEmpty ? "nothing found" : found.joined(separator: ", "))")
        store.close()
        if !found.isEmpty { throw ExitCode.failure }
    }
}
