-- 032_working_sort_indexes: the work queue's other sort orders over the
-- working states (issue 15, target 1; docs/performance.md "The queue's
-- other sort orders").
--
-- The queue's default statuses (open, in_progress, pending_customer) are
-- a sliver of the table (~7,000 of 1,000,000 tickets in the bench data)
-- and not spread evenly along created_at, updated_at or priority_rank:
-- working tickets are recent and mostly of normal priority. The planner
-- assumes they are, so for `sort=created_at`, `sort=updated_at` and
-- `sort=-priority` it walked the full (created_at, id), (updated_at, id)
-- and (priority_rank, id) indexes expecting 26 matches early, and read
-- most of the table instead: 0.8 s, 14 s and 9 s per page at a million
-- tickets. These partial indexes hold the working tickets only, in each
-- order, so every sort of the default view reads its page directly
-- (0.1-0.3 ms). The full indexes stay for the same sorts over closed and
-- resolved tickets.
--
-- Cost: a working ticket's create and each of its non-HOT updates (a
-- reply changes updated_at) add an entry to each of these small indexes;
-- closed tickets add none.
CREATE INDEX support_tickets_working_created ON support_tickets (created_at, id)
    WHERE status IN ('open', 'in_progress', 'pending_customer');
CREATE INDEX support_tickets_working_updated ON support_tickets (updated_at, id)
    WHERE status IN ('open', 'in_progress', 'pending_customer');
CREATE INDEX support_tickets_working_priority ON support_tickets (priority_rank, id)
    WHERE status IN ('open', 'in_progress', 'pending_customer');
