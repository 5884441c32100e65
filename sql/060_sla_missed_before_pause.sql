-- 060_sla_missed_before_pause: a pause stops the resolution clock of a
-- target still to be met, not of one already missed (src/domain/sla.h,
-- API.md §5 "SLA breaches"): a ticket moved to pending_customer after its
-- resolution due passed keeps that due outstanding (sla_due_at, in the
-- past: the views say sla_breached) and, until the monitor has reported
-- it, as the monitor's next check (sla_breach_check_at). Until now the
-- pause hid it: the views said false, the queue's sla=breached and the
-- dashboard left it out, and the monitor did not look until the customer
-- came back. Rows paused that way before this migration get what the
-- pause now gives; least() skips the NULL of a due not outstanding.
-- Idempotent.
UPDATE support_tickets
   SET sla_due_at = least(sla_due_at, resolution_due_at),
       sla_breach_check_at = CASE WHEN sla_breached_resolution THEN sla_breach_check_at
                                  ELSE least(sla_breach_check_at, resolution_due_at) END
 WHERE status = 'pending_customer' AND resolution_due_at < sla_paused_at
   AND first_response_due_at IS NOT NULL;
