-- 044_queue_priority_due_and_unanswered: two indexes for reads whose
-- order or population changed.
--
-- The queue's `sort=-priority` breaks ties by the SLA due (the ticket due
-- in 3 minutes before the one due in an hour; no due last), then id,
-- instead of by newest. Its order is the ascending row (-priority_rank,
-- coalesce(sla_due_at, 'infinity'), id), so the keyset cursor is one row
-- comparison the index seeks to (src/domain/queue.c). These replace the
-- (priority_rank, id) indexes of the old order, one over the working
-- states (sql/032) and one over the whole table (closed and resolved
-- tickets, whose sla_due_at is NULL, sort by rank then id).
CREATE INDEX support_tickets_working_priority_due ON support_tickets
    ((-priority_rank), coalesce(sla_due_at, 'infinity'::timestamptz), id)
    WHERE status IN ('open', 'in_progress', 'pending_customer');
DROP INDEX support_tickets_working_priority;
CREATE INDEX support_tickets_priority_due ON support_tickets
    ((-priority_rank), coalesce(sla_due_at, 'infinity'::timestamptz), id);
DROP INDEX support_tickets_priority;

-- The dashboard's within_sla_pct_7d counts the week's tickets whose first
-- response was missed and is still unanswered (src/domain/dashboard.c): a
-- range of created_at over the tickets nobody answered yet. Answering a
-- ticket takes it out of this index.
CREATE INDEX support_tickets_unanswered ON support_tickets (created_at)
    WHERE first_responded_at IS NULL;
