-- A reply to a random working ticket (message + ticket update, as the API
-- writes it), committed; bench_work_ids is made by bench/search-churn.
\set n random(1, 6914)
WITH m AS (INSERT INTO support_ticket_messages (ticket_id, sender_type, sender_id, body, is_internal) SELECT id, 'agent', '2001', 'We refunded the second charge to your card; a voucher for your next stay is attached.', false FROM bench_work_ids WHERE n = :n RETURNING ticket_id), u AS (UPDATE support_tickets SET updated_at = now(), version = version + 1, message_count = message_count + 1, search = support_ticket_search_add(search, 'We refunded the second charge to your card; a voucher for your next stay is attached.') WHERE id = (SELECT ticket_id FROM m) RETURNING id) SELECT count(*) FROM u;
