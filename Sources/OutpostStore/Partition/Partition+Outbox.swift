import OutpostWire

extension Partition {
    /// The largest `encrypted_payload` accepted: the protocol's 65,536-byte envelope limit less
    /// room for the server's echo (PROTOCOL.md §9).
    public static let maxOutboundPayloadBytes = WireCodec.maxOutboundPayloadBytes

    private static let outboxColumns = """
        queue_position, client_message_id, conversation_id, message_type, payload, state, enqueued_at_us,
        expires_at_us, attempts, last_request_id, server_message_id, server_timestamp_us, failure_code,
        failure_reason, updated_at_us
        """

    /// Queues a message durably: it is committed before this returns.
    ///
    /// - Parameters:
    ///   - clientMessageID: a unique id chosen by the caller (a ULID or UUID); it stays the same
    ///     across every retry of this message.
    ///   - lifespanSeconds: how long the message may wait; `nil` takes the store's default.
    @discardableResult
    public func enqueue(
        conversationID: String, messageType: String, payload: [UInt8], clientMessageID: String,
        now: Timestamp, lifespanSeconds: Int64? = nil
    ) throws(StoreError) -> OutboxItem {
        guard payload.count <= Self.maxOutboundPayloadBytes else {
            throw .payloadTooLarge(payload.count, limit: Self.maxOutboundPayloadBytes)
        }
        let expiresAt = now.adding(seconds: lifespanSeconds ?? store.options.defaultOutboxLifespanSeconds)
        return try write("enqueue") { partition throws(StoreError) in
            try partition.messages.statement("""
                INSERT INTO outbox (client_message_id, conversation_id, message_type, payload, state,
                                    enqueued_at_us, expires_at_us, updated_at_us)
                VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)
                """).bind(.text(clientMessageID), .text(conversationID), .text(messageType), .blob(payload),
                          .integer(now.microseconds), .integer(expiresAt.microseconds), .integer(now.microseconds)).run()
            return OutboxItem(
                queuePosition: partition.messages.lastInsertRowID, clientMessageID: clientMessageID,
                conversationID: conversationID, messageType: messageType, payload: payload, state: .queued,
                enqueuedAt: now, expiresAt: expiresAt, attempts: 0, lastRequestID: nil, serverMessageID: nil,
                serverTimestamp: nil, failure: nil, updatedAt: now)
        }
    }

    /// Inserts an item the sync core built (its queue position and lifespan chosen there):
    /// committed with the rest of the input's writes.
    public func insertOutboxItem(_ item: OutboxItem) throws(StoreError) {
        guard item.payload.count <= Self.maxOutboundPayloadBytes else {
            throw .payloadTooLarge(item.payload.count, limit: Self.maxOutboundPayloadBytes)
        }
        try write("enqueue") { partition throws(StoreError) in
            try partition.messages.statement("""
                INSERT INTO outbox (queue_position, client_message_id, conversation_id, message_type, payload, state,
                                    enqueued_at_us, expires_at_us, updated_at_us)
                VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?)
                """).bind(.integer(item.queuePosition), .text(item.clientMessageID), .text(item.conversationID),
                          .text(item.messageType), .blob(item.payload), .integer(item.enqueuedAt.microseconds),
                          .integer(item.expiresAt.microseconds), .integer(item.updatedAt.microseconds)).run()
        }
    }

    /// The queue position the next item takes: one past every position this partition ever
    /// used (cancelled and sent items included).
    public func nextQueuePosition() throws(StoreError) -> Int64 {
        try read { partition throws(StoreError) in
            let used = try partition.messages.statement("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'")
                .firstRow { $0.int64(0) }
            return (used ?? 0) + 1
        }
    }

    /// The outbox in FIFO order, optionally only items in `states`.
    public func outbox(states: Set<OutboxState>? = nil) throws(StoreError) -> [OutboxItem] {
        try read { partition throws(StoreError) in
            let all = try partition.messages.statement("SELECT \(Self.outboxColumns) FROM outbox ORDER BY queue_position")
                .rows(Self.outboxItem)
            guard let states else { return all }
            return all.filter { states.contains($0.state) }
        }
    }

    /// Items still to be delivered (queued or in flight), in FIFO order.
    public func pendingOutbox() throws(StoreError) -> [OutboxItem] {
        try read { partition throws(StoreError) in
            try partition.messages.statement("""
                SELECT \(Self.outboxColumns) FROM outbox WHERE state IN ('queued', 'in_flight') ORDER BY queue_position
                """).rows(Self.outboxItem)
        }
    }

