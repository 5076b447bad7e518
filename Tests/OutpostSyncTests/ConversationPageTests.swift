@testable import OutpostClientCore
import Testing

/// Where gap markers go on a page (the merge itself, without a server).
@Suite("Conversation pages")
struct ConversationPageTests {
    static func message(_ micros: Int64, _ id: String) -> Message {
        Message(messageID: id, conversationID: "c", senderID: "alice", serverTimestamp: Timestamp(microseconds: micros),
                messageType: "text", payload: [])
    }

    static func gap(_ id: Int64, after: Int64, before: Int64?) -> GapRecord {
        let cursor = { (micros: Int64) in SyncCursor(position: MessagePosition(timestamp: Timestamp(microseconds: micros), messageID: "m\(micros)")) }
        return GapRecord(id: id, conversationID: nil, after: cursor(after), before: before.map(cursor), filledUpTo: cursor(after),
                         state: .open, createdAt: .zero, updatedAt: .zero)
    }

    @Test func aGapMarkerSitsWhereMessagesAreMissing() {
        let messages = [Self.message(10, "m10"), Self.message(20, "m20"), Self.message(50, "m50")]
        let page = ConversationPage.merging(messages, gaps: [Self.gap(1, after: 20, before: 50)], before: nil, isFull: false)
        #expect(page.items.map(Self.label) == ["m10", "m20", "gap1", "m50"])
        #expect(page.previousPageBefore == nil)
    }

    @Test func aGapOutsideThePageIsLeftOut() {
        let messages = [Self.message(30, "m30"), Self.message(40, "m40")]
        let older = Self.gap(1, after: 5, before: 8)
        let newer = Self.gap(2, after: 60, before: nil)
        let page = ConversationPage.merging(messages, gaps: [older, newer], before: Self.message(45, "m45").position, isFull: true)
        #expect(page.items.map(Self.label) == ["m30", "m40"])
        #expect(page.previousPageBefore == messages[0].position)
    }

    static func label(_ item: ConversationPage.Item) -> String {
        switch item {
        case .message(let message): message.messageID
        case .gap(let gap): "gap\(gap.id)"
        }
    }
}
