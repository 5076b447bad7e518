import OutpostStore

extension ConversationPage {
    /// Puts each open gap after the last message at or before the point it is filled up to.
    static func merging(_ messages: [Message], gaps: [GapRecord], before: MessagePosition?, isFull: Bool) -> ConversationPage {
        let start = isFull ? messages.first?.position : nil
        let end = before
        let visible = gaps.filter { gap in
            let hole = gap.filledUpTo.position
            if let start, hole < start { return gap.before.map { $0.position > start } ?? true }
            if let end, hole >= end { return false }
            return true
        }.sorted { ($0.filledUpTo.position, $0.id) < ($1.filledUpTo.position, $1.id) }
        var items: [Item] = []
        var remaining = visible[...]
        for message in messages {
            while let gap = remaining.first, gap.filledUpTo.position < message.position {
                items.append(.gap(gap))
                remaining.removeFirst()
            }
            items.append(.message(message))
        }
        items += remaining.map(Item.gap)
        return ConversationPage(items: items, previousPageBefore: isFull ? messages.first?.position : nil)
    }
}
