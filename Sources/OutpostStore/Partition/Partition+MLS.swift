/// One snapshot of an MLS group's state, opaque to the data layer.
public struct MLSGroupState: Hashable, Sendable {
    public var groupID: String
    public var epoch: UInt64
    public var state: [UInt8]
    public var updatedAt: Timestamp
}

/// One of this client's MLS key packages.
public struct MLSKeyPackage: Hashable, Sendable {
    public var id: Int64
    public var data: [UInt8]
    public var createdAt: Timestamp
    public var uploaded: Bool
}

/// The MLS state store in `mls_state.db`. The data layer stores what it is given and never
/// interprets it.
extension Partition {
    /// Saves the state of `groupID` at `epoch`, replacing a snapshot of the same epoch.
    public func saveMLSGroupState(groupID: String, epoch: UInt64, state: [UInt8], now: Timestamp) throws(StoreError) {
        try writeMLS("saveMLSGroupState") { db throws(StoreError) in
            try db.statement("INSERT OR REPLACE INTO group_states (group_id, epoch, state, updated_at_us) VALUES (?, ?, ?, ?)")
                .bind(.text(groupID), .integer(Int64(bitPattern: epoch)), .blob(state), .integer(now.microseconds)).run()
        }
    }

    /// The newest snapshot of `groupID`.
    public func latestMLSGroupState(groupID: String) throws(StoreError) -> MLSGroupState? {
        try mlsGroupStates(groupID: groupID).last
    }

    /// Every stored snapshot of `groupID`, oldest epoch first.
    public func mlsGroupStates(groupID: String) throws(StoreError) -> [MLSGroupState] {
        try readMLS { db throws(StoreError) in
            try db.statement("SELECT group_id, epoch, state, updated_at_us FROM group_states WHERE group_id = ? ORDER BY epoch")
                .bind(.text(groupID)).rows { row in
                    MLSGroupState(groupID: row.text(0), epoch: UInt64(bitPattern: row.int64(1)), state: row.blob(2),
                                  updatedAt: Timestamp(microseconds: row.int64(3)))
                }
        }
    }

    /// Deletes the snapshots of `groupID` older than `epoch`.
    public func deleteMLSGroupStates(groupID: String, olderThan epoch: UInt64) throws(StoreError) {
        try writeMLS("deleteMLSGroupStates") { db throws(StoreError) in
            try db.statement("DELETE FROM group_states WHERE group_id = ? AND epoch < ?")
                .bind(.text(groupID), .integer(Int64(bitPattern: epoch))).run()
        }
    }

    /// Stores a new key package of this client; returns its id.
    @discardableResult
    public func addMLSKeyPackage(_ data: [UInt8], now: Timestamp) throws(StoreError) -> Int64 {
        try writeMLS("addMLSKeyPackage") { db throws(StoreError) in
            try db.statement("INSERT INTO key_packages (data, created_at_us) VALUES (?, ?)")
                .bind(.blob(data), .integer(now.microseconds)).run()
            return db.lastInsertRowID
        }
    }

    /// This client's key packages, oldest first.
    public func mlsKeyPackages() throws(StoreError) -> [MLSKeyPackage] {
        try readMLS { db throws(StoreError) in
            try db.statement("SELECT key_package_id, data, created_at_us, uploaded FROM key_packages ORDER BY key_package_id")
                .rows { row in
                    MLSKeyPackage(id: row.int64(0), data: row.blob(1), createdAt: Timestamp(microseconds: row.int64(2)),
                                  uploaded: row.int64(3) != 0)
                }
        }
    }

    /// The key package was uploaded (`MLS_KEY_PACKAGE_UPLOAD`).
    public func markMLSKeyPackageUploaded(_ id: Int64) throws(StoreError) {
        try writeMLS("markKeyPackageUploaded") { db throws(StoreError) in
            try db.statement("UPDATE key_packages SET uploaded = 1 WHERE key_package_id = ?").bind(.integer(id)).run()
        }
    }

    /// Deletes a used key package.
    public func removeMLSKeyPackage(_ id: Int64) throws(StoreError) {
        try writeMLS("removeKeyPackage") { db throws(StoreError) in
            try db.statement("DELETE FROM key_packages WHERE key_package_id = ?").bind(.integer(id)).run()
        }
    }

    /// Queues an MLS frame from the server for the MLS engine; returns its id.
    @discardableResult
    public func recordInboundMLS(
        _ kind: InboundMLSFrame.Kind, conversationID: String, senderID: String, data: [UInt8], now: Timestamp
    ) throws(StoreError) -> Int64 {
        try writeMLS("recordInboundMLS") { db throws(StoreError) in
            try db.statement("""
                INSERT INTO inbound_mls (kind, conversation_id, sender_id, data, received_at_us) VALUES (?, ?, ?, ?, ?)
                """).bind(.text(kind.rawValue), .text(conversationID), .text(senderID), .blob(data),
                          .integer(now.microseconds)).run()
            return db.lastInsertRowID
        }
    }

    /// MLS frames not yet processed, in arrival order.
    public func pendingInboundMLS() throws(StoreError) -> [InboundMLSFrame] {
        try readMLS { db throws(StoreError) in
            try db.statement("""
                SELECT inbound_id, kind, conversation_id, sender_id, data, received_at_us FROM inbound_mls
                WHERE processed = 0 ORDER BY inbound_id
                """).rows { row in
                InboundMLSFrame(id: row.int64(0), kind: InboundMLSFrame.Kind(rawValue: row.text(1)) ?? .commit,
                                conversationID: row.text(2), senderID: row.text(3), data: row.blob(4),
                                receivedAt: Timestamp(microseconds: row.int64(5)))
            }
        }
    }

    /// The MLS engine has processed frame `id`.
    public func markInboundMLSProcessed(_ id: Int64) throws(StoreError) {
        try writeMLS("markInboundMLSProcessed") { db throws(StoreError) in
            try db.statement("UPDATE inbound_mls SET processed = 1 WHERE inbound_id = ?").bind(.integer(id)).run()
        }
    }
}
