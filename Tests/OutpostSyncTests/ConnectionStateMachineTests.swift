import OutpostStore
import Testing
@testable import OutpostSync

/// Every state × every event of the connection machine, including the ones that must be ignored.
@Suite("Connection state machine")
struct ConnectionStateMachineTests {
    enum Event: Hashable {
        case connect, opened, openedStale, closed, closedStale, closed4004, closed4005, closed4002, closed4003, closed4006
        case authOK, authRejected, pong, failed
        case timer(SessionTimer)
        case background, foreground, unreachable, reachable, newToken, remove
    }

    /// Named starting states, each reached through real events.
    enum Start: String, CaseIterable {
        case idle, waitingToReconnect, connecting, authenticating, connected, awaitingPong, authFailed, disconnecting, backgrounded

        var state: ConnectionState {
            switch self {
            case .idle, .waitingToReconnect, .backgrounded: .disconnected
            case .connecting: .connecting
            case .authenticating: .authenticating
            case .connected, .awaitingPong: .connected
            case .authFailed: .authFailed
            case .disconnecting: .disconnecting
            }
        }

        var setup: [Event] {
            switch self {
            case .idle: []
            case .waitingToReconnect: [.connect, .closed]
            case .connecting: [.connect]
            case .authenticating: [.connect, .opened]
            case .connected: [.connect, .opened, .authOK]
            case .awaitingPong: [.connect, .opened, .authOK, .timer(.heartbeat)]
            case .authFailed: [.connect, .opened, .authRejected]
            case .disconnecting: [.connect, .opened, .authOK, .remove]
            case .backgrounded: [.background]
            }
        }
    }

    struct Harness {
        var machine = ConnectionStateMachine(hasCredentials: true)
        var random = SplitMix64(seed: 42)
        var now = Timestamp.seconds(1_000)

        mutating func apply(_ event: Event) -> [ConnectionStateMachine.Action] {
            now = now.adding(microseconds: 1_000)
            let current = machine.currentConnection ?? ConnectionID(99)
            let stale = ConnectionID(1_000)
            switch event {
            case .connect: return machine.connectRequested(now: now)
            case .opened: return machine.transportOpened(current, now: now)
            case .openedStale: return machine.transportOpened(stale, now: now)
            case .closed: return machine.transportClosed(current, code: 1006, now: now, random: &random)
            case .closedStale: return machine.transportClosed(stale, code: nil, now: now, random: &random)
            case .closed4004: return machine.transportClosed(current, code: 4004, now: now, random: &random)
            case .closed4005: return machine.transportClosed(current, code: 4005, now: now, random: &random)
            case .closed4002: return machine.transportClosed(current, code: 4002, now: now, random: &random)
            case .closed4003: return machine.transportClosed(current, code: 4003, now: now, random: &random)
            case .closed4006: return machine.transportClosed(current, code: 4006, now: now, random: &random)
            case .authOK: return machine.authSucceeded(current, now: now)
            case .authRejected: return machine.authRejected(current, reason: "1002", now: now)
            case .pong: return machine.pongReceived(current, now: now)
            case .failed: return machine.connectionFailed(current, reason: .closed(code: nil), now: now, random: &random)
            case .timer(let timer): return machine.timerFired(timer, now: now, random: &random)
            case .background: return machine.backgrounded(now: now)
            case .foreground: return machine.foregrounded(now: now)
            case .unreachable: return machine.reachabilityLost(now: now)
            case .reachable: return machine.reachabilityRestored(now: now)
            case .newToken: return machine.credentialsUpdated(now: now)
            case .remove: return machine.removeRequested(now: now)
            }
        }
    }

    static let events: [Event] = [
        .connect, .opened, .openedStale, .closed, .closedStale, .closed4004, .closed4005, .closed4002, .closed4003, .closed4006,
        .authOK, .authRejected, .pong, .failed,
        .timer(.connectTimeout), .timer(.authTimeout), .timer(.reconnect), .timer(.heartbeat), .timer(.pongTimeout),
        .background, .foreground, .unreachable, .reachable, .newToken, .remove,
    ]

