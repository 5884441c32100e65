-- 082_mail_suppression_ids: admins see and lift suppressed addresses
-- (QA: a customer who only uses the web portal was never mailed again
-- after one hard bounce, and nobody could see or lift it; docs/API.md
-- §11 "Bounces"). The row is keyed by a blind index, which is no name to
-- show or to page by: an id names it in GET and DELETE
-- /support/admin/mail-suppressions and is the list's keyset (newest
-- first). A repeat bounce updates the row and keeps its id.
ALTER TABLE support_mail_suppressions
    ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY UNIQUE;
