import OutpostStore
import OutpostSync

/// Everything the runtime keeps for one server: its partition, its sans-IO session, and the
/// real resources the session's effects asked for (connections, timers).
struct ServerDriver {
    let partition: Partition
    var session: ServerSession
    var document: DiscoveryDocument
    /// Connection attempts and open connections, by the session's connection id. A task runs
    /// each connection from connect to close.
    var connectionTasks: [ConnectionID: Task<Void, Never>] = [:]
    var openConnections: [ConnectionID: any WebSocketConnection] = [:]
    /// Armed timers; the generation tells a timer that fired after being re-armed or cancelled.
    var timers: [SessionTimer: (generation: UInt64, task: Task<Void, Never>)] = [:]

    var id: ServerID { partition.id }

    /// Stops every task and closes every connection (removal, or the client closing).
    mutating func tearDown(closeCode: UInt16) {
        for (_, timer) in timers { timer.task.cancel() }
        timers.removeAll()
        for (id, task) in connectionTasks {
            // An open connection ends by its close frame; an attempt still connecting is cancelled.
            if let connection = openConnections[id] { connection.close(code: closeCode) } else { task.cancel() }
        }
        openConnections.removeAll()
        connectionTasks.removeAll()
    }
}
