import OutpostModel
import OutpostWire

/// Connection, authentication, heartbeat and reconnect backoff of one server, sans-IO.
///
/// One `mutating func` per event; each returns the actions the session must carry out, in
/// order. Time arrives as `now`; randomness (the backoff jitter) from the generator passed in.
/// Events about a stale ``ConnectionID`` are ignored; an event that the driver contract makes
/// impossible (a transport opening that was never asked for) traps.
struct ConnectionStateMachine {
    /// Timing rules of PROTOCOL.md §3 and §6.
    struct Configuration: Hashable, Sendable {
        var connectTimeout: Int64 = Micros.seconds(10)
        var authTimeout: Int64 = Micros.seconds(10)
        var heartbeatInterval: Int64 = Micros.seconds(30)
        /// The heartbeat in low-power mode: stretched, yet under the 90-second idle close of
        /// PROTOCOL.md §9, so that every connection stays open.
        var lowPowerHeartbeatInterval: Int64 = Micros.seconds(75)
        var pongTimeout: Int64 = Micros.seconds(10)
        /// Base delays of successive reconnect attempts; the last one is the cap.
        var backoffBaseDelays: [Int64] = [1, 2, 4, 8, 16, 30].map(Micros.seconds)
        /// Each delay is multiplied by a random factor in this range.
        var backoffJitter: ClosedRange<Double> = 0.5...1.0
        /// How long an authenticated connection must last before its end starts the backoff
        /// over. A login the server ends at once (close 4003 with a sixth device, a message it
        /// cannot deliver …) keeps escalating instead, so that failing logins are damped
        /// rather than repeated every second.
        var stableConnection: Int64 = Micros.seconds(30)
    }

    enum Action: Hashable, Sendable {
        case openTransport(ConnectionID)
        case closeTransport(ConnectionID, code: UInt16)
        /// Send `AUTH_REQUEST` with the stored session token.
        case sendAuthRequest(ConnectionID)
        case sendPing(ConnectionID)
        case setTimer(SessionTimer, at: Timestamp)
        case cancelTimer(SessionTimer)
        /// Authenticated: drain the outbox, start catch-up.
        case sessionEstablished(ConnectionID)
        /// The connection is gone: whatever was in flight goes back to the queue.
        case sessionLost
        case stateChanged(ConnectionState)
        /// The connection (or the attempt to open one) ended, and why.
        case connectionEnded(DisconnectReason)
        case authFailed(reason: String)
        /// Disconnected for good: the partition may now be deleted.
        case readyForRemoval
    }

    private enum State: Hashable {
        case disconnected
        case connecting(ConnectionID)
        case authenticating(ConnectionID)
        case connected(ConnectionID, awaitingPong: Bool)
        case authFailed
        case disconnecting
    }

    let configuration: Configuration
    private var state: State = .disconnected
    /// Index into the backoff delays for the next reconnect.
    private(set) var backoffAttempt = 0
    /// When the current connection authenticated.
    private var authenticatedAt: Timestamp?
    private(set) var reconnectScheduledAt: Timestamp?
    private(set) var isForeground = true
    private(set) var isReachable = true
    private(set) var hasCredentials: Bool
    /// Low-power mode: the heartbeat is stretched, no connection is dropped.
    private(set) var isLowPower = false
    private var lastConnectionID: UInt64 = 0

    init(configuration: Configuration = Configuration(), hasCredentials: Bool) {
        self.configuration = configuration
        self.hasCredentials = hasCredentials
    }

    var connectionState: ConnectionState {
        switch state {
        case .disconnected: .disconnected
        case .connecting: .connecting
        case .authenticating: .authenticating
        case .connected: .connected
        case .authFailed: .authFailed
        case .disconnecting: .disconnecting
        }
    }

    /// The connection that is open or opening, if any.
    var currentConnection: ConnectionID? {
        switch state {
        case .connecting(let id), .authenticating(let id), .connected(let id, _): id
        case .disconnected, .authFailed, .disconnecting: nil
        }
    }

