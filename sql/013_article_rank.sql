-- 013_article_rank: knowledge-base search that stays fast on common words
-- (measured in bench/kb, docs/performance.md).
--
-- Matching uses the full tsvector (search, 011); ranking reads a small one
-- kept in the row: the title (A) and the first 2 000 characters of the
-- text (B), stored inline (STORAGE MAIN) so ranking a candidate never
-- fetches a TOASTed value. Ranking all of a common word's matches on the
-- full vector cost ~87 ms at 10 000 articles; on this one a third of it.
ALTER TABLE support_knowledge_articles ADD COLUMN search_head tsvector GENERATED ALWAYS AS
    (setweight(to_tsvector('english'::regconfig, title), 'A') ||
     setweight(to_tsvector('english'::regconfig, left(content_text, 2000)), 'B')) STORED;
ALTER TABLE support_knowledge_articles ALTER COLUMN search_head SET STORAGE MAIN;

-- One page of published matches of query, by relevance: ids and their
-- rank keys (ts_rank_cd normalized to 0..1, × 10⁹, exact for cursors).
-- A query matching more than 1 000 articles ranks the 1 000 newest of
-- them: a word in every article says little, and ranking is the cost
-- (~9 µs a candidate; 1 000 is ~9 ms of a common word's ~25 ms at 10 000
-- articles, the rest is reading the matches from the index and heap).
-- The candidates come from the GIN index, never from a scan that reads
-- every row's full vector (the plan a custom plan picks for a common
-- word, 130-160 ms): sequential scans are off inside, and the newest-first
-- order is an expression the published index cannot supply; the ranked
-- candidates are joined back by primary key (nested loop), not by hashing
-- the whole table.
CREATE FUNCTION support_article_ranked(query tsquery, tag text, after_key bigint,
                                       after_id bigint, lim integer)
RETURNS TABLE (id bigint, key bigint)
LANGUAGE sql STABLE
ROWS 20  -- a page: the caller joins back by primary key, not by a scan
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
    WITH cand AS MATERIALIZED (
        SELECT a.id FROM support_knowledge_articles a
        WHERE a.is_published AND a.search @@ query
          AND (tag IS NULL OR a.tags @> ARRAY[tag])
        ORDER BY a.published_at + interval '0 s' DESC, a.id DESC
        LIMIT 1000
    ), ranked AS (
        SELECT a.id, (ts_rank_cd(a.search_head, query, 32) * 1000000000)::bigint AS key
        FROM cand JOIN support_knowledge_articles a ON a.id = cand.id
    )
    SELECT r.id, r.key FROM ranked r
    WHERE after_id IS NULL OR (r.key, r.id) < (after_key, after_id)
    ORDER BY r.key DESC, r.id DESC
    LIMIT lim
$$;
