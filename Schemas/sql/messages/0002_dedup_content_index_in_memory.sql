-- messages.db, migration 2: the content-duplicate lookup leaves the database.
--
-- inbound_dedup_by_content was keyed on (conversation_id, sender_id, payload_hash): a hash, so
-- every inbound message inserted into a random leaf of that b-tree. Once the partition holds
-- more dedup records than a batch has messages, a batch of 500 dirtied ~470 index pages, and
-- each dirty page is encrypted and authenticated again by SQLCipher at every commit: most of
-- the cost of encrypted ingest. The store now answers "same conversation, sender and
-- ciphertext?" from an in-memory set of the records' content keys, built from this table's
-- columns (which stay, unchanged, as the durable truth) when a partition first ingests.
DROP INDEX inbound_dedup_by_content;