    /// The authenticated connection, if any.
    var establishedConnection: ConnectionID? {
        if case .connected(let id, _) = state { return id }
        return nil
    }

    private var mayConnect: Bool { isForeground && isReachable && hasCredentials }

    private var heartbeatInterval: Int64 {
        isLowPower ? configuration.lowPowerHeartbeatInterval : configuration.heartbeatInterval
    }

    // MARK: Events

    /// The app asks this server to connect (launch, server added, user action).
    mutating func connectRequested(now: Timestamp) -> [Action] {
        guard case .disconnected = state, mayConnect else { return [] }
        return connect(now: now)
    }

    mutating func transportOpened(_ id: ConnectionID, now: Timestamp) -> [Action] {
        guard id == currentConnection else { return [] }
        guard case .connecting = state else {
            preconditionFailure("transport \(id) opened twice (state \(state))")
        }
        state = .authenticating(id)
        return [.cancelTimer(.connectTimeout), .stateChanged(.authenticating), .sendAuthRequest(id),
                .setTimer(.authTimeout, at: now.adding(configuration.authTimeout))]
    }

    /// The transport closed or failed, with the WebSocket close code when there was one, and
    /// the reason when more is known than the code (a transport error, a timeout …).
    mutating func transportClosed(_ id: ConnectionID, code: UInt16?, reason: DisconnectReason? = nil, now: Timestamp,
                                  random: inout SplitMix64) -> [Action] {
        guard id == currentConnection else { return [] }
        let reason = reason ?? .closed(code: code)
        let wasConnected = establishedConnection != nil
        var actions: [Action] = [.cancelTimer(.connectTimeout), .cancelTimer(.authTimeout), .cancelTimer(.heartbeat),
                                 .cancelTimer(.pongTimeout)]
        if wasConnected { actions.append(.sessionLost) }
        if let authenticatedAt, now.microseconds - authenticatedAt.microseconds >= configuration.stableConnection {
            backoffAttempt = 0
        }
        authenticatedAt = nil
        // Only the close codes that mean "this session is over" change what happens next.
        let rejection: String? = switch code.map(SovereignCloseCode.init(rawValue:)) {
        case .sessionExpired?: "session expired (close 4004)"
        case .accountDisabled?: "account disabled (close 4005)"
        case .authFailed?: "authentication failed (close 4002)"
        default: nil
        }
        if let rejection {
            return actions + [.connectionEnded(DisconnectReason(.authenticationFailed, closeCode: code, message: rejection))]
                + failAuthentication(rejection)
        }
        state = .disconnected
        return actions + [.connectionEnded(reason), .stateChanged(.disconnected)] + scheduleReconnect(now: now, random: &random)
    }

    mutating func authSucceeded(_ id: ConnectionID, now: Timestamp) -> [Action] {
        guard id == currentConnection, case .authenticating = state else { return [] }
        state = .connected(id, awaitingPong: false)
        authenticatedAt = now
        return [.cancelTimer(.authTimeout), .stateChanged(.connected), .sessionEstablished(id),
                .setTimer(.heartbeat, at: now.adding(heartbeatInterval))]
    }

    /// `AUTH_ERROR`, or a passkey challenge where a session was expected: the stored token no
    /// longer works. Retrying would loop, so the session waits for a new token.
    mutating func authRejected(_ id: ConnectionID, reason: String, now: Timestamp) -> [Action] {
        guard id == currentConnection, case .authenticating = state else { return [] }
        return [.cancelTimer(.authTimeout), .closeTransport(id, code: 1000),
                .connectionEnded(DisconnectReason(.authenticationFailed, message: reason))] + failAuthentication(reason)
    }

