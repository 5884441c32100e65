-- 049_attachment_deletions: stored objects (files) that are to go, kept
-- until they are gone. A row's storage key is forgotten (its row deleted
-- by attachment-cleanup, or set NULL by an infected verdict) in the same
-- statement that inserts the key here; support-scan inserts a key here
-- before it stores a checked copy under it, and the row names the key
-- once recorded. attachment-cleanup deletes the object of every key here
-- that no row names and that is older than an hour (an ingest in flight
-- records its key within seconds), then the key; a key a row names is
-- only forgotten here. So a crash or a store that does not answer
-- between the row's write and the object's delete leaves nothing behind
-- in a bucket (which is never listed) — the directory store's sweep
-- covered only the directory (docs/operations.md).
CREATE TABLE support_attachment_deletions (
    storage_key text PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX support_attachment_deletions_created ON support_attachment_deletions (created_at);
