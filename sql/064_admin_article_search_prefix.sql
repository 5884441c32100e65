-- 064_admin_article_search_prefix: the admin article list (the page's
-- search box, GET /support/admin/articles?q=) finds an article by its
-- slug and by the start of a word. An admin looks an article up by the
-- slug they see in its URL ("refund-policy", or "refund-po" half typed)
-- and types the start of a word ("refu"); the full-text search alone
-- found neither (QA).
--
-- support_search_prefix_query(q) is support_search_query(q) with its last
-- term a prefix ('refund' & 'pol':*), unless it is negated ("-draft"
-- excludes the word, not every word it begins) or already one (a lone
-- CJK character, 059); served by the articles' GIN index on search.
CREATE OR REPLACE FUNCTION support_search_prefix_query(q text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (SELECT CASE WHEN s.w::text ~ '''$' AND s.w::text !~ '!''([^'']|'''')*''$'
                    THEN (s.w::text || ':*')::tsquery
                    ELSE s.w END
        FROM (SELECT support_search_query(q) AS w) s);

-- The slug's start, asked as a range in byte order (slug >= q AND slug <
-- q || '~': every slug character, [a-z0-9-], sorts before '~'), which a
-- btree over the C collation serves with a parameter as well as with a
-- constant; the UNIQUE index on slug has the database's collation, whose
-- order may skip the '-'.
CREATE INDEX IF NOT EXISTS support_knowledge_articles_slug_prefix
    ON support_knowledge_articles ((slug COLLATE "C"));