    /// `AUTH_ERROR` for a fault of the server (9001–9003): the token may be fine. The client
    /// closes the socket itself (upstream keeps it open until its 10-second deadline) and tries
    /// again after the backoff.
    mutating func authFailedTransiently(_ id: ConnectionID, reason: String, now: Timestamp, random: inout SplitMix64) -> [Action] {
        guard id == currentConnection, case .authenticating = state else { return [] }
        return [.closeTransport(id, code: 1000)]
            + transportClosed(id, code: nil, reason: DisconnectReason(.serverError, message: reason), now: now, random: &random)
    }

    mutating func pongReceived(_ id: ConnectionID, now: Timestamp) -> [Action] {
        guard case .connected(let current, true) = state, current == id else { return [] }
        state = .connected(id, awaitingPong: false)
        // Authenticated and answering heartbeats: a healthy link, so the backoff starts over.
        backoffAttempt = 0
        return [.cancelTimer(.pongTimeout), .setTimer(.heartbeat, at: now.adding(heartbeatInterval))]
    }

    /// The server broke the protocol or a request timed out: drop the connection and reconnect.
    mutating func connectionFailed(_ id: ConnectionID, reason: DisconnectReason, now: Timestamp,
                                   random: inout SplitMix64) -> [Action] {
        guard id == currentConnection else { return [] }
        return [.closeTransport(id, code: 1002)] + transportClosed(id, code: nil, reason: reason, now: now, random: &random)
    }

    mutating func timerFired(_ timer: SessionTimer, now: Timestamp, random: inout SplitMix64) -> [Action] {
        switch (timer, state) {
        case (.connectTimeout, .connecting(let id)):
            let reason = DisconnectReason.timedOut("to the connection attempt within \(configuration.connectTimeout / 1_000_000) s")
            return [.closeTransport(id, code: 1000)] + transportClosed(id, code: nil, reason: reason, now: now, random: &random)
        case (.authTimeout, .authenticating(let id)):
            let reason = DisconnectReason.timedOut("to authentication within \(configuration.authTimeout / 1_000_000) s")
            return [.closeTransport(id, code: 1000)] + transportClosed(id, code: nil, reason: reason, now: now, random: &random)
        case (.reconnect, .disconnected):
            reconnectScheduledAt = nil
            return mayConnect ? connect(now: now) : []
        case (.heartbeat, .connected(let id, false)):
            state = .connected(id, awaitingPong: true)
            return [.sendPing(id), .setTimer(.pongTimeout, at: now.adding(configuration.pongTimeout))]
        case (.pongTimeout, .connected(let id, true)):
            // A silent link: no data, no close. Treat it as lost.
            let reason = DisconnectReason.timedOut("to a heartbeat within \(configuration.pongTimeout / 1_000_000) s")
            return [.closeTransport(id, code: 1001)] + transportClosed(id, code: nil, reason: reason, now: now, random: &random)
        default:
            // A timer that was cancelled after it had already been queued.
            return []
        }
    }

    /// Drop the authenticated connection and connect again at once.
    mutating func reconnectRequested(now: Timestamp) -> [Action] {
        guard case .connected(let id, _) = state, mayConnect else { return [] }
        authenticatedAt = nil
        return [.closeTransport(id, code: 1000), .cancelTimer(.heartbeat), .cancelTimer(.pongTimeout), .sessionLost,
                .connectionEnded(DisconnectReason(.closedByClient, closeCode: 1000,
                                                  message: "the client reconnected on purpose (asked to, or to log in again)")),
                .stateChanged(.disconnected)] + connect(now: now)
    }

    /// Low-power mode on or off: the heartbeat interval changes from the next heartbeat on (at
    /// once when one is armed); every connection stays.
    mutating func lowPowerModeChanged(_ isOn: Bool, now: Timestamp) -> [Action] {
        guard isOn != isLowPower else { return [] }
        isLowPower = isOn
        guard case .connected(_, false) = state, isForeground else { return [] }
        return [.setTimer(.heartbeat, at: now.adding(heartbeatInterval))]
    }

