-- 046_dashboard_missed_first_response: the dashboard's count of the
-- week's first responses missed and still unanswered (within_sla_pct_7d,
-- src/domain/dashboard.c "missed") without a visit to each ticket's row.
--
-- sql/044's support_tickets_unanswered (created_at) WHERE first_responded_at
-- IS NULL found the week's unanswered tickets, then read every one's heap
-- row for the filter's columns (sla_breached_first_response,
-- first_response_due_at, status): 1,738 buffers for 1,730 rows at a
-- million tickets, the dearest of the dashboard's ticket numbers. With
-- those columns INCLUDEd the count is an index-only scan (the visibility
-- map kept set by sql/035's autovacuum), and the predicate leaves out the
-- tickets the count can never take, unanswered ones that are neither
-- flagged nor working (closed or resolved without a reply, e.g. spam), so
-- they do not pile up in the index over the years. The count's condition
-- (breached, or past due and working) implies this predicate, so the
-- planner proves the index usable (docs/plans/tickets-1m/
-- dashboard_missed_unanswered.txt, docs/performance.md "Indexes").
--
-- The INCLUDEd columns change with columns indexed already (status;
-- a ticket's SLA dates and flags move sla_due_at or sla_breach_check_at
-- in the same update, src/domain/ticket_state.c), so an update that was
-- HOT stays HOT.
CREATE INDEX support_tickets_unanswered_missed ON support_tickets (created_at)
    INCLUDE (sla_breached_first_response, first_response_due_at, status)
    WHERE first_responded_at IS NULL
      AND (sla_breached_first_response
           OR status IN ('open', 'in_progress', 'pending_customer'));
-- It served that count only.
DROP INDEX support_tickets_unanswered;
