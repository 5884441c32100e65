-- 003_dashboard: what GET /support/agent/dashboard reads at a million
-- tickets — a covering index over the live (non-closed) tickets, so the
-- counts are index-only scans, and closed_at for "closed in the last 7 days".
CREATE INDEX support_tickets_live ON support_tickets (status)
    INCLUDE (priority, assigned_agent_id, sla_breached, sla_due_at)
    WHERE status <> 'closed';
CREATE INDEX support_tickets_closed_at ON support_tickets (closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX support_tickets_first_response ON support_tickets (created_at)
    INCLUDE (first_responded_at, first_response_due_at)
    WHERE first_responded_at IS NOT NULL;
-- The SLA monitor's breach scan: running targets not yet breached (an
-- index-only range scan however many breached tickets stay open).
CREATE INDEX support_tickets_sla_unbreached ON support_tickets (sla_due_at, id)
    WHERE sla_due_at IS NOT NULL AND NOT sla_breached;
