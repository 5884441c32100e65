-- 087_sla_warned_due: one SLA warning per deadline, remembered by its
-- value (docs/API.md §12). The sla_warned_* flags said only "warned", so
-- 9b552c6c cleared one whenever a write moved its due later — and a
-- priority lowered then raised back (urgent → low → urgent) brought the
-- due back to the deadline already warned with the flag gone: QA saw
-- three sla_warning events for one due_at on one ticket.
--
-- sla_warned_<target>_due_at is the latest due the monitor warned of
-- for that target (it only ever warns of a due later than this one, so
-- it only grows). The monitor warns when the target's due is inside the
-- window and later than it (or it is NULL), and writes the due it warned
-- of. A due moved later than every warned one is a new deadline, warned
-- once; back to a warned due, or earlier: nothing more.
--
-- The boolean flags stay, derived: true when the current due is at or
-- before the warned one (sp_ticket_apply and the monitor keep them so),
-- which is what a release before this one reads — it keeps working on
-- this schema while the upgrade runs, and after a rollback.
--
-- Nullable columns without a default: no table rewrite. The backfill
-- writes only the warned tickets (warned: the current due, as the flag
-- meant); idempotent.
ALTER TABLE support_tickets
    ADD COLUMN IF NOT EXISTS sla_warned_first_response_due_at timestamptz,
    ADD COLUMN IF NOT EXISTS sla_warned_resolution_due_at timestamptz;

UPDATE support_tickets
   SET sla_warned_first_response_due_at = CASE WHEN sla_warned_first_response
                                               THEN first_response_due_at
                                               ELSE sla_warned_first_response_due_at END,
       sla_warned_resolution_due_at = CASE WHEN sla_warned_resolution
                                           THEN resolution_due_at
                                           ELSE sla_warned_resolution_due_at END
 WHERE (sla_warned_first_response AND sla_warned_first_response_due_at IS NULL
        AND first_response_due_at IS NOT NULL)
    OR (sla_warned_resolution AND sla_warned_resolution_due_at IS NULL
        AND resolution_due_at IS NOT NULL);
