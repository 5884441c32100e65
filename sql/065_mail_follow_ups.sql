-- 065_mail_follow_ups: the follow-up a mail to a closed ticket opened
-- (docs/API.md §11 "Mail in"), so the later mails of that thread join it
-- while it is not closed instead of each opening one more. Written only
-- by support-mail-in: metadata.follow_up_of, which the API shows, is
-- also the client's to write on a create, so it cannot be what a mail
-- joins. At most one follow-up of a ticket is not closed at a time (the
-- take locks the closed ticket first; the index is the backstop), and
-- closed is final, so no status change can break that.
ALTER TABLE support_tickets ADD COLUMN IF NOT EXISTS follow_up_of bigint
    REFERENCES support_tickets (id) ON DELETE SET NULL;

-- The follow-ups mailed before: each one whose metadata names an earlier
-- ticket of its own customer, all closed ones and the newest other one
-- of each ticket (a ticket may have several from before). Idempotent.
UPDATE support_tickets f
   SET follow_up_of = t.id
  FROM support_tickets t
 WHERE f.follow_up_of IS NULL
   AND f.metadata ? 'follow_up_of'
   AND t.public_id = f.metadata->>'follow_up_of'
   AND t.customer_id = f.customer_id
   AND t.id < f.id
   AND (f.status = 'closed'
        OR f.id = (SELECT max(o.id) FROM support_tickets o
                    WHERE o.metadata->>'follow_up_of' = t.public_id
                      AND o.customer_id = t.customer_id AND o.status <> 'closed'))
   AND NOT EXISTS (SELECT 1 FROM support_tickets x
                    WHERE x.follow_up_of = t.id AND x.status <> 'closed' AND f.status <> 'closed');

-- A ticket's newest follow-up (the thread goes on there), and the
-- delete's SET NULL.
CREATE INDEX IF NOT EXISTS support_tickets_follow_up_of
    ON support_tickets (follow_up_of, id) WHERE follow_up_of IS NOT NULL;
-- Only follow-ups are in it: without "follow_up_of IS NOT NULL" every
-- open ticket would be (its NULL key), and every ticket insert and status
-- change would pay for one more index entry.
CREATE UNIQUE INDEX IF NOT EXISTS support_tickets_open_follow_up
    ON support_tickets (follow_up_of) WHERE follow_up_of IS NOT NULL AND status <> 'closed';
