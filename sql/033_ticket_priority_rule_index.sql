-- 033_ticket_priority_rule_index: deleting a priority rule (DELETE
-- /support/admin/priority-rules/:id, API.md §6) sets priority_rule_id to
-- NULL on the tickets it prioritized (the foreign key's ON DELETE SET
-- NULL). Without an index PostgreSQL finds them by reading the whole
-- table: 0.6-2.3 s per delete at a million tickets, holding the rule's
-- row lock meanwhile (bench/ticket-indexes, fk_priority_rule_delete;
-- docs/performance.md "Indexes of support_tickets"). Partial: only the
-- tickets a rule prioritized have an entry, so a create that no rule
-- matched pays nothing.
CREATE INDEX support_tickets_priority_rule ON support_tickets (priority_rule_id)
    WHERE priority_rule_id IS NOT NULL;
