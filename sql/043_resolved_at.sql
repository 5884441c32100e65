-- 043_resolved_at: the auto-close clock counts from when the ticket became
-- resolved (shared API.md §5.1: "7 days after being resolved"). The
-- ticket-sla-monitor job used to select resolved tickets by updated_at,
-- which every later write moves (an internal note, a scan verdict, an SLA
-- flag), so each of those restarted the 7 days. resolved_at is set by
-- sp_ticket_apply() on the move to resolved and cleared on any move out
-- of it (a reopen, the close); a ticket resolved again starts afresh.
ALTER TABLE support_tickets ADD COLUMN resolved_at timestamptz;

-- Tickets resolved now: their last move to resolved (the 'resolved'
-- event); updated_at, the old clock, for one without such an event.
UPDATE support_tickets t
   SET resolved_at = coalesce((SELECT max(e.created_at) FROM support_ticket_events e
                                WHERE e.ticket_id = t.id AND e.event_type = 'resolved'),
                              t.updated_at)
 WHERE t.status = 'resolved';

-- The job's candidates, in its keyset order; the updated_at index it
-- walked before serves nothing else (docs/performance.md, "Indexes").
CREATE INDEX support_tickets_resolved_at ON support_tickets (resolved_at, id)
    WHERE status = 'resolved';
DROP INDEX support_tickets_resolved;
