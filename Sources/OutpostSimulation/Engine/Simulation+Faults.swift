import Foundation
import OutpostStore
import OutpostSync

extension Simulation {
    func targets(_ fault: Scenario.Fault) -> [Int] {
        (fault.servers ?? Array(slots.indices)).filter { slots.indices.contains($0) }
    }

    func startFault(_ index: Int) {
        guard !healed else { return }
        let fault = faults[index]
        trace.record(now, server: nil, "fault", "\(fault.kind.rawValue) servers=\(fault.servers.map { "\($0)" } ?? "all")")
        if timeline.enabled {
            let onDevice: Set<Scenario.FaultKind> = [.background, .lowPower, .unreachable, .kill, .killAtWrite, .storageFailure]
            let named = fault.servers.map { "servers " + $0.map(String.init).joined(separator: ", ") } ?? "all servers"
            timeline.mark(.fault, onDevice.contains(fault.kind) ? fault.kind.rawValue : "\(fault.kind.rawValue) on \(named)", at: now)
        }
        let duration = Int64((fault.durationSeconds ?? 60) * 1_000_000)
        switch fault.kind {
        case .reset:
            for server in targets(fault) { resetLinks(of: server, notifyClient: true) }
        case .blackhole:
            for server in targets(fault) { slots[server].linkFaultStarted(index, .blackhole) }
            queue.schedule(.faultEnds(index), at: now.adding(microseconds: duration))
        case .partition, .outage:
            for server in targets(fault) {
                slots[server].linkFaultStarted(index, .down)
                resetLinks(of: server, notifyClient: fault.kind == .outage)
            }
            queue.schedule(.faultEnds(index), at: now.adding(microseconds: duration))
        case .flap:
            flap(index, remaining: 2 * max(fault.count ?? 3, 1))
        case .background:
            guard isForeground else { return }
            enterBackground()
            queue.schedule(.faultEnds(index), at: now.adding(microseconds: duration))
        case .lowPower:
            guard !isLowPower else { return }
            setLowPower(true)
            queue.schedule(.faultEnds(index), at: now.adding(microseconds: duration))
        case .unreachable:
            guard isReachable else { return }
            loseNetwork()
            queue.schedule(.faultEnds(index), at: now.adding(microseconds: duration))
        case .kill:
            kill()
        case .killAtWrite:
            client?.core.store.faultInjector = .crash(atWrite: Int(max(fault.amount ?? 1, 1)))
        case .killDuringRelaunch:
            crashAtRelaunchWrite = Int(max(fault.amount ?? 1, 1))
            kill()
        case .storageFailure:
            let code: StoreError.Code = switch fault.error {
            case "busy": .busy
            case "io_error": .io
            default: .diskFull
            }
            client?.core.store.faultInjector = .fail(atWrite: Int(max(fault.amount ?? 1, 1)), count: max(fault.count ?? 1, 1),
                                                     with: .simulatedFailure(code))
        case .poison:
            for server in targets(fault) {
                for _ in 0..<max(fault.amount ?? 1, 1) { postFromPeer(server, poison: true) }
            }
        case .redeliver:
            for server in targets(fault) {
                apply(slots[server].server.redeliver(to: Simulation.userID, times: Int(max(fault.amount ?? 3, 1))), server: server)
            }
        case .readdServer:
            for server in targets(fault) { readdServer(server) }
        case .authGlitch:
            for server in targets(fault) { slots[server].server.setAuthGlitch(until: now.adding(microseconds: duration)) }
        case .largePosts:
            for server in targets(fault) {
                for _ in 0..<max(fault.amount ?? 3, 1) { postFromPeer(server, large: true) }
            }
        case .networkSwitch:
            for server in targets(fault) { strandLinks(of: server) }
            queue.schedule(.faultEnds(index), at: now.adding(microseconds: duration))
        case .corruptPartition:
            for server in targets(fault) where !slots[server].removalRequested {
                guard let id = slots[server].serverID else { continue }
                // The wrapped keys become unreadable: the partition can no longer be opened.
                _ = FileManager.default.createFile(atPath: dataDirectory + "/servers/" + id.hex + "/keys.json",
                                               contents: Data("damaged".utf8))
            }
            kill()
        case .serverRestart:
            for server in targets(fault) { apply(slots[server].server.restart(), server: server) }
        case .clockStep:
            for server in targets(fault) { slots[server].server.stepClock(by: (fault.amount ?? -30) * 1_000_000) }
        case .sessionExpiry:
            for server in targets(fault) { apply(slots[server].server.expireSessions(of: Simulation.userID), server: server) }
        case .rateLimit:
            for server in targets(fault) { slots[server].server.setRateLimit(perSecond: 1, burst: 1) }
            queue.schedule(.faultEnds(index), at: now.adding(microseconds: duration))
        case .burst:
            for server in targets(fault) {
                for _ in 0..<max(fault.amount ?? 50, 1) { postFromPeer(server) }
            }
        case .removeServer:
            for server in targets(fault) where !slots[server].removalRequested {
                removeServer(server)
            }
        case .latency:
            for server in targets(fault) { slots[server].latency = Micros.milliseconds(fault.amount ?? 2_000) }
            queue.schedule(.faultEnds(index), at: now.adding(microseconds: duration))
        case .discoveryFailure:
            // The server's web front (its discovery document) fails while its WebSocket works:
            // a server already added is unaffected, adding it again fails until it is back.
            for server in targets(fault) { slots[server].discoveryFailsUntil = now.adding(microseconds: duration) }
            queue.schedule(.faultEnds(index), at: now.adding(microseconds: duration))
        }
    }

