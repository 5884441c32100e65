-- 073_attachments_detached: attachment-cleanup deletes uploads whose
-- message was deleted (src/domain/attachment_scan.c, docs/operations.md
-- "Archiving"): an operator's retention deleting a ticket or a chat takes
-- its messages with it (ON DELETE CASCADE), and the uploads they carried
-- lose their links (ON DELETE SET NULL) but keep attached_at, so the
-- unattached rule (sql/045) never took them and their rows and files
-- stayed for good. Attaching sets attached_at and a link in one write, so
-- only such a delete leaves a row here: the index stays the size of what
-- waits for the next pass.
CREATE INDEX support_attachments_detached ON support_attachments (id)
    WHERE attached_at IS NOT NULL AND message_id IS NULL AND chat_message_id IS NULL;