    /// The expected state after `event` in `start`; `nil` marks the transitions that trap.
    static func expected(_ start: Start, _ event: Event) -> ConnectionState? {
        let state = start.state
        let live = [.connecting, .authenticating, .connected].contains(state)
        switch event {
        case .remove:
            return .disconnecting
        case .connect:
            return start == .idle || start == .waitingToReconnect ? .connecting : state  // an explicit request skips the backoff
        case .opened:
            if start == .connecting { return .authenticating }
            if start == .authenticating || start == .connected || start == .awaitingPong { return nil }  // opened twice: traps
            return state
        case .closed, .failed, .closed4003, .closed4006:
            return live ? .disconnected : state
        case .closed4004, .closed4005, .closed4002:
            return live ? .authFailed : state
        case .authOK:
            return start == .authenticating ? .connected : state
        case .authRejected:
            return start == .authenticating ? .authFailed : state
        case .timer(.connectTimeout):
            return start == .connecting ? .disconnected : state
        case .timer(.authTimeout):
            return start == .authenticating ? .disconnected : state
        case .timer(.reconnect):
            return start == .waitingToReconnect || start == .idle ? .connecting : state
        case .timer(.pongTimeout):
            return start == .awaitingPong ? .disconnected : state
        case .foreground:
            return start == .backgrounded ? .connecting : state
        case .newToken:
            return start == .authFailed || start == .idle ? .connecting : state
        default:
            return state
        }
    }

    static let table: [(Start, Event)] = Start.allCases.flatMap { start in events.map { (start, $0) } }

