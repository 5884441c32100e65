-- 011_articles: what the knowledge base (API.md §8) needs beyond the
-- seed's support_knowledge_articles.
--
-- content_text is the article as plain text (rendered from the markdown at
-- save time, like content_html and summary): search indexes it rather than
-- the markdown, so link targets and markup are not words, and snippets are
-- cut from it. As in 010, the first 100 000 characters are indexed; the
-- title weighs above the body. PostgreSQL 15 cannot change a generated
-- column in place: the column and its GIN index are rebuilt.
ALTER TABLE support_knowledge_articles
    ADD COLUMN content_text text NOT NULL DEFAULT '',
    ADD COLUMN created_by text,
    ADD COLUMN updated_by text;

ALTER TABLE support_knowledge_articles DROP COLUMN search;
ALTER TABLE support_knowledge_articles ADD COLUMN search tsvector GENERATED ALWAYS AS
    (setweight(to_tsvector('english'::regconfig, title), 'A') ||
     setweight(to_tsvector('english'::regconfig, left(content_text, 100000)), 'B')) STORED;
CREATE INDEX support_knowledge_articles_search ON support_knowledge_articles USING gin (search);

-- Published lists page by (published_at, id): a published article always
-- has its date. Tags are a short list of short words.
UPDATE support_knowledge_articles SET published_at = coalesce(published_at, updated_at)
    WHERE is_published;
ALTER TABLE support_knowledge_articles
    ADD CONSTRAINT support_knowledge_articles_published_at
        CHECK (NOT is_published OR published_at IS NOT NULL),
    ADD CONSTRAINT support_knowledge_articles_tags
        CHECK (cardinality(tags) <= 20),
    ADD CONSTRAINT support_knowledge_articles_title
        CHECK (char_length(title) BETWEEN 1 AND 200);
