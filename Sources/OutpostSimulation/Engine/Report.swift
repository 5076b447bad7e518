import OutpostSync

/// Renders a run as a self-contained HTML page: the verdict (the client's violations apart from
/// what servers without history lose by design), the run's numbers, a time axis with a mark for
/// every fault, kill, relaunch and the heal, and one timeline row per server (connection state
/// as coloured bands, queue depth as a line, gaps as marks). A run of many servers shows how
/// many were connected over time, then only the rows that matter: servers named in a violation,
/// and the first few.
public enum Report {
    /// Runs with more servers than this get the summary chart and a selection of rows.
    public static let rowLimit = 40
    static let width = 1000.0

    public static func html(_ result: SimulationResult) -> String {
        let end = max(result.simulatedSeconds, 1)
        func x(_ microseconds: Int64) -> Double { Double(microseconds) / 1_000_000 / end * width }
        let servers = result.timeline.servers.keys.sorted()
        let shown = selectedRows(servers, violations: result.violations)
        let markerLines = result.timeline.markers.map { marker in
            "<line x1=\"\(fmt(x(marker.time)))\" x2=\"\(fmt(x(marker.time)))\" y1=\"0\" y2=\"32\" stroke=\"\(colour(marker.kind))\" stroke-width=\"1\" stroke-dasharray=\"3,2\"><title>\(escape(marker.label)) at \(clock(marker.time))</title></line>"
        }.joined()
        var rows = ""
        for server in shown {
            let timeline = result.timeline.servers[server]!
            var bands = ""
            for (index, change) in timeline.states.enumerated() {
                let start = x(change.time)
                let stop = index + 1 < timeline.states.count ? x(timeline.states[index + 1].time) : width
                bands += "<rect x=\"\(fmt(start))\" y=\"0\" width=\"\(fmt(max(stop - start, 0.5)))\" height=\"14\" fill=\"\(stateColours[change.state] ?? "#000")\"><title>\(change.state.rawValue) at \(clock(change.time))</title></rect>"
            }
            let maxDepth = max(timeline.queueDepths.map(\.depth).max() ?? 1, 1)
            let points = timeline.queueDepths.map { "\(fmt(x($0.time))),\(fmt(30 - Double($0.depth) / Double(maxDepth) * 14))" }.joined(separator: " ")
            let depthLine = points.isEmpty ? "" : "<polyline points=\"\(points)\" fill=\"none\" stroke=\"#3367d6\" stroke-width=\"1\"><title>queue depth, up to \(maxDepth)</title></polyline>"
            let gapMarks = timeline.gaps.map {
                "<line x1=\"\(fmt(x($0.time)))\" x2=\"\(fmt(x($0.time)))\" y1=\"0\" y2=\"32\" stroke=\"\($0.open ? "#d93025" : "#22a06b")\" stroke-width=\"2\"><title>gap \($0.open ? "opened" : "filled") at \(clock($0.time))</title></line>"
            }.joined()
            let behaviour = result.timeline.behaviours[server].map { " (\(escape($0)))" } ?? ""
            rows += "<tr><td>server \(server)\(behaviour)</td><td><svg width=\"\(Int(width))\" height=\"32\">\(bands)\(depthLine)\(gapMarks)\(markerLines)</svg></td></tr>\n"
        }
        if shown.count < servers.count {
            rows += "<tr><td colspan=\"2\">… \(servers.count - shown.count) more servers not shown (those named in a violation and the first \(Self.firstRows) are)</td></tr>\n"
        }
        let connected = servers.count > rowLimit
            ? "<tr><td>servers connected</td><td>\(connectedChart(result, x: x))</td></tr>\n" : ""
        return """
            <!doctype html>
            <html><head><meta charset="utf-8"><title>outpost-sim: \(escape(result.scenario)) seed \(result.seed)</title>
            <style>body{font:14px system-ui,sans-serif;margin:24px}td{padding:2px 8px;white-space:nowrap}.ok{color:#22a06b}
            .bad{color:#d93025}.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
            dl{display:grid;grid-template-columns:max-content max-content;gap:2px 16px}dd{margin:0}</style></head>
            <body><h1>\(escape(result.scenario)), seed \(result.seed)</h1>
            \(verdict(result))
            \(numbers(result))
            <p class="legend">\(stateColours.sorted { $0.key.rawValue < $1.key.rawValue }.map { "<span style=\"background:\($0.value)\"></span>\($0.key.rawValue)" }.joined())
            <span style="background:#3367d6;height:2px"></span>queue depth <span style="background:#d93025;width:2px"></span>gap opened
            <span style="background:#22a06b;width:2px"></span>gap filled
            <span style="background:\(colour(.fault));width:2px"></span>fault <span style="background:\(colour(.kill));width:2px"></span>kill or relaunch
            <span style="background:\(colour(.heal));width:2px"></span>heal</p>
            <table><tr><td>time</td><td>\(axis(result, x: x))</td></tr>
            \(connected)\(rows)</table>
            \(markerList(result))</body></html>
            """
    }

