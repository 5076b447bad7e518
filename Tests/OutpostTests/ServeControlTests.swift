import NIOHTTP1
import OutpostLoopbackServer
import OutpostSimulation
import Testing

/// `outpost-sim serve`'s fault controls refuse what they cannot carry out, with the reason,
/// instead of trapping (`clock-step?seconds=-999999999999999` and `down?seconds=inf` did).
@Suite("Serve controls")
struct ServeControlTests {
    @Test(arguments: [
        ("clock-step", ["seconds": "-999999999999999"]), ("clock-step", ["seconds": "nan"]),
        ("down", ["seconds": "inf"]), ("down", ["seconds": "-1"]), ("blackhole", ["seconds": "soon"]),
        ("auth-glitch", ["seconds": "1e300"]), ("rate-limit", ["per_second": "0"]), ("rate-limit", ["burst": "inf"]),
    ])
    func aValueOutOfRangeIsABadRequest(action: String, query: [String: String]) async {
        let host = ServerHost(name: "Home", behaviour: .extended, users: ["me"], conversations: ["family"], seed: 1)
        let (status, body) = await host.control(action, query)
        #expect(status == .badRequest, "\(action) \(query): \(status) \(body)")
        #expect(body.contains("must be"))
    }

    @Test func valuesInRangeStillWork() async {
        let host = ServerHost(name: "Home", behaviour: .extended, users: ["me"], conversations: ["family"], seed: 1)
        #expect(await host.control("clock-step", ["seconds": "-30"]).status == .ok)
        #expect(await host.control("down", ["seconds": "0.5"]).status == .ok)
        #expect(await host.control("up", [:]).status == .ok)
        #expect(await host.control("rate-limit", ["per_second": "1", "burst": "1"]).status == .ok)
        #expect(await host.control("blackhole", [:]).status == .ok, "30 s by default")
    }
}
