-- 057_ticket_search_folding: the agents' ticket search (the queue's `q`)
-- reads text as knowledge-base search does since 055: accents folded,
-- Han, kana and Hangul runs as character pairs, '<' and '>' as spaces
-- (support_plain_tsvector). A ticket's document is written once per
-- text (sql/028), so the functions that write it change and documents
-- already stored stay as they were: rebuilding a million tickets'
-- documents in a migration would hold the table for minutes. The query
-- (support_ticket_query) asks both ways instead — words as written
-- ('english', what the old documents hold) or folded and paired (what
-- new ones hold) — one tsquery, one GIN scan, so every ticket is found
-- by the words it was found by before, and new ones by folded and CJK
-- words too. support_ticket_search_rebuild(first_id, last_id) rewrites
-- a range of old documents in the new form, for an operator who wants
-- accent-less and CJK search over old tickets (docs/operations.md).
CREATE OR REPLACE FUNCTION support_ticket_search(subject text, description text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN support_plain_tsvector(subject || ' ' || left(description, 100000));

CREATE OR REPLACE FUNCTION support_ticket_search_add(doc tsvector, body text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN support_ticket_search_cat(doc, support_plain_tsvector(left(body, 100000)));

CREATE OR REPLACE FUNCTION support_ticket_search_rebuild(first_id bigint, last_id bigint)
    RETURNS bigint
    LANGUAGE sql AS $$
    WITH u AS (
        UPDATE support_tickets t
           SET search = (SELECT support_ticket_search_agg(d.v ORDER BY d.ord)
                           FROM (SELECT 0::bigint AS ord,
                                        support_ticket_search(t.subject, t.description) AS v
                                 UNION ALL
                                 SELECT m.id, support_plain_tsvector(left(m.body, 100000))
                                   FROM support_ticket_messages m
                                  WHERE m.ticket_id = t.id
                                    AND m.id > (SELECT min(f.id) FROM support_ticket_messages f
                                                 WHERE f.ticket_id = t.id)) d)
         WHERE t.id BETWEEN first_id AND last_id
        RETURNING 1
    )
    SELECT count(*) FROM u
$$;

CREATE FUNCTION support_ticket_query(q text) RETURNS tsquery
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN websearch_to_tsquery('english'::regconfig, q) || support_search_query(q);
