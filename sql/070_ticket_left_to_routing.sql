-- 070_ticket_left_to_routing: a ticket nobody was free for when it was
-- created waits for routing (docs/API.md §5.3–5.4, §6: "its tickets wait
-- unassigned until an agent of that team is active"). Routing ran only
-- at creation, so such a ticket stayed unassigned for ever. The flag says
-- that no person has decided the ticket's assignee yet: true on a ticket
-- created unassigned, or filed into a routed category by a PATCH that
-- found nobody free; false once anyone assigns or unassigns it (an
-- agent's explicit unassign puts it back in the queue for a claim, not
-- into routing's hands) and once it is closed. An agent becoming
-- available and the ticket-sla-monitor's pass route the flagged tickets
-- of categories that route (domain/ticket_route.c).
ALTER TABLE support_tickets ADD COLUMN IF NOT EXISTS left_to_routing boolean NOT NULL
    DEFAULT false;

-- The tickets waiting now: unassigned, not closed, never unassigned by
-- someone. Idempotent.
UPDATE support_tickets t
   SET left_to_routing = true
 WHERE t.assigned_agent_id IS NULL AND t.status <> 'closed' AND NOT t.left_to_routing
   AND NOT EXISTS (SELECT 1 FROM support_ticket_events e
                    WHERE e.ticket_id = t.id AND e.event_type = 'unassigned');

-- The waiting tickets in routing's order (the soonest due first, those
-- without a running target last): only they are in it, so a ticket
-- insert or update that leaves the flag false pays nothing.
CREATE INDEX IF NOT EXISTS support_tickets_left_to_routing
    ON support_tickets ((coalesce(sla_due_at, 'infinity'::timestamptz)), id)
    WHERE left_to_routing;
