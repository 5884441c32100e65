-- 085_mail_suppression_status: why an address is suppressed (docs/API.md
-- §11 "Bounces"). Staff lifting a suppression could not see why it
-- happened: a mailbox gone (5.1.1) is not a policy block (5.7.1).
--
-- dsn_status: the RFC 3463 status code ("5.1.1") the hard bounce gave
-- for the address, as the DSN's per-recipient Status field has it
-- (core/mail_parse keeps only a well-formed code: no comment, nothing
-- the remote MTA wrote beyond the code, never an address). A later bounce
-- for the address sets its own (as it sets outbox_id and created_at).
-- NULL for rows of before this migration, and for a Status that was not
-- a well-formed code. The table is small (one row per suppressed
-- address); the CHECK is validated at once.
ALTER TABLE support_mail_suppressions ADD COLUMN dsn_status text
    CONSTRAINT support_mail_suppressions_dsn_status
    CHECK (dsn_status ~ '^5\.[0-9]{1,3}\.[0-9]{1,3}$');