    // MARK: Parts

    /// The client's verdict, then what servers without history lost by their protocol's design.
    private static func verdict(_ result: SimulationResult) -> String {
        var text = result.violations.isEmpty
            ? "<p class=\"ok\">The checker found nothing wrong with the client.</p>"
            : "<p class=\"bad\">The checker found \(result.violations.count) violation(s):</p><ul>"
                + result.violations.map { "<li>\(escape($0))</li>" }.joined() + "</ul>"
        let statistics = result.statistics
        if statistics.serverLosses > 0 {
            text += "<p class=\"bad\">Servers without history lost \(statistics.serverLosses) message(s) by their protocol's design "
                + "(\(statistics.droppedPushes) push(es) dropped from full send buffers; the rest lost in transit or with a killed "
                + "process): no client can recover them, so they count against the servers, not the client.</p>"
        }
        if statistics.expiredUnsent > 0 {
            text += "<p>\(statistics.expiredUnsent) message(s) expired before they could be sent, and the user was told.</p>"
        }
        return text
    }

    private static func numbers(_ result: SimulationResult) -> String {
        let statistics = result.statistics
        let items: [(String, String)] = [
            ("simulated time", "\(clock(Int64(result.simulatedSeconds * 1_000_000))) (\(fmt(result.simulatedSeconds)) s)"),
            ("servers", "\(result.timeline.servers.count)"),
            ("events", "\(statistics.events)"), ("trace hash", String(result.traceHash, radix: 16)),
            ("messages the user wrote", "\(statistics.messagesQueued)"), ("messages others wrote", "\(statistics.peerMessages)"),
            ("kills", "\(statistics.kills)"), ("connections opened", "\(statistics.connectionsOpened)"),
            ("storage failures", "\(statistics.storageFailures)"), ("messages set aside", "\(statistics.messagesSetAside)"),
            ("servers removed while unavailable", "\(statistics.unavailableRemoved)"), ("servers added again", "\(statistics.serversReadded)"),
        ]
        return "<dl>" + items.map { "<dt>\($0.0)</dt><dd>\($0.1)</dd>" }.joined() + "</dl>"
    }

    /// A tick every round interval (a minute … a day), at most about a dozen, labelled h:mm.
    private static func axis(_ result: SimulationResult, x: (Int64) -> Double) -> String {
        let seconds = max(result.simulatedSeconds, 1)
        let step = [10, 30, 60, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800]
            .first { seconds / Double($0) <= 12 } ?? 604_800
        var ticks = ""
        var tick = 0
        while Double(tick) <= seconds {
            let at = x(Int64(tick) * 1_000_000)
            ticks += "<line x1=\"\(fmt(at))\" x2=\"\(fmt(at))\" y1=\"0\" y2=\"6\" stroke=\"#333\"/>"
                + "<text x=\"\(fmt(at + 2))\" y=\"18\" font-size=\"11\">\(clock(Int64(tick) * 1_000_000))</text>"
            tick += step
        }
        let marks = result.timeline.markers.map { marker in
            "<line x1=\"\(fmt(x(marker.time)))\" x2=\"\(fmt(x(marker.time)))\" y1=\"20\" y2=\"32\" stroke=\"\(colour(marker.kind))\" stroke-width=\"2\"><title>\(escape(marker.label)) at \(clock(marker.time))</title></line>"
        }.joined()
        return "<svg width=\"\(Int(width))\" height=\"32\">\(ticks)\(marks)</svg>"
    }