    func endFault(_ index: Int) {
        let fault = faults[index]
        switch fault.kind {
        case .discoveryFailure:
            for server in targets(fault) { slots[server].discoveryFailsUntil = nil }
        case .blackhole, .partition, .outage:
            // Only this fault lifts: a partition still in force keeps the link down.
            for server in targets(fault) where slots[server].link != .up {
                slots[server].linkFaultEnded(index)
                if slots[server].link == .up { deliverLateCloses(of: server) }
            }
        case .background:
            guard !isForeground else { return }
            enterForeground()
        case .unreachable:
            guard !isReachable else { return }
            restoreNetwork()
        case .lowPower:
            guard isLowPower else { return }
            setLowPower(false)
        case .rateLimit:
            for server in targets(fault) { slots[server].server.setRateLimit(perSecond: 30, burst: 10) }
        case .latency:
            for server in targets(fault) { slots[server].latency = Micros.milliseconds(scenario.network.latencyMilliseconds) }
        case .networkSwitch:
            for server in targets(fault) { restoreStrandedLinks(of: server) }
        default:
            break
        }
        trace.record(now, server: nil, "faultEnds", fault.kind.rawValue)
        timeline.mark(.faultEnds, "\(fault.kind.rawValue) ends", at: now)
    }

    // MARK: The device

    /// The app goes to the background: the OS lets it keep its sockets only briefly.
    func enterBackground() {
        guard isForeground else { return }
        isForeground = false
        backgroundGeneration += 1
        for server in slots.indices { deliver(.appBackgrounded, to: server) }
        queue.schedule(.osKillsSockets(generation: backgroundGeneration), at: now.adding(microseconds: Micros.seconds(10)))
    }

    /// The app is in the foreground again.
    func enterForeground() {
        guard !isForeground else { return }
        isForeground = true
        for server in slots.indices { deliver(.appForegrounded, to: server) }
    }

    /// The device loses its network: every connection resets.
    func loseNetwork() {
        guard isReachable else { return }
        isReachable = false
        for server in slots.indices {
            deliver(.reachabilityLost, to: server)
            resetLinks(of: server, notifyClient: true)
        }
    }

    /// The device has a network again.
    func restoreNetwork() {
        guard !isReachable else { return }
        isReachable = true
        for server in slots.indices { deliver(.reachabilityRestored, to: server) }
    }

    /// The device turns low-power mode on or off.
    func setLowPower(_ isOn: Bool) {
        guard isOn != isLowPower else { return }
        isLowPower = isOn
        for server in slots.indices { deliver(.lowPowerModeChanged(isOn), to: server) }
    }

    func flap(_ index: Int, remaining: Int) {
        guard !healed, remaining > 0 else { return }
        let fault = faults[index]
        let goingDown = remaining % 2 == 0
        for server in targets(fault) {
            if goingDown {
                slots[server].linkFaultStarted(index, .down)
                resetLinks(of: server, notifyClient: true)
            } else {
                slots[server].linkFaultEnded(index)
            }
        }
        let half = Int64((fault.durationSeconds ?? 20) * 1_000_000)
        queue.schedule(.flapToggle(fault: index, remaining: remaining - 1), at: now.adding(microseconds: half))
    }

