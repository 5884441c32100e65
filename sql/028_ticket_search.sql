-- 028_ticket_search: one full-text document per ticket, and only the
-- indexes of support_tickets some query plan uses (issue 15, targets 2
-- and 4; docs/performance.md "Ticket search and writes").
--
-- The queue's `q` searches the subject, the description and every message,
-- internal ones included (API.md §5.5). It used to be an OR of the tickets'
-- GIN and an IN over the messages' GIN: a common word matched hundreds of
-- thousands of messages, and neither scan could be combined with the
-- status filter. Now support_tickets.search is the ticket's whole document:
-- subject and description at create, each message's body appended in the
-- statement that inserts the message. Each text is turned into a tsvector
-- once (the generated columns were recomputed on every UPDATE of the
-- ticket, and the description twice at create: ticket and first message).
-- The messages' own tsvector and GIN index go: nothing else reads them.

-- The ticket's document at create: the same text the generated column
-- indexed (a bounded prefix of the description, sql/010).
CREATE FUNCTION support_ticket_search(subject text, description text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN to_tsvector('english'::regconfig, subject || ' ' || left(description, 100000));

-- Two documents joined, as the ticket's grows by a message. A tsvector
-- holds at most 1 MB; a document that would pass it keeps what it has, and
-- the message is stored and shown but not searchable (as the part of a
-- long text past its prefix, sql/010). A real ticket gets there only with
-- some 100,000 distinct words.
CREATE FUNCTION support_ticket_search_cat(doc tsvector, v tsvector) RETURNS tsvector
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF doc IS NULL THEN
        RETURN v;
    END IF;
    -- pg_column_size is the stored size and may be compressed: a cheap
    -- test for the usual case, the limit itself caught for the rest.
    IF pg_column_size(doc) + pg_column_size(v) < 262144 THEN
        RETURN doc || v;
    END IF;
    BEGIN
        RETURN doc || v;
    EXCEPTION WHEN program_limit_exceeded THEN
        RETURN doc;
    END;
END $$;

CREATE AGGREGATE support_ticket_search_agg(tsvector) (
    SFUNC = support_ticket_search_cat, STYPE = tsvector
);

-- A message appended to the ticket's document: its first 100,000
-- characters, as for any text (sql/010).
CREATE FUNCTION support_ticket_search_add(doc tsvector, body text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN support_ticket_search_cat(doc, to_tsvector('english'::regconfig, left(body, 100000)));

-- The generated column becomes a plain one (its values, subject and
-- description, stay); the backfill appends the later messages. The
-- counters' triggers (sql/024) fire on status and the like, not on search.
DROP INDEX support_tickets_search;
ALTER TABLE support_tickets ALTER COLUMN search DROP EXPRESSION;
ALTER TABLE support_tickets ALTER COLUMN search SET DEFAULT ''::tsvector;

-- The tickets' documents from their rows (the migration's backfill, and
-- bench/gen-tickets, which writes messages directly). The description is
-- the first message: it is not appended twice.
CREATE FUNCTION support_ticket_search_rebuild(first_id bigint, last_id bigint) RETURNS bigint
    LANGUAGE sql AS $$
    WITH u AS (
        UPDATE support_tickets t
           SET search = (SELECT support_ticket_search_agg(d.v ORDER BY d.ord)
                           FROM (SELECT 0::bigint AS ord,
                                        support_ticket_search(t.subject, t.description) AS v
                                 UNION ALL
                                 SELECT m.id, to_tsvector('english'::regconfig, left(m.body, 100000))
                                   FROM support_ticket_messages m
                                  WHERE m.ticket_id = t.id
                                    AND m.id > (SELECT min(f.id) FROM support_ticket_messages f
                                                 WHERE f.ticket_id = t.id)) d)
         WHERE t.id BETWEEN first_id AND last_id
        RETURNING 1
    )
    SELECT count(*) FROM u
$$;

SELECT support_ticket_search_rebuild(0, (SELECT coalesce(max(id), 0) FROM support_tickets));
ALTER TABLE support_ticket_messages DROP COLUMN search;  -- and its GIN index

-- Every ticket: `q` with any status filter.
CREATE INDEX support_tickets_search ON support_tickets USING gin (search);
-- The working states, the queue's default: a common word matches a few
-- hundred of the ~1 % live tickets instead of a tenth of the table, so the
-- default view's `q` is one small GIN scan and a sort (any subset of the
-- three states implies the predicate).
CREATE INDEX support_tickets_search_working ON support_tickets USING gin (search)
    WHERE status IN ('open', 'in_progress', 'pending_customer');