    /// How many servers were Connected over time: the shape of a large run at a glance.
    private static func connectedChart(_ result: SimulationResult, x: (Int64) -> Double) -> String {
        var changes: [(time: Int64, server: Int, delta: Int)] = []
        for server in result.timeline.servers.keys.sorted() {
            var wasConnected = false
            for change in result.timeline.servers[server]!.states {
                let isConnected = change.state == .connected
                if isConnected != wasConnected { changes.append((change.time, server, isConnected ? 1 : -1)) }
                wasConnected = isConnected
            }
        }
        changes.sort { ($0.time, $0.server) < ($1.time, $1.server) }
        let total = max(result.timeline.servers.count, 1)
        var count = 0
        var points = "0,32"
        for change in changes {
            points += " \(fmt(x(change.time))),\(fmt(32 - Double(count) / Double(total) * 30))"
            count += change.delta
            points += " \(fmt(x(change.time))),\(fmt(32 - Double(count) / Double(total) * 30))"
        }
        points += " \(fmt(width)),\(fmt(32 - Double(count) / Double(total) * 30))"
        return "<svg width=\"\(Int(width))\" height=\"32\"><polyline points=\"\(points)\" fill=\"none\" stroke=\"#22a06b\" stroke-width=\"1\"><title>servers connected, of \(total)</title></polyline></svg>"
    }

    private static func markerList(_ result: SimulationResult) -> String {
        guard !result.timeline.markers.isEmpty else { return "" }
        return "<h2>Faults and the app's lifecycle</h2><ul>"
            + result.timeline.markers.map { "<li>\(clock($0.time)): \(escape($0.label))</li>" }.joined() + "</ul>"
    }

    // MARK: Helpers

    /// How many of a large run's first servers always get a row.
    public static let firstRows = 10

    /// Every server when they are few; else those named in a violation and the first few.
    public static func selectedRows(_ servers: [Int], violations: [String]) -> [Int] {
        guard servers.count > rowLimit else { return servers }
        let named = Set(violations.compactMap { violation -> Int? in
            guard violation.hasPrefix("server ") else { return nil }
            return Int(violation.dropFirst("server ".count).prefix { $0.isNumber })
        })
        return servers.enumerated().filter { $0.offset < firstRows || named.contains($0.element) }.map(\.element)
    }

    private static let stateColours: [ConnectionState: String] = [
        .disconnected: "#bbb", .connecting: "#f2c744", .authenticating: "#f59e0b", .connected: "#22a06b",
        .authFailed: "#d93025", .disconnecting: "#666",
    ]

    private static func colour(_ kind: Timeline.Marker.Kind) -> String {
        switch kind {
        case .fault, .faultEnds: "#8e44ad"
        case .kill, .relaunch: "#111"
        case .heal: "#0b8043"
        }
    }

    /// `h:mm:ss` from the start of the run.
    public static func clock(_ microseconds: Int64) -> String {
        let seconds = microseconds / 1_000_000
        let minutes = (seconds / 60) % 60
        let rest = seconds % 60
        return "\(seconds / 3600):\(minutes < 10 ? "0" : "")\(minutes):\(rest < 10 ? "0" : "")\(rest)"
    }

    private static func fmt(_ value: Double) -> String {
        String(Double(Int(value * 10)) / 10)
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
