-- 051_ai_passages_as_shown: the AI's passages are now cut from the text
-- an article's page shows (domain/ai_split.c over core/markdown's blocks),
-- not from its markdown: the old ones could hold what the page leaves out
-- (HTML comments and blocks, link reference definitions) and lost the
-- tags written in code spans. Every stored passage is marked as made from
-- no version of its article, so retrieval stops using it at once (it
-- reads only chunks of the article's current version, docs/API.md §9)
-- and the next knowledge-embedding-sync pass cuts every published
-- article again; a passage whose text did not change keeps its vector
-- (chunks are matched by content hash), so only changed ones are
-- embedded anew.
UPDATE support_article_chunks SET article_version = -1 WHERE article_version <> -1;
NOTIFY support_knowledge_sync;

-- Search reads the same plain text as a reader: PostgreSQL's parser takes
-- "<script>" in it for an HTML tag and indexes no word of it, but the
-- text has no markup (core/markdown renders it; a code span's "<b>" is
-- text the page shows), so `q=script` missed an article that shows
-- `<script>`. support_plain_tsvector reads '<' and '>' as spaces; the
-- articles' and the chunks' tsvectors and the AI question's lexemes
-- (domain/ai_retrieval.c) all use it. PostgreSQL 15 cannot change a
-- generated column in place: the columns and their indexes are rebuilt,
-- as in 011 and 013 (storage as 013 and 020 set it).
CREATE FUNCTION support_plain_tsvector(t text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN to_tsvector('english'::regconfig, translate(t, '<>', '  '));

ALTER TABLE support_knowledge_articles DROP COLUMN search, DROP COLUMN search_head;
ALTER TABLE support_knowledge_articles
    ADD COLUMN search tsvector GENERATED ALWAYS AS
        (setweight(support_plain_tsvector(title), 'A') ||
         setweight(support_plain_tsvector(left(content_text, 100000)), 'B')) STORED,
    ADD COLUMN search_head tsvector GENERATED ALWAYS AS
        (setweight(support_plain_tsvector(title), 'A') ||
         setweight(support_plain_tsvector(left(content_text, 2000)), 'B')) STORED;
ALTER TABLE support_knowledge_articles ALTER COLUMN search_head SET STORAGE MAIN;
CREATE INDEX support_knowledge_articles_search ON support_knowledge_articles USING gin (search);

ALTER TABLE support_article_chunks DROP COLUMN search;
ALTER TABLE support_article_chunks ADD COLUMN search tsvector GENERATED ALWAYS AS
    (setweight(support_plain_tsvector(heading_path), 'A') ||
     setweight(support_plain_tsvector(text), 'B')) STORED;
ALTER TABLE support_article_chunks ALTER COLUMN search SET STORAGE MAIN;
CREATE INDEX support_article_chunks_search ON support_article_chunks USING gin (search);