    /// Expired items that had been put on the wire (the server may have stored them), in FIFO order.
    public func expiredAfterSending() throws(StoreError) -> [String] {
        try read { partition throws(StoreError) in
            try partition.messages.statement("""
                SELECT client_message_id FROM outbox WHERE state = 'expired' AND attempts > 0 ORDER BY queue_position
                """).rows { row in row.text(0) }
        }
    }

    /// One item by its client message id.
    public func outboxItem(_ clientMessageID: String) throws(StoreError) -> OutboxItem? {
        try read { partition throws(StoreError) in
            let statement = try partition.messages.statement(
                "SELECT \(Self.outboxColumns) FROM outbox WHERE client_message_id = ?").bind(.text(clientMessageID))
            return try statement.firstRow(Self.outboxItem)
        }
    }

    /// The item was put on the wire with `requestID`.
    public func markInFlight(_ clientMessageID: String, requestID: String, now: Timestamp) throws(StoreError) {
        try transition(clientMessageID, "mark in flight", allowed: [.queued, .inFlight], now: now, """
            UPDATE outbox SET state = 'in_flight', attempts = attempts + 1, last_request_id = ?, updated_at_us = ?
            WHERE client_message_id = ?
            """, [.text(requestID), .integer(now.microseconds), .text(clientMessageID)])
    }

    /// The server stored the item. Marking an item that is already sent again changes nothing
    /// (a repeated echo).
    public func markSent(
        _ clientMessageID: String, serverMessageID: String, serverTimestamp: Timestamp, now: Timestamp
    ) throws(StoreError) {
        if try outboxItem(clientMessageID)?.state == .sent { return }
        try transition(clientMessageID, "mark sent", allowed: [.queued, .inFlight, .failed, .expired], now: now, """
            UPDATE outbox SET state = 'sent', server_message_id = ?, server_timestamp_us = ?, failure_code = NULL,
                              failure_reason = NULL, updated_at_us = ?
            WHERE client_message_id = ?
            """, [.text(serverMessageID), .integer(serverTimestamp.microseconds), .integer(now.microseconds),
                  .text(clientMessageID)])
    }

    /// Returns an in-flight item to the queue (connection lost, transient error).
    public func returnToQueue(_ clientMessageID: String, now: Timestamp) throws(StoreError) {
        try transition(clientMessageID, "return to queue", allowed: [.inFlight, .queued], now: now, """
            UPDATE outbox SET state = 'queued', updated_at_us = ? WHERE client_message_id = ?
            """, [.integer(now.microseconds), .text(clientMessageID)])
    }

    /// Returns every in-flight item to the queue, e.g. after a relaunch. Returns how many.
    @discardableResult
    public func returnAllInFlightToQueue(now: Timestamp) throws(StoreError) -> Int {
        try write("returnAllInFlight") { partition throws(StoreError) in
            try partition.messages.statement(
                "UPDATE outbox SET state = 'queued', updated_at_us = ? WHERE state = 'in_flight'"
            ).bind(.integer(now.microseconds)).run()
            return partition.messages.changes
        }
    }

    /// A permanent error: the item is shown as failed with `reason` and not retried on its own.
    public func markFailed(_ clientMessageID: String, code: Int32?, reason: String, now: Timestamp) throws(StoreError) {
        try transition(clientMessageID, "mark failed", allowed: [.queued, .inFlight], now: now, """
            UPDATE outbox SET state = 'failed', failure_code = ?, failure_reason = ?, updated_at_us = ?
            WHERE client_message_id = ?
            """, [.optional(code.map(Int64.init)), .text(reason), .integer(now.microseconds), .text(clientMessageID)])
    }

    /// The user asks to send a failed or expired item again; it gets a fresh lifespan (the
    /// store's default, or until `expiresAt`).
    public func retry(_ clientMessageID: String, now: Timestamp, expiresAt: Timestamp? = nil) throws(StoreError) {
        let expiresAt = expiresAt ?? now.adding(seconds: store.options.defaultOutboxLifespanSeconds)
        try transition(clientMessageID, "retry", allowed: [.failed, .expired], now: now, """
            UPDATE outbox SET state = 'queued', failure_code = NULL, failure_reason = NULL, expires_at_us = ?,
                              updated_at_us = ?
            WHERE client_message_id = ?
            """, [.integer(expiresAt.microseconds), .integer(now.microseconds), .text(clientMessageID)])
    }

