extension Partition {
    /// The sync cursor (`beginning` before anything was received).
    public func syncCursor() throws(StoreError) -> SyncCursor {
        try read { partition throws(StoreError) in
            try partition.messages.statement("SELECT timestamp_us, message_id, sequence FROM sync_cursor").firstRow { row in
                SyncCursor(
                    position: MessagePosition(timestamp: Timestamp(microseconds: row.int64(0)), messageID: row.text(1)),
                    sequence: UInt64(bitPattern: row.int64(2)))
            } ?? .beginning
        }
    }

    /// Stores the sync cursor. The sync core moves it only over contiguous ranges.
    public func setSyncCursor(_ cursor: SyncCursor) throws(StoreError) {
        try write("setSyncCursor") { partition throws(StoreError) in
            try partition.messages.statement("""
                INSERT OR REPLACE INTO sync_cursor (singleton, timestamp_us, message_id, sequence) VALUES (1, ?, ?, ?)
                """).bind(.integer(cursor.position.timestamp.microseconds), .text(cursor.position.messageID),
                          .integer(Int64(bitPattern: cursor.sequence))).run()
        }
    }

    /// Records a missing range and returns it. `id` is chosen by the caller (the sync core
    /// numbers its gaps) or, when `nil`, by the database.
    @discardableResult
    public func recordGap(
        id: Int64? = nil, conversationID: String? = nil, after: SyncCursor, before: SyncCursor?, now: Timestamp
    ) throws(StoreError) -> GapRecord {
        try write("recordGap") { partition throws(StoreError) in
            try partition.messages.statement("""
                INSERT OR REPLACE INTO gaps (gap_id, conversation_id, after_timestamp_us, after_message_id, after_sequence, before_timestamp_us,
                                  before_message_id, before_sequence, fill_timestamp_us, fill_message_id, fill_sequence,
                                  state, created_at_us, updated_at_us)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)
                """).bind(
                    .optional(id), .optional(conversationID), .integer(after.position.timestamp.microseconds), .text(after.position.messageID),
                    .integer(Int64(bitPattern: after.sequence)), .optional(before?.position.timestamp.microseconds),
                    .optional(before?.position.messageID), .optional(before.map { Int64(bitPattern: $0.sequence) }),
                    .integer(after.position.timestamp.microseconds), .text(after.position.messageID),
                    .integer(Int64(bitPattern: after.sequence)), .integer(now.microseconds), .integer(now.microseconds)).run()
            return GapRecord(id: partition.messages.lastInsertRowID, conversationID: conversationID, after: after,
                             before: before, filledUpTo: after, state: .open, createdAt: now, updatedAt: now)
        }
    }

    /// Records how far filling a gap has got.
    public func updateGapProgress(_ gapID: Int64, filledUpTo: SyncCursor, now: Timestamp) throws(StoreError) {
        try write("gapProgress") { partition throws(StoreError) in
            try partition.messages.statement("""
                UPDATE gaps SET fill_timestamp_us = ?, fill_message_id = ?, fill_sequence = ?, updated_at_us = ? WHERE gap_id = ?
                """).bind(.integer(filledUpTo.position.timestamp.microseconds), .text(filledUpTo.position.messageID),
                          .integer(Int64(bitPattern: filledUpTo.sequence)), .integer(now.microseconds), .integer(gapID)).run()
        }
    }

    /// The gap is filled.
    public func markGapFilled(_ gapID: Int64, now: Timestamp) throws(StoreError) {
        try write("gapFilled") { partition throws(StoreError) in
            try partition.messages.statement("UPDATE gaps SET state = 'filled', updated_at_us = ? WHERE gap_id = ?")
                .bind(.integer(now.microseconds), .integer(gapID)).run()
        }
    }

    /// Gaps not yet filled, oldest first.
    public func openGaps() throws(StoreError) -> [GapRecord] {
        try gaps(where: "state = 'open'")
    }

    /// Every gap record, oldest first.
    public func allGaps() throws(StoreError) -> [GapRecord] {
        try gaps(where: "1")
    }

    private func gaps(where condition: String) throws(StoreError) -> [GapRecord] {
        try read { partition throws(StoreError) in
            try partition.messages.statement("""
                SELECT gap_id, conversation_id, after_timestamp_us, after_message_id, after_sequence, before_timestamp_us,
                       before_message_id, before_sequence, fill_timestamp_us, fill_message_id, fill_sequence, state,
                       created_at_us, updated_at_us
                FROM gaps WHERE \(condition) ORDER BY gap_id
                """).rows { row in
                func cursor(_ first: Int32) -> SyncCursor {
                    SyncCursor(position: MessagePosition(timestamp: Timestamp(microseconds: row.int64(first)),
                                                         messageID: row.text(first + 1)),
                               sequence: UInt64(bitPattern: row.int64(first + 2)))
                }
                return GapRecord(
                    id: row.int64(0), conversationID: row.optionalText(1), after: cursor(2),
                    before: row.isNull(5) ? nil : cursor(5), filledUpTo: cursor(8),
                    state: GapRecord.State(rawValue: row.text(11)) ?? .open,
                    createdAt: Timestamp(microseconds: row.int64(12)), updatedAt: Timestamp(microseconds: row.int64(13)))
            }
        }
    }
}
