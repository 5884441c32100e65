-- 036_sla_breach_targets: SLA breaches judged per target, as warnings
-- already are (sla_warned_*, sql/002). With one sla_breached flag the
-- monitor reported only the first missed target: after a late first
-- response (flagged by the reply or by the monitor) a missed resolution
-- target was never announced, escalated or sent as ticket.sla_breached,
-- not even the shorter one the first escalation retargeted to.
--
-- sla_breached keeps its meaning (any target missed: the dashboard's
-- "flagged", the API's `sla_breached`). The per-target flags say which
-- targets were judged; sla_breach_check_at is when the monitor must look
-- next: the earliest due of the targets still running (open,
-- in_progress), unmet and not yet flagged, NULL when there is none
-- (src/domain/sla.h, breach_check_at; written by every ticket change).
--
-- PostgreSQL refuses to add a column with a default to a table whose row
-- type a SQL-standard function body uses ("cannot alter table ... because
-- function support_fr_seconds(support_tickets) uses its row type"): the
-- two of sql/024 are given the same bodies as strings for the ALTER, then
-- their own back. Both stay in this transaction: no writer ever sees them
-- changed, and the defaults keep the ALTER free of a table rewrite.
CREATE OR REPLACE FUNCTION support_fr_seconds(t support_tickets) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT extract(epoch FROM t.first_responded_at - t.created_at)::double precision $$;
CREATE OR REPLACE FUNCTION support_ticket_count_keys(t support_tickets, sign integer)
    RETURNS TABLE (key text, delta integer)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT k, sign FROM (VALUES ('status:' || t.status), ('priority:' || t.priority),
                                (CASE WHEN t.assigned_agent_id IS NULL THEN 'unassigned' END),
                                (CASE WHEN t.sla_breached THEN 'flagged' END)) AS v (k)
     WHERE k IS NOT NULL AND t.status <> 'closed' $$;

ALTER TABLE support_tickets
    ADD COLUMN sla_breached_first_response boolean NOT NULL DEFAULT false,
    ADD COLUMN sla_breached_resolution boolean NOT NULL DEFAULT false,
    ADD COLUMN sla_breach_check_at timestamptz;

-- sql/024's definitions, unchanged.
CREATE OR REPLACE FUNCTION support_fr_seconds(t support_tickets) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN extract(epoch FROM t.first_responded_at - t.created_at)::double precision;
CREATE OR REPLACE FUNCTION support_ticket_count_keys(t support_tickets, sign integer)
    RETURNS TABLE (key text, delta integer)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT k, sign FROM (VALUES ('status:' || t.status), ('priority:' || t.priority),
                                (CASE WHEN t.assigned_agent_id IS NULL THEN 'unassigned' END),
                                (CASE WHEN t.sla_breached THEN 'flagged' END)) AS v (k)
     WHERE k IS NOT NULL AND t.status <> 'closed';
END;

-- Existing rows, by the rules of src/domain/sla.c. A breached ticket's
-- first response is flagged when it was answered late or is unanswered
-- past its due (that clock never pauses); its resolution when the due has
-- passed, counting a pause in progress as stopped time. A breached ticket
-- whose resolution is still ahead is judged again when it passes — the
-- report the single flag used to swallow. Unbreached tickets get no flag:
-- the monitor judges them as before. One pass over the table; only rows
-- that end up with a flag or a check time are written (breached or
-- running tickets, a small share of a desk's history), and these columns
-- are not among those that fire the dashboard counters' trigger (sql/024).
WITH b AS (
    SELECT id, first_response_due_at, resolution_due_at,
           status IN ('open', 'in_progress') AND resolution_due_at IS NOT NULL AS running,
           first_responded_at IS NULL AS unanswered,
           sla_breached AND coalesce(first_responded_at > first_response_due_at
                                     OR (first_responded_at IS NULL
                                         AND first_response_due_at < now()), false)
               AS first_response,
           sla_breached AND coalesce(resolution_due_at < coalesce(sla_paused_at, now()), false)
               AS resolution
      FROM support_tickets
     WHERE sla_breached OR (status IN ('open', 'in_progress') AND resolution_due_at IS NOT NULL)
), n AS (
    SELECT id, first_response, resolution,
           CASE WHEN running
                THEN least(CASE WHEN unanswered AND NOT first_response
                                THEN first_response_due_at END,
                           CASE WHEN NOT resolution THEN resolution_due_at END)
           END AS check_at
      FROM b
)
UPDATE support_tickets t
   SET sla_breached_first_response = n.first_response,
       sla_breached_resolution = n.resolution,
       sla_breach_check_at = n.check_at
  FROM n
 WHERE t.id = n.id AND (n.first_response OR n.resolution OR n.check_at IS NOT NULL);

-- The monitor's breach scan (src/domain/sla_monitor.c): a keyset range
-- over the targets still to judge, index-only however many breached
-- tickets stay open.
CREATE INDEX support_tickets_sla_breach_check ON support_tickets (sla_breach_check_at, id)
    WHERE sla_breach_check_at IS NOT NULL;

-- Its predecessor (sql/003) was there for that scan alone
-- (bench/ticket-indexes, docs/performance.md). Of the other statements
-- over sla_due_at and NOT sla_breached, the dashboard's due counts read
-- support_tickets_sla_unflagged_live (sql/024, it also covers status);
-- the queue's `status=closed&sla=due_soon` was the one plan left on it
-- and takes support_tickets_sla_running without it (0.2 ms either way at
-- a million tickets: no closed ticket has a due).
DROP INDEX support_tickets_sla_unbreached;
