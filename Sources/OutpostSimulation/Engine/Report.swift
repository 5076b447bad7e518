import OutpostSync

/// Renders a run as a self-contained HTML page: a summary, the violations, and one timeline
/// row per server (connection state as coloured bands, queue depth as a line, gaps as marks).
public enum Report {
    public static func html(_ result: SimulationResult) -> String {
        let end = max(result.simulatedSeconds, 1)
        let width = 1000.0
        func x(_ microseconds: Int64) -> Double { Double(microseconds) / 1_000_000 / end * width }
        let colours: [ConnectionState: String] = [
            .disconnected: "#bbb", .connecting: "#f2c744", .authenticating: "#f59e0b", .connected: "#22a06b",
            .authFailed: "#d93025", .disconnecting: "#666",
        ]
        var rows = ""
        for server in result.timeline.servers.keys.sorted() {
            let timeline = result.timeline.servers[server]!
            var bands = ""
            for (index, change) in timeline.states.enumerated() {
                let start = x(change.time)
                let stop = index + 1 < timeline.states.count ? x(timeline.states[index + 1].time) : width
                bands += "<rect x=\"\(fmt(start))\" y=\"0\" width=\"\(fmt(max(stop - start, 0.5)))\" height=\"14\" fill=\"\(colours[change.state] ?? "#000")\"><title>\(change.state.rawValue) at \(fmt(Double(change.time) / 1e6)) s</title></rect>"
            }
            let maxDepth = max(timeline.queueDepths.map(\.depth).max() ?? 1, 1)
            let points = timeline.queueDepths.map { "\(fmt(x($0.time))),\(fmt(30 - Double($0.depth) / Double(maxDepth) * 14))" }.joined(separator: " ")
            let depthLine = points.isEmpty ? "" : "<polyline points=\"\(points)\" fill=\"none\" stroke=\"#3367d6\" stroke-width=\"1\"/>"
            let gapMarks = timeline.gaps.map {
                "<line x1=\"\(fmt(x($0.time)))\" x2=\"\(fmt(x($0.time)))\" y1=\"0\" y2=\"32\" stroke=\"\($0.open ? "#d93025" : "#22a06b")\" stroke-width=\"2\"><title>gap \($0.open ? "opened" : "filled") at \(fmt(Double($0.time) / 1e6)) s</title></line>"
            }.joined()
            rows += "<tr><td>server \(server)</td><td><svg width=\"\(Int(width))\" height=\"32\">\(bands)\(depthLine)\(gapMarks)</svg></td></tr>\n"
        }
        let violations = result.violations.isEmpty
            ? "<p class=\"ok\">The checker found nothing wrong.</p>"
            : "<ul>" + result.violations.map { "<li>\(escape($0))</li>" }.joined() + "</ul>"
        return """
            <!doctype html>
            <html><head><meta charset="utf-8"><title>outpost-sim: \(escape(result.scenario)) seed \(result.seed)</title>
            <style>body{font:14px system-ui,sans-serif;margin:24px}td{padding:2px 8px;white-space:nowrap}.ok{color:#22a06b}
            .legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}</style></head>
            <body><h1>\(escape(result.scenario)), seed \(result.seed)</h1>
            <p>\(fmt(result.simulatedSeconds)) simulated seconds, \(result.statistics.events) events, trace hash \(String(result.traceHash, radix: 16)).</p>
            \(violations)
            <p class="legend">\(colours.sorted { $0.key.rawValue < $1.key.rawValue }.map { "<span style=\"background:\($0.value)\"></span>\($0.key.rawValue)" }.joined())
            <span style="background:#3367d6;height:2px"></span>queue depth <span style="background:#d93025;width:2px"></span>gap opened
            <span style="background:#22a06b;width:2px"></span>gap filled</p>
            <table>\(rows)</table></body></html>
            """
    }

    private static func fmt(_ value: Double) -> String {
        String(Double(Int(value * 10)) / 10)
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
