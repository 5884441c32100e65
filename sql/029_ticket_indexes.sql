-- 029_ticket_indexes: indexes of support_tickets no query plan uses (issue
-- 15, target 4). Every index costs each create and each non-HOT update
-- (a reply changes updated_at and the search document, so every index
-- gets an entry). bench/ticket-indexes EXPLAINs every statement the code
-- runs against the table and lists the indexes each plan uses; these two
-- were used by none once the queue's `q` had its own index on the working
-- states (sql/028). Plans and figures: docs/performance.md "Ticket search
-- and writes".
--
-- (status, priority): the queue's filters on status and priority are
-- answered by the partial support_tickets_queue_sla over the working
-- states; it only ever served as the status half of a BitmapAnd with the
-- old full-text index.
DROP INDEX support_tickets_status_priority;
-- (category_id, status): the queue's category filter over the working
-- states reads support_tickets_queue_sla; over closed tickets the planner
-- preferred a sequential scan even with it. The foreign key's ON DELETE
-- check is all that could use it, and categories are never deleted (they
-- are deactivated: the admin API has no DELETE for them, API.md §6).
DROP INDEX support_tickets_category;
