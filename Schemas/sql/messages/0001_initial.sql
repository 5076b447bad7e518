-- messages.db, migration 1: the partition of one server.
-- Written for SQLCipher 3.4.1 / SQLite 3.15.2: no UPSERT, RETURNING, window functions or JSON1.
-- Times are Unix microseconds. Every table lives inside the encrypted database.

-- The server's metadata (display name, icon, discovery document, capabilities, own user id).
CREATE TABLE server_metadata (
    key   TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
) WITHOUT ROWID;

-- This server's credentials: session token, passkey credential id, server config.
-- Reachable only through this partition's handle.
CREATE TABLE credentials (
    name  TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL,
    updated_at_us INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE conversations (
    conversation_id  TEXT PRIMARY KEY NOT NULL,
    title            TEXT,
    kind             TEXT NOT NULL DEFAULT 'direct' CHECK (kind IN ('direct', 'group')),
    -- Newest (server_timestamp, message_id) seen in the conversation: the unified list sorts on it.
    last_activity_us INTEGER NOT NULL DEFAULT 0,
    last_message_id  TEXT NOT NULL DEFAULT '',
    unread_count     INTEGER NOT NULL DEFAULT 0,
    -- Everything up to and including this (server_timestamp, message_id) pair has been read.
    read_up_to_us    INTEGER NOT NULL DEFAULT 0,
    read_up_to_id    TEXT NOT NULL DEFAULT '',
    is_member        INTEGER NOT NULL DEFAULT 1,
    created_at_us    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX conversations_by_activity ON conversations (last_activity_us DESC, conversation_id);

CREATE TABLE conversation_members (
    conversation_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    username        TEXT NOT NULL DEFAULT '',
    display_name    TEXT NOT NULL DEFAULT '',
    role            TEXT NOT NULL DEFAULT 'member',
    PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;

-- Received and sent messages, as the server stored them. Display order is
-- (server_timestamp_us, message_id): server clocks repeat and step backwards.
CREATE TABLE messages (
    message_id          TEXT PRIMARY KEY NOT NULL,
    conversation_id     TEXT NOT NULL,
    sender_id           TEXT NOT NULL,
    server_timestamp_us INTEGER NOT NULL,
    sequence            INTEGER,
    message_type        TEXT NOT NULL,
    payload             BLOB NOT NULL,
    payload_hash        BLOB NOT NULL,
    client_message_id   TEXT,
    received_at_us      INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX messages_in_order ON messages (conversation_id, server_timestamp_us, message_id);

-- What has been seen, kept apart from messages so that deleting a message locally never lets
-- it come back, and pruned by age. Duplicates are caught by message_id and by
-- (conversation, sender, hash of ciphertext): a legacy server stores a retried send twice.
CREATE TABLE inbound_dedup (
    message_id      TEXT PRIMARY KEY NOT NULL,
    conversation_id TEXT NOT NULL,
    sender_id       TEXT NOT NULL,
    payload_hash    BLOB NOT NULL,
    seen_at_us      INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX inbound_dedup_by_content ON inbound_dedup (conversation_id, sender_id, payload_hash);
CREATE INDEX inbound_dedup_by_age ON inbound_dedup (seen_at_us);

-- The durable outbound queue. `queue_position` gives FIFO order; the client message id is
-- fixed at enqueue time and reused on every retry.
CREATE TABLE outbox (
    queue_position      INTEGER PRIMARY KEY AUTOINCREMENT,
    client_message_id   TEXT NOT NULL UNIQUE,
    conversation_id     TEXT NOT NULL,
    message_type        TEXT NOT NULL,
    payload             BLOB NOT NULL,
    state               TEXT NOT NULL
        CHECK (state IN ('queued', 'in_flight', 'sent', 'failed', 'cancelled', 'expired')),
    enqueued_at_us      INTEGER NOT NULL,
    expires_at_us       INTEGER NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,
    last_request_id     TEXT,
    server_message_id   TEXT,
    server_timestamp_us INTEGER,
    failure_code        INTEGER,
    failure_reason      TEXT,
    updated_at_us       INTEGER NOT NULL
);

CREATE INDEX outbox_by_state ON outbox (state, queue_position);

-- The newest position known contiguously: (server_timestamp, message_id), and the sequence
-- number where the server offers one. One row.
CREATE TABLE sync_cursor (
    singleton    INTEGER PRIMARY KEY CHECK (singleton = 1),
    timestamp_us INTEGER NOT NULL,
    message_id   TEXT NOT NULL,
    sequence     INTEGER NOT NULL
);

-- Ranges known to be missing. `after_*` is the exclusive lower bound; `before_*` the exclusive
-- upper bound when known. `fill_*` is how far filling has got.
CREATE TABLE gaps (
    gap_id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id     TEXT,
    after_timestamp_us  INTEGER NOT NULL,
    after_message_id    TEXT NOT NULL,
    after_sequence      INTEGER NOT NULL,
    before_timestamp_us INTEGER,
    before_message_id   TEXT,
    before_sequence     INTEGER,
    fill_timestamp_us   INTEGER NOT NULL,
    fill_message_id     TEXT NOT NULL,
    fill_sequence       INTEGER NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('open', 'filled')),
    created_at_us       INTEGER NOT NULL,
    updated_at_us       INTEGER NOT NULL
);

CREATE INDEX gaps_open ON gaps (state, gap_id);
