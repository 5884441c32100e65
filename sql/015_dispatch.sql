-- 014_dispatch: what support-dispatch needs on the outbox (API.md §11,
-- issue 11; src/domain/dispatch.c holds the statements).
--
-- Claiming is a lease, not a lock held while sending: a dispatcher takes
-- due rows with FOR UPDATE SKIP LOCKED, pushes next_attempt_at to the end
-- of the lease, stamps its claim_token and commits before it sends. The
-- due scan (status pending, next_attempt_at <= now()) therefore skips rows
-- in flight, and a row whose dispatcher died becomes due again when the
-- lease ends (at-least-once). The outcome is written only WHERE
-- claim_token still matches, so a dispatcher that outlived its lease
-- cannot overwrite the row another one has taken since.
--
-- Statuses: pending -> sent | failed (24 h of retries spent) | skipped
-- (nothing to deliver: a customer without a stored contact, no webhook
-- subscription). Existing writers only ever insert 'pending'.
ALTER TABLE support_outbox
    ADD COLUMN claim_token      text,
    ADD COLUMN claimed_until    timestamptz,
    ADD COLUMN last_status_code integer,
    ADD COLUMN last_attempt_at  timestamptz;

ALTER TABLE support_outbox DROP CONSTRAINT support_outbox_status_check;
ALTER TABLE support_outbox ADD CONSTRAINT support_outbox_status_check
    CHECK (status IN ('pending', 'sent', 'failed', 'skipped'));

-- The due scan: oldest due first, id as tie-breaker (keeps the order of
-- one transaction's rows).
DROP INDEX support_outbox_pending;
CREATE INDEX support_outbox_due ON support_outbox (next_attempt_at, id) WHERE status = 'pending';

-- Wakes `support-dispatch --loop` (LISTEN support_outbox) when rows are
-- queued. Once per statement; PostgreSQL folds identical notifications of
-- one transaction into one and delivers it at commit, so a rolled-back
-- change wakes nobody.
CREATE FUNCTION support_outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('support_outbox', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER support_outbox_notify AFTER INSERT ON support_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION support_outbox_notify();
