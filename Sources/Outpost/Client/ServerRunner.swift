import Logging
import OutpostClientCore
import OutpostStore
import OutpostSync

/// One server's `ServerCore` on its own serial executor, with the real things its outputs
/// ask for: WebSocket connections, timers as tasks, events for the front end.
///
/// Each server has its own runner, so one server's catch-up (its partition writes included)
/// runs beside another server's sends instead of in front of them. Everything that decides
/// anything happens in the core; this is the thin adapter between it and swift-nio and the
/// clock.
actor ServerRunner {
    private var core: ServerCore
    private let transport: any WebSocketTransport
    private let clock: any RuntimeClock
    private let events: Broadcaster<OutpostEvent>
    private let notifications: Broadcaster<MessageNotification>
    private let logger: Logger
    /// Called when the server's conversations changed (the live list is rebuilt).
    private let conversationsChanged: @Sendable () -> Void
    /// Attempts and open connections, by handle. A task runs each from connect to close.
    private var connections: [ConnectionHandle: Connection] = [:]
    private var timers: [ServerTimer.Kind: (timer: ServerTimer, task: Task<Void, Never>)] = [:]
    private var stopped = false

    private struct Connection {
        let task: Task<Void, Never>
        var open: (any WebSocketConnection)?
        /// The core closed it; its end is reported once the close handshake is over.
        var closing = false
    }

    init(core: ServerCore, transport: any WebSocketTransport, clock: any RuntimeClock, events: Broadcaster<OutpostEvent>,
         notifications: Broadcaster<MessageNotification>, logger: Logger,
         conversationsChanged: @escaping @Sendable () -> Void) {
        self.core = core
        self.transport = transport
        self.clock = clock
        self.events = events
        self.notifications = notifications
        var logger = logger
        logger[metadataKey: "server"] = "\(core.id)"
        self.logger = logger
        self.conversationsChanged = conversationsChanged
    }

    var status: ServerStatus { core.status }
    func diagnostics() -> ServerDiagnostics { core.diagnostics() }
    /// What the front end lists about the server.
    var info: ServerInfo { core.info }

    /// The server's connection state now, then every change. Subscribed on this executor,
    /// where the server's events are published, so no change falls between the two.
    func connectionStates() -> AsyncStream<ConnectionState> {
        let id = core.id
        return events.subscribe(initial: [core.status.connectionState], bufferingNewest: 1) { event in
            guard event.server == id, case .connectionStateChanged(let state) = event.kind else { return nil }
            return state
        }
    }

    // MARK: Inputs and commands

    func handle(_ input: ServerInput) {
        guard !stopped else { return }
        perform(core.handle(input, now: clock.now()))
    }

    /// Runs a command of the core and carries out its outputs, whatever its result.
    func run<Value: Sendable>(_ command: (inout ServerCore, Timestamp) -> ServerCore.Outcome<Value>) throws(OutpostError) -> Value {
        guard !stopped else { throw OutpostError(.unknownServer, "server \(core.id) was removed") }
        let outcome = command(&core, clock.now())
        perform(outcome.outputs)
        return try outcome.result.get()
    }

    func outbox(states: Set<OutboxState>?) throws(OutpostError) -> [OutboxItem] {
        try core.outbox(states: states)
    }

    /// The server is being removed: its core stops, every connection closes and every timer
    /// stops. Nothing reaches the core afterwards.
    func remove() {
        guard !stopped else { return }
        perform(core.handle(.remove, now: clock.now()))
        stop(closeCode: 1000)
    }

    /// Closes every connection and stops every task (removal, or the client closing).
    func stop(closeCode: UInt16) {
        stopped = true
        for (_, entry) in timers { entry.task.cancel() }
        timers.removeAll()
        for handle in connections.keys.sorted(by: { $0.description < $1.description }) {
            close(handle, code: closeCode)
        }
        connections.removeAll()
    }

    // MARK: Outputs

    private func perform(_ outputs: [ServerOutput]) {
        for output in outputs {
            switch output {
            case .openConnection(let handle, let url):
                open(handle, url: url)
            case .closeConnection(let handle, let code):
                close(handle, code: code)
            case .send(let handle, let bytes):
                connections[handle]?.open?.send(bytes)
            case .setTimer(let timer, let at):
                arm(timer, at: at)
            case .cancelTimer(let timer):
                if timers[timer.kind]?.timer == timer { timers.removeValue(forKey: timer.kind)?.task.cancel() }
            case .event(let kind):
                events.publish(OutpostEvent(server: core.id, kind: kind))
            case .notify(let notification):
                notifications.publish(notification)
            case .conversationsChanged:
                conversationsChanged()
            }
        }
    }

    private func open(_ handle: ConnectionHandle, url: String) {
        let transport = self.transport
        // The address only at `.debug`: an app's `.info` logs must not say which servers a user has.
        logger.debug("opening a connection", metadata: ["connection": "\(handle)", "url": "\(url)"])
        let task = Task { [weak self] in
            let opened: any WebSocketConnection
            do {
                opened = try await transport.connect(to: url)
            } catch {
                await self?.failed(handle, Self.reason(for: error))
                return
            }
            guard let self, await self.opened(handle, opened) else {
                opened.close(code: 1000)
                return
            }
            let code = await opened.run { [weak self] bytes in
                await self?.received(bytes, on: handle)
            }
            await self.closed(handle, code: code)
        }
        connections[handle] = Connection(task: task, open: nil)
    }

    /// The core gave up on `handle`: it closes (its task ends, and the core hears of it, once
    /// the close handshake is over), or stops opening.
    private func close(_ handle: ConnectionHandle, code: UInt16) {
        guard let connection = connections[handle], !connection.closing else { return }
        connections[handle]?.closing = true
        if let open = connection.open {
            open.close(code: code)
        } else {
            connection.task.cancel()  // still connecting: it ends when the attempt gives up
        }
    }

    /// Returns `false` when the connection was given up while it was opening.
    private func opened(_ handle: ConnectionHandle, _ open: any WebSocketConnection) -> Bool {
        guard !stopped, let connection = connections[handle], !connection.closing else { return false }
        connections[handle]?.open = open
        self.handle(.connectionOpened(handle))
        return true
    }

    private func received(_ bytes: [UInt8], on handle: ConnectionHandle) {
        guard let connection = connections[handle], connection.open != nil, !connection.closing else { return }
        self.handle(.received(handle, bytes))
    }

    private func closed(_ handle: ConnectionHandle, code: UInt16?) {
        guard connections.removeValue(forKey: handle) != nil else { return }
        self.handle(.connectionClosed(handle, code: code))
    }

    private func failed(_ handle: ConnectionHandle, _ reason: DisconnectReason) {
        guard connections.removeValue(forKey: handle) != nil else { return }
        self.handle(.connectionFailed(handle, reason: reason))
    }

    /// What the transport's error means for the user.
    static func reason(for error: any Error) -> DisconnectReason {
        guard let error = error as? OutpostError else {
            return DisconnectReason(.transportError, message: "the connection could not be opened: \(error)")
        }
        switch error.code {
        case .protocolViolation: return DisconnectReason(.protocolViolation, message: error.message)
        case .timedOut: return DisconnectReason(.timeout, message: error.message)
        default: return DisconnectReason(.transportError, message: error.message)
        }
    }

    private func arm(_ timer: ServerTimer, at deadline: Timestamp) {
        timers.removeValue(forKey: timer.kind)?.task.cancel()
        let clock = self.clock
        let task = Task { [weak self] in
            do { try await clock.sleep(until: deadline) } catch { return }
            await self?.fired(timer)
        }
        timers[timer.kind] = (timer, task)
    }

    private func fired(_ timer: ServerTimer) {
        guard timers[timer.kind]?.timer == timer else { return }
        timers.removeValue(forKey: timer.kind)
        handle(.timerFired(timer))
    }
}
