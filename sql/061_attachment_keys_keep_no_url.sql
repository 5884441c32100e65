-- 061_attachment_keys_keep_no_url: the Idempotency-Key of an attachment
-- create keeps its status and Location only, and a replay answers the
-- attachment as it is now with an upload URL signed afresh (docs/API.md
-- §10 "Attachment URLs"). Keys stored before kept the whole first answer,
-- its signed upload URL (a bearer credential) in the clear until the key
-- is purged: the answers are dropped here. Nothing reads them any more
-- (the replay is rebuilt from the Location). Idempotent.
UPDATE support_idempotency_keys
   SET response_body = ''
 WHERE location ~ '^/support/attachments/[^/]+$' AND response_body <> '';
