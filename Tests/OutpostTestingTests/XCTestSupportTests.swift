import OutpostTesting
import XCTest

/// The kit from XCTest: the same world, failures as thrown errors with the repro line.
final class XCTestSupportTests: XCTestCase {
    @MainActor
    func testAWorldRunsInXCTestAndItsFailuresNameTheTest() async throws {
        let world = try SimulatedWorld(seed: 41)
        let home = try world.addServer(.upstream, host: "upstream.example", conversations: ["family"])
        world.pullPlug()
        try await world.client.send(Array("offline".utf8), to: "family", on: home)
        world.advance(by: .seconds(30))
        world.plugIn()
        try world.runUntilIdle()
        let pending = await world.client.server(home)?.pendingOutboxCount
        XCTAssertEqual(pending, 0)
        do {
            try world.expect(pending, 3, "waiting to send")
            XCTFail("a wrong expectation must throw")
        } catch {
            XCTAssertTrue(error.description.contains("waiting to send: expected Optional(3), got Optional(0)"), error.description)
            XCTAssertTrue(error.description.contains(
                "reproduce: swift test --filter 'XCTestSupportTests.testAWorldRunsInXCTestAndItsFailuresNameTheTest'"), error.description)
        }
        try world.check()
    }
}
