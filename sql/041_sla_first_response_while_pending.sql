-- 041_sla_first_response_while_pending: the first-response clock never
-- pauses (src/domain/sla.h), and "sla_breached is true once a target
-- passed unmet" (API.md §5.2): a ticket set to pending_customer before
-- anyone answered it keeps its first-response due as sla_due_at, and the
-- monitor still judges it (sla_breach_check_at). Until now both were
-- cleared on the pause, so such a ticket showed sla_breached false, sat in
-- the queue's sla=ok and escaped the dashboard and the monitor. Rows
-- paused that way before this migration get what every write now gives.
UPDATE support_tickets
   SET sla_due_at = first_response_due_at,
       sla_breach_check_at = CASE WHEN sla_breached_first_response THEN NULL
                                  ELSE first_response_due_at END
 WHERE status = 'pending_customer' AND first_responded_at IS NULL
   AND first_response_due_at IS NOT NULL AND resolution_due_at IS NOT NULL;

-- A chat's ticket records the chat's first agent reply as its first
-- response (docs/API.md §7), which is before the ticket was created: its
-- first-response time counts as 0 s, never as negative seconds in the
-- dashboard's average (support_fr_bin already reads it as 0). The body
-- stays a SQL-standard one, as sql/024 and sql/036 left it.
CREATE OR REPLACE FUNCTION support_fr_seconds(t support_tickets) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN greatest(extract(epoch FROM t.first_responded_at - t.created_at)::double precision, 0);