    /// The liveness phase: every fault heals and the workload stops; the client must converge.
    func heal() {
        healed = true
        trace.record(now, server: nil, "heal")
        timeline.mark(.heal, "every fault heals; the client must converge", at: now)
        for index in slots.indices {
            slots[index].allLinkFaultsEnded()
            slots[index].discoveryFailsUntil = nil
            slots[index].server.setAuthGlitch(until: nil)
            restoreStrandedLinks(of: index)
            deliverLateCloses(of: index)
            slots[index].latency = Micros.milliseconds(scenario.network.latencyMilliseconds)
            slots[index].server.setRateLimit(perSecond: 30, burst: 10)
        }
        client?.core.store.faultInjector = nil
        crashAtRelaunchWrite = nil
        if client == nil { launch() }
        enterForeground()
        restoreNetwork()
        for index in slots.indices {
            if client?.servers[index]?.status.connectionState == .authFailed {
                queue.schedule(.renewToken(server: index), at: now.adding(microseconds: Micros.seconds(1)))
            }
            startServer(index)
        }
    }
}

/// A random fault mix drawn from the seed (swarm testing): each run enables a different subset
/// of fault kinds, at random times, against random servers.
enum SwarmFaults {
    static let kinds: [Scenario.FaultKind] = [
        .reset, .blackhole, .partition, .flap, .background, .unreachable, .kill, .killAtWrite, .serverRestart,
        .outage, .clockStep, .sessionExpiry, .rateLimit, .burst, .latency, .storageFailure, .poison, .redeliver,
        .removeServer, .corruptPartition, .authGlitch, .largePosts, .networkSwitch,
    ]

    static func draw(count servers: Int, duration: Int64, random: inout SplitMix64) -> [Scenario.Fault] {
        let enabled = kinds.filter { _ in random.next() % 2 == 0 }
        guard !enabled.isEmpty, servers > 0 else { return [] }
        let faultCount = 3 + Int(random.next() % 10)
        var faults: [Scenario.Fault] = []
        for _ in 0..<faultCount {
            let kind = enabled[Int(random.next() % UInt64(enabled.count))]
            let at = random.nextDouble(in: 0...Double(max(duration - 1, 1)))
            let targetCount = 1 + Int(random.next() % UInt64(max(servers / 2, 1)))
            let targets = (0..<targetCount).map { _ in Int(random.next() % UInt64(servers)) }
            let unique = Array(Set(targets)).sorted()
            var fault = Scenario.Fault(atSeconds: (at * 1000).rounded() / 1000, kind: kind, servers: unique,
                                       durationSeconds: (random.nextDouble(in: 5...300) * 10).rounded() / 10)
            switch kind {
            case .clockStep: fault.amount = -Int64(random.next() % 120) - 1
            case .killAtWrite: fault.amount = Int64(random.next() % 40) + 1
            case .burst: fault.amount = Int64(random.next() % 40) + 1
            case .latency: fault.amount = Int64(random.next() % 3_000) + 100
            case .flap: fault.count = Int(random.next() % 5) + 1
            case .storageFailure:
                fault.amount = Int64(random.next() % 20) + 1
                fault.count = Int(random.next() % 3) + 1
                fault.error = ["disk_full", "busy", "io_error"][Int(random.next() % 3)]
            case .poison: fault.amount = Int64(random.next() % 3) + 1
            case .redeliver: fault.amount = Int64(random.next() % 5) + 1
            case .largePosts: fault.amount = Int64(random.next() % 4) + 1
            default: break
            }
            faults.append(fault)
            if kind == .removeServer {
                // Added again while a slow connection of the removed server may still be opening.
                faults.append(Scenario.Fault(atSeconds: fault.atSeconds + (random.nextDouble(in: 0.05...3) * 1000).rounded() / 1000,
                                             kind: .readdServer, servers: unique))
            }
        }
        return faults.sorted { ($0.atSeconds, $0.kind.rawValue) < ($1.atSeconds, $1.kind.rawValue) }
    }
}
