-- 072_attachment_redaction: erasing attachments (docs/API.md §10
-- "Deleting and redacting") and the bucket's status look (§10
-- "Attachments in a bucket").
-- redacted_at / redacted_by: an agent erased the file (a passport scan
-- sent by mistake): its bytes are deleted (the key goes through
-- support_attachment_deletions, sql/049), the row stays with its name
-- replaced and its sha256 forgotten, so the messages that list it say
-- "redacted" and a download is 410 Gone. redacted_by is the agent's sub.
-- look_asked_at: when a status poll last asked support-scan to look for
-- a bucket upload now; a poll asks at most once a second per row, so a
-- client polling in a loop neither makes the scanner request the bucket
-- nor writes the row on every poll. Idempotent.
ALTER TABLE support_attachments ADD COLUMN IF NOT EXISTS redacted_at timestamptz;
ALTER TABLE support_attachments ADD COLUMN IF NOT EXISTS redacted_by text;
ALTER TABLE support_attachments ADD COLUMN IF NOT EXISTS look_asked_at timestamptz;
