import NIOCore
@testable import Outpost
import Testing

/// A slow event consumer never makes memory grow: it gets the newest events and a marker
/// where it missed the others.
@Suite("Bounded event streams")
struct BroadcasterTests {
    @Test func aSlowSubscriberGetsTheNewestEventsAndAMissedMarker() async {
        let broadcaster = Broadcaster<OutpostEvent>()
        let stream = broadcaster.subscribe(bufferingNewest: 4, missed: MissedMarker(make: OutpostEvent.missed)) { $0 }
        let server = ServerID(hex: "00")
        // Nobody reads while 101 events go out: the buffer keeps 4.
        for number in 0..<100 { broadcaster.publish(OutpostEvent(server: server, kind: .gapOpened(id: Int64(number)))) }
        broadcaster.publish(OutpostEvent(server: server, kind: .gapFilled(id: 1)))
        broadcaster.finish()
        var received: [OutpostEvent.Kind] = []
        for await event in stream { received.append(event.kind) }
        // A marker says how many went, then the newest four, in order.
        #expect(received == [.eventsMissed(97), .gapOpened(id: 97), .gapOpened(id: 98), .gapOpened(id: 99), .gapFilled(id: 1)])
    }

    @Test func aDroppedStreamIsForgotten() async {
        let broadcaster = Broadcaster<OutpostEvent>()
        do {
            let stream = broadcaster.subscribe(bufferingNewest: 4) { $0 }
            _ = stream
        }
        #expect(broadcaster.subscriberCount == 1)
        // Publishing to a subscriber that is gone forgets it.
        for number in 0..<10 { broadcaster.publish(OutpostEvent(server: ServerID(hex: "00"), kind: .gapOpened(id: Int64(number)))) }
        #expect(broadcaster.subscriberCount == 0)
        let live = broadcaster.subscribe(bufferingNewest: 4) { $0 }
        broadcaster.publish(OutpostEvent(server: ServerID(hex: "00"), kind: .caughtUp))
        broadcaster.finish()
        var received: [OutpostEvent.Kind] = []
        for await event in live { received.append(event.kind) }
        #expect(received == [.caughtUp])
    }

    @Test func aStateStreamKeepsOnlyTheLatestState() async {
        let broadcaster = Broadcaster<OutpostEvent>()
        let server = ServerID(hex: "00")
        let states = broadcaster.subscribe(initial: [ConnectionState.disconnected], bufferingNewest: 1) { event -> ConnectionState? in
            if case .connectionStateChanged(let state) = event.kind { state } else { nil }
        }
        for state in [ConnectionState.connecting, .authenticating, .connected] {
            broadcaster.publish(OutpostEvent(server: server, kind: .connectionStateChanged(state)))
        }
        broadcaster.finish()
        var seen: [ConnectionState] = []
        for await state in states { seen.append(state) }
        #expect(seen == [.connected])
    }
}

/// What waits to be written on a WebSocket is bounded too.
@Suite("Bounded transport queues")
struct TransportQueueTests {
    /// A peer that pings and never reads would otherwise make pongs pile up.
    @Test func pingsWhileTheWriterWaitsOweOnePong() {
        let pong = PendingPong()
        var queued = 0
        for number in 0..<10_000 where pong.offer(ByteBuffer(string: "ping \(number)")) { queued += 1 }
        #expect(queued == 1, "one pong waits, however many pings came")
        #expect(pong.take() == ByteBuffer(string: "ping 9999"), "it answers the latest")
        #expect(pong.take() == nil)
        #expect(pong.offer(ByteBuffer(string: "next")))
    }

    @Test func messagesWaitingToBeWrittenAreCapped() {
        let budget = OutgoingBudget(limit: NIOWebSocketConnection.maxQueuedBytes)
        var accepted = 0
        while budget.reserve(65_536) { accepted += 1 }
        #expect(accepted == 64, "4 MiB of 64 KiB messages")
        #expect(!budget.reserve(1), "the budget is spent")
        budget.release(65_536)
        #expect(budget.reserve(65_536))
    }
}
