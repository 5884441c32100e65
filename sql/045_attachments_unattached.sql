-- 045_attachments_unattached: attachment-cleanup deletes uploads attached
-- to nothing after SUPPORT_ATTACHMENT_UNATTACHED_HOURS (API.md §10,
-- src/domain/attachment_scan.c), with their files. Its hourly look is a
-- range of uploaded_at over the uploads no message took: attaching takes
-- a row out of this index, so it stays the size of what is waiting.
CREATE INDEX support_attachments_unattached ON support_attachments (uploaded_at)
    WHERE uploaded_at IS NOT NULL AND attached_at IS NULL;