    /// The app went to the background: timers stop (the OS may also kill the socket).
    mutating func backgrounded(now: Timestamp) -> [Action] {
        guard isForeground else { return [] }
        isForeground = false
        reconnectScheduledAt = nil
        return [.cancelTimer(.reconnect), .cancelTimer(.heartbeat), .cancelTimer(.pongTimeout)]
    }

    /// Back in the foreground: reconnect at once, or check at once that the socket survived.
    mutating func foregrounded(now: Timestamp) -> [Action] {
        guard !isForeground else { return [] }
        isForeground = true
        return resume(now: now)
    }

    mutating func reachabilityLost(now: Timestamp) -> [Action] {
        guard isReachable else { return [] }
        isReachable = false
        reconnectScheduledAt = nil
        return [.cancelTimer(.reconnect)]
    }

    mutating func reachabilityRestored(now: Timestamp) -> [Action] {
        guard !isReachable else { return [] }
        isReachable = true
        return resume(now: now)
    }

    /// The front end stored a new session token (after AuthFailed, or for a server that had none).
    mutating func credentialsUpdated(now: Timestamp) -> [Action] {
        hasCredentials = true
        switch state {
        case .authFailed:
            state = .disconnected
            backoffAttempt = 0
            return [.stateChanged(.disconnected)] + (mayConnect ? connect(now: now) : [])
        case .disconnected:
            return mayConnect && reconnectScheduledAt == nil ? connect(now: now) : []
        default:
            return []
        }
    }

    /// The user removes the server: close whatever is open and stop for good.
    mutating func removeRequested(now: Timestamp) -> [Action] {
        guard state != .disconnecting else { return [] }
        var actions: [Action] = []
        if let id = currentConnection { actions.append(.closeTransport(id, code: 1000)) }
        if establishedConnection != nil { actions.append(.sessionLost) }
        state = .disconnecting
        reconnectScheduledAt = nil
        authenticatedAt = nil
        actions += [.cancelTimer(.connectTimeout), .cancelTimer(.authTimeout), .cancelTimer(.reconnect),
                    .cancelTimer(.heartbeat), .cancelTimer(.pongTimeout), .stateChanged(.disconnecting), .readyForRemoval]
        return actions
    }

    // MARK: Helpers

    private mutating func connect(now: Timestamp) -> [Action] {
        lastConnectionID += 1
        let id = ConnectionID(lastConnectionID)
        state = .connecting(id)
        reconnectScheduledAt = nil
        return [.cancelTimer(.reconnect), .stateChanged(.connecting), .openTransport(id),
                .setTimer(.connectTimeout, at: now.adding(configuration.connectTimeout))]
    }

    private mutating func failAuthentication(_ reason: String) -> [Action] {
        state = .authFailed
        authenticatedAt = nil
        reconnectScheduledAt = nil
        hasCredentials = false
        return [.stateChanged(.authFailed), .authFailed(reason: reason)]
    }

    /// Schedules the next attempt: base delay for this attempt × a factor in [0.5, 1.0].
    private mutating func scheduleReconnect(now: Timestamp, random: inout SplitMix64) -> [Action] {
        guard mayConnect else { return [] }
        let delays = configuration.backoffBaseDelays
        let base = delays[min(backoffAttempt, delays.count - 1)]
        let factor = random.nextDouble(in: configuration.backoffJitter)
        backoffAttempt += 1
        let at = now.adding(Int64((Double(base) * factor).rounded()))
        reconnectScheduledAt = at
        return [.setTimer(.reconnect, at: at)]
    }

    private mutating func resume(now: Timestamp) -> [Action] {
        guard mayConnect else { return [] }
        switch state {
        case .disconnected:
            return connect(now: now)
        case .connected(let id, _):
            // The socket may have died silently while the app slept: ping now.
            state = .connected(id, awaitingPong: true)
            return [.cancelTimer(.heartbeat), .sendPing(id), .setTimer(.pongTimeout, at: now.adding(configuration.pongTimeout))]
        default:
            return []
        }
    }
}