    /// The user cancels an item that has never been on the wire. Once sent, even if no echo
    /// came back, the server may have stored it: cancelling would hide a delivered message.
    public func cancel(_ clientMessageID: String, now: Timestamp) throws(StoreError) {
        if let item = try outboxItem(clientMessageID), item.attempts > 0, item.state == .queued || item.state == .expired {
            throw .invalidOutboxTransition(clientMessageID, from: item.state, to: "cancel after it was sent")
        }
        try transition(clientMessageID, "cancel", allowed: [.queued, .failed, .expired], now: now, """
            UPDATE outbox SET state = 'cancelled', updated_at_us = ? WHERE client_message_id = ?
            """, [.integer(now.microseconds), .text(clientMessageID)])
    }

    /// The user edits an item that has never been on the wire (once sent, a server that
    /// deduplicates by client message id would keep the first version).
    public func edit(_ clientMessageID: String, payload: [UInt8], now: Timestamp) throws(StoreError) {
        guard payload.count <= Self.maxOutboundPayloadBytes else {
            throw .payloadTooLarge(payload.count, limit: Self.maxOutboundPayloadBytes)
        }
        guard let item = try outboxItem(clientMessageID) else { throw .outboxItemNotFound(clientMessageID) }
        guard item.state == .queued, item.attempts == 0 else {
            throw .invalidOutboxTransition(clientMessageID, from: item.state, to: "edit after it was sent")
        }
        try write("edit") { partition throws(StoreError) in
            try partition.messages.statement(
                "UPDATE outbox SET payload = ?, updated_at_us = ? WHERE client_message_id = ?"
            ).bind(.blob(payload), .integer(now.microseconds), .text(clientMessageID)).run()
        }
    }

    /// Moves queued items whose lifespan has run out to `expired` and returns them.
    @discardableResult
    public func expireOutbox(now: Timestamp) throws(StoreError) -> [OutboxItem] {
        let due = try read { partition throws(StoreError) in
            try partition.messages.statement("""
                SELECT \(Self.outboxColumns) FROM outbox WHERE state = 'queued' AND expires_at_us <= ?
                ORDER BY queue_position
                """).bind(.integer(now.microseconds)).rows(Self.outboxItem)
        }
        guard !due.isEmpty else { return [] }
        try write("expire") { partition throws(StoreError) in
            try partition.messages.statement("""
                UPDATE outbox SET state = 'expired', updated_at_us = ? WHERE state = 'queued' AND expires_at_us <= ?
                """).bind(.integer(now.microseconds), .integer(now.microseconds)).run()
        }
        return due.map { item in
            var expired = item
            expired.state = .expired
            expired.updatedAt = now
            return expired
        }
    }

    // MARK: Helpers

    private func transition(
        _ clientMessageID: String, _ action: String, allowed: Set<OutboxState>, now: Timestamp,
        _ sql: String, _ values: [SQLValue]
    ) throws(StoreError) {
        guard let item = try outboxItem(clientMessageID) else { throw .outboxItemNotFound(clientMessageID) }
        guard allowed.contains(item.state) else {
            throw .invalidOutboxTransition(clientMessageID, from: item.state, to: action)
        }
        try write(action) { partition throws(StoreError) in
            let statement = try partition.messages.statement(sql)
            for (index, value) in values.enumerated() { statement.bind(value, at: Int32(index + 1)) }
            try statement.run()
        }
    }

    private static func outboxItem(_ row: Statement) -> OutboxItem {
        let failureReason = row.optionalText(13)
        return OutboxItem(
            queuePosition: row.int64(0), clientMessageID: row.text(1), conversationID: row.text(2),
            messageType: row.text(3), payload: row.blob(4), state: OutboxState(rawValue: row.text(5)) ?? .failed,
            enqueuedAt: Timestamp(microseconds: row.int64(6)), expiresAt: Timestamp(microseconds: row.int64(7)),
            attempts: Int(row.int64(8)), lastRequestID: row.optionalText(9), serverMessageID: row.optionalText(10),
            serverTimestamp: row.optionalInt64(11).map(Timestamp.init(microseconds:)),
            failure: failureReason.map { OutboxFailure(code: row.optionalInt64(12).map { Int32(truncatingIfNeeded: $0) }, reason: $0) },
            updatedAt: Timestamp(microseconds: row.int64(14)))
    }
}
