-- A reply's message and ticket update (sql/028 schema), for pgbench on a
-- database with tickets 10..50000 (run create-statement.sql first);
-- docs/performance.md "Ticket search and writes". The "before" variant
-- omits the search assignment.
\set id random(10, 50000)
WITH m AS (INSERT INTO support_ticket_messages (ticket_id, sender_type, sender_id, body, is_internal) VALUES (:id, 'agent', '2001', 'We refunded the second charge to your card; a voucher for your next stay is attached.', false) RETURNING id), u AS (UPDATE support_tickets SET updated_at = now(), version = version + 1, message_count = message_count + (SELECT count(*) FROM m), search = support_ticket_search_add(search, 'We refunded the second charge to your card; a voucher for your next stay is attached.') WHERE id = :id RETURNING id) SELECT count(*) FROM u;
