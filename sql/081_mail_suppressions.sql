-- 081_mail_suppressions: addresses not mailed after a hard bounce (QA: a
-- DSN marked row 51 bounced, and support-dispatch kept mailing the same
-- address). A delivery status report whose failed recipient has a
-- permanent status (5.x.x) adds the address; support-dispatch fails a
-- mail to it ("suppressed") instead of sending it; a mail from the
-- address that support-mail-in takes (it arrived: the address works)
-- removes it (docs/API.md §11 "Bounces").
--
-- Keyed by the address's email blind index as support_contacts stores it
-- (never the address itself: contacts hold it encrypted). It is the
-- address that is suppressed, not the customer: a customer whose address
-- changes has a new index, which is mailed at once. The primary key is the
-- index the claim's lookup uses. outbox_id: the row whose bounce added it
-- (no foreign key: housekeeping may delete the row, the address stays).
CREATE TABLE support_mail_suppressions (
    email_index   text PRIMARY KEY,
    outbox_id     bigint NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
