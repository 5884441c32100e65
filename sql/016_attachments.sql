-- 016_attachments: files customers and agents upload (API.md §10).
--
-- A row is created with the metadata (status pending, uploaded_at NULL);
-- the signed PUT through nginx sets uploaded_at, sha256 and storage_key
-- (the file's name under SUPPORT_ATTACHMENT_DIR) and queues the scan with
-- NOTIFY support_attachment_scan; support-scan sets clean, infected
-- (the file is deleted, the row stays) or failed. Attaching links a clean
-- row to one message (message_id), once.
CREATE TABLE support_attachments (
    id            text PRIMARY KEY,
    owner_sub     text NOT NULL,
    owner_role    text NOT NULL CHECK (owner_role IN ('customer', 'support_agent', 'support_admin')),
    filename      text NOT NULL,
    content_type  text NOT NULL,
    size          bigint NOT NULL CHECK (size BETWEEN 1 AND 26214400),
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'clean', 'infected', 'failed')),
    sha256        text,
    storage_key   text UNIQUE,
    uploaded_at   timestamptz,
    scanned_at    timestamptz,
    scan_attempts integer NOT NULL DEFAULT 0,
    next_scan_at  timestamptz,
    scan_result   text,
    message_id    bigint REFERENCES support_ticket_messages (id) ON DELETE SET NULL,
    attached_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX support_attachments_owner ON support_attachments (owner_sub, id);
CREATE INDEX support_attachments_message ON support_attachments (message_id)
    WHERE message_id IS NOT NULL;
-- The scanner's queue: uploaded, not yet decided.
CREATE INDEX support_attachments_to_scan ON support_attachments (uploaded_at)
    WHERE status = 'pending' AND uploaded_at IS NOT NULL;
-- The cleanup job: never uploaded.
CREATE INDEX support_attachments_unuploaded ON support_attachments (created_at)
    WHERE uploaded_at IS NULL;
