-- mls_state.db, migration 1: opaque MLS material for the front end's MLS engine.
-- The data layer never interprets these bytes.

-- Group state snapshots by group id and epoch.
CREATE TABLE group_states (
    group_id      TEXT NOT NULL,
    epoch         INTEGER NOT NULL,
    state         BLOB NOT NULL,
    updated_at_us INTEGER NOT NULL,
    PRIMARY KEY (group_id, epoch)
) WITHOUT ROWID;

-- This client's own key packages, uploaded or waiting to be.
CREATE TABLE key_packages (
    key_package_id INTEGER PRIMARY KEY AUTOINCREMENT,
    data           BLOB NOT NULL,
    created_at_us  INTEGER NOT NULL,
    uploaded       INTEGER NOT NULL DEFAULT 0
);

-- MLS frames received from the server (welcome, commit, fetched key package), in arrival
-- order, until the MLS engine marks them processed.
CREATE TABLE inbound_mls (
    inbound_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL CHECK (kind IN ('welcome', 'commit', 'key_package')),
    conversation_id TEXT NOT NULL,
    sender_id       TEXT NOT NULL,
    data            BLOB NOT NULL,
    received_at_us  INTEGER NOT NULL,
    processed       INTEGER NOT NULL DEFAULT 0
);
