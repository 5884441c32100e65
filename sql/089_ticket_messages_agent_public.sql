-- 089_ticket_messages_agent_public: the customer's ticket list shows when
-- an agent last answered each ticket publicly (last_agent_reply_at,
-- docs/API.md §4 "New replies"), read in the list's own statement: one
-- backward probe per listed ticket of this partial index, so a ticket no
-- agent has answered reads none of its messages (the index of all of a
-- ticket's messages, support_ticket_messages_ticket, would step through
-- every customer message and internal note to find that out). Computed
-- at read time, not stored: nothing to backfill, nothing for a release
-- before this one to leave stale while an upgrade runs. Only public agent
-- messages are in it: a small part of the table.
CREATE INDEX IF NOT EXISTS support_ticket_messages_agent_public
    ON support_ticket_messages (ticket_id, id)
    WHERE sender_type = 'agent' AND NOT is_internal;