    @Test(arguments: table)
    func transition(from start: Start, on event: Event) throws {
        guard let expectedState = Self.expected(start, event) else { return }  // covered by the exit test
        var harness = Harness()
        for step in start.setup { _ = harness.apply(step) }
        let actions = harness.apply(event)
        #expect(harness.machine.connectionState == expectedState, "\(start) + \(event) → \(actions)")

        // Whatever the transition, a state change is announced exactly when the state changed.
        let announced = actions.compactMap { if case .stateChanged(let state) = $0 { state } else { nil } }
        if let last = announced.last { #expect(last == expectedState) }
        // A new transport is opened exactly when the machine enters Connecting.
        let opens = actions.filter { if case .openTransport = $0 { true } else { false } }
        #expect(opens.count == (expectedState == .connecting && start != .connecting ? 1 : 0), "\(actions)")
        // A connection (or an attempt) that ends says why, exactly once, with the reason that fits.
        let reasons = actions.compactMap { if case .connectionEnded(let reason) = $0 { reason } else { nil } }
        let ended = [.connecting, .authenticating, .connected].contains(start.state)
            && [.disconnected, .authFailed].contains(expectedState)
        #expect(reasons.count == (ended ? 1 : 0), "\(start) + \(event) → \(actions)")
        if let reason = reasons.first { #expect(reason.kind == Self.expectedReason(event), "\(start) + \(event): \(reason)") }
    }

    /// The kind of reason an event that ends a connection gives.
    static func expectedReason(_ event: Event) -> DisconnectReason.Kind? {
        switch event {
        case .closed, .closed4003, .closed4006: .closedByServer
        case .closed4002, .closed4004, .closed4005, .authRejected: .authenticationFailed
        case .failed: .connectionLost
        case .timer(.connectTimeout), .timer(.authTimeout), .timer(.pongTimeout): .timeout
        default: nil
        }
    }

    @Test func lowPowerModeStretchesTheHeartbeatAndKeepsTheConnection() {
        var harness = Harness()
        for step: Event in [.connect, .opened, .authOK] { _ = harness.apply(step) }
        let on = harness.machine.lowPowerModeChanged(true, now: harness.now)
        #expect(on == [.setTimer(.heartbeat, at: harness.now.adding(microseconds: 75_000_000))])
        #expect(!on.contains { if case .closeTransport = $0 { true } else { false } })
        #expect(harness.machine.lowPowerModeChanged(true, now: harness.now).isEmpty, "already on")
        _ = harness.apply(.timer(.heartbeat))
        let pong = harness.apply(.pong)
        #expect(pong.contains(.setTimer(.heartbeat, at: harness.now.adding(microseconds: 75_000_000))))
        let off = harness.machine.lowPowerModeChanged(false, now: harness.now)
        #expect(off == [.setTimer(.heartbeat, at: harness.now.adding(microseconds: 30_000_000))])
        #expect(harness.machine.connectionState == .connected)
    }

    @Test func openingATransportTwiceTraps() async {
        await #expect(processExitsWith: .failure) {
            var harness = Harness()
            _ = harness.apply(.connect)
            _ = harness.apply(.opened)
            _ = harness.apply(.opened)
        }
    }

    @Test func authenticationSendsTheTokenWithinTheWindowAndStartsTheHeartbeat() {
        var harness = Harness()
        _ = harness.apply(.connect)
        let opened = harness.apply(.opened)
        #expect(opened.contains(.sendAuthRequest(ConnectionID(1))))
        #expect(opened.contains(.setTimer(.authTimeout, at: harness.now.adding(microseconds: 10_000_000))))
        let authenticated = harness.apply(.authOK)
        #expect(authenticated.contains(.sessionEstablished(ConnectionID(1))))
        #expect(authenticated.contains(.setTimer(.heartbeat, at: harness.now.adding(microseconds: 30_000_000))))
    }

    @Test func aBlackHoledLinkIsDetectedByTheHeartbeat() {
        var harness = Harness()
        for step: Event in [.connect, .opened, .authOK] { _ = harness.apply(step) }
        let ping = harness.apply(.timer(.heartbeat))
        #expect(ping.contains(.sendPing(ConnectionID(1))))
        #expect(ping.contains(.setTimer(.pongTimeout, at: harness.now.adding(microseconds: 10_000_000))))
        let dead = harness.apply(.timer(.pongTimeout))
        #expect(dead.contains(.closeTransport(ConnectionID(1), code: 1001)))
        #expect(dead.contains(.sessionLost))
        #expect(harness.machine.connectionState == .disconnected)
        #expect(dead.contains { if case .setTimer(.reconnect, _) = $0 { true } else { false } })
    }

    @Test func aPongKeepsTheConnection() {
        var harness = Harness()
        for step: Event in [.connect, .opened, .authOK, .timer(.heartbeat)] { _ = harness.apply(step) }
        let pong = harness.apply(.pong)
        #expect(pong.contains(.cancelTimer(.pongTimeout)))
        #expect(harness.apply(.timer(.pongTimeout)).isEmpty, "a cancelled timeout that fires anyway does nothing")
        #expect(harness.machine.connectionState == .connected)
    }

    @Test func anExpiredSessionGoesToAuthFailedAndStopsRetrying() {
        var harness = Harness()
        for step: Event in [.connect, .opened, .authOK] { _ = harness.apply(step) }
        let expired = harness.apply(.closed4004)
        #expect(expired.contains(.authFailed(reason: "session expired (close 4004)")))
        #expect(!expired.contains { if case .setTimer(.reconnect, _) = $0 { true } else { false } })
        for event: Event in [.timer(.reconnect), .foreground, .reachable, .connect] {
            #expect(harness.apply(event).isEmpty, "\(event) must not retry")
        }
        #expect(harness.machine.connectionState == .authFailed)
        let resumed = harness.apply(.newToken)
        #expect(resumed.contains(.openTransport(ConnectionID(2))))
    }

    @Test func backgroundStopsTimersAndForegroundReconnectsAtOnce() {
        var harness = Harness()
        _ = harness.apply(.connect)
        _ = harness.apply(.closed)
        #expect(harness.machine.reconnectScheduledAt != nil)
        let background = harness.apply(.background)
        #expect(background.contains(.cancelTimer(.reconnect)))
        #expect(harness.apply(.timer(.reconnect)).isEmpty, "no attempt while in the background")
        let foreground = harness.apply(.foreground)
        #expect(foreground.contains(.openTransport(ConnectionID(2))))
    }

    @Test func foregroundPingsAConnectionThatMayHaveDiedInTheBackground() {
        var harness = Harness()
        for step: Event in [.connect, .opened, .authOK, .background] { _ = harness.apply(step) }
        let foreground = harness.apply(.foreground)
        #expect(foreground.contains(.sendPing(ConnectionID(1))))
    }

    @Test func reachabilityLossHoldsAttemptsAndItsReturnReconnectsAtOnce() {
        var harness = Harness()
        _ = harness.apply(.connect)
        _ = harness.apply(.unreachable)
        let closed = harness.apply(.closed)
        #expect(!closed.contains { if case .setTimer(.reconnect, _) = $0 { true } else { false } })
        let back = harness.apply(.reachable)
        #expect(back.contains(.openTransport(ConnectionID(2))))
    }

    @Test func removalGoesThroughDisconnecting() {
        var harness = Harness()
        for step: Event in [.connect, .opened, .authOK] { _ = harness.apply(step) }
        let removal = harness.apply(.remove)
        #expect(removal.contains(.closeTransport(ConnectionID(1), code: 1000)))
        #expect(removal.contains(.stateChanged(.disconnecting)))
        #expect(removal.last == .readyForRemoval)
    }

    @Test(arguments: 0..<200)
    func backoffDelaysStayWithinTheirBoundsAndResetOnceAConnectionProvesItself(seed: Int) {
        var harness = Harness()
        harness.random = SplitMix64(seed: UInt64(seed) &* 0x9E37_79B9)
        let bases: [Int64] = [1, 2, 4, 8, 16, 30, 30, 30]
        _ = harness.apply(.connect)
        for base in bases {
            let closedAt = harness.now.adding(microseconds: 1_000)
            _ = harness.apply(.closed)
            let delay = harness.machine.reconnectScheduledAt!.microseconds - closedAt.microseconds
            #expect(delay >= base * 500_000 && delay <= base * 1_000_000, "base \(base) s gave \(delay) µs")
            harness.now = harness.machine.reconnectScheduledAt!.adding(microseconds: -1_000)
            _ = harness.apply(.timer(.reconnect))
        }
        // A login the server ends at once does not start the backoff over: it keeps escalating
        // (a sixth device's 4003, a frame that kills every connection …), so failing logins are
        // damped instead of repeated every second.
        _ = harness.apply(.opened)
        _ = harness.apply(.authOK)
        var closedAt = harness.now.adding(microseconds: 1_000)
        _ = harness.apply(.closed4003)
        var delay = harness.machine.reconnectScheduledAt!.microseconds - closedAt.microseconds
        #expect(delay >= 15_000_000 && delay <= 30_000_000, "still at the cap: \(delay) µs")
        // A connection that answers a heartbeat has proved itself: the backoff starts over.
        harness.now = harness.machine.reconnectScheduledAt!.adding(microseconds: -1_000)
        for step: Event in [.timer(.reconnect), .opened, .authOK, .timer(.heartbeat), .pong] { _ = harness.apply(step) }
        #expect(harness.machine.backoffAttempt == 0)
        closedAt = harness.now.adding(microseconds: 1_000)
        _ = harness.apply(.closed)
        delay = harness.machine.reconnectScheduledAt!.microseconds - closedAt.microseconds
        #expect(delay >= 500_000 && delay <= 1_000_000)
    }

    @Test func aConnectionThatLastsStartsTheBackoffOverWhenItEnds() {
        var harness = Harness()
        for step: Event in [.connect, .closed, .timer(.reconnect), .closed, .timer(.reconnect), .opened, .authOK] {
            _ = harness.apply(step)
        }
        #expect(harness.machine.backoffAttempt == 2)
        harness.now = harness.now.adding(microseconds: 31_000_000)  // longer than `stableConnection`, no heartbeat yet
        let closedAt = harness.now.adding(microseconds: 1_000)
        _ = harness.apply(.closed)
        let delay = harness.machine.reconnectScheduledAt!.microseconds - closedAt.microseconds
        #expect(delay >= 500_000 && delay <= 1_000_000)
    }
}
