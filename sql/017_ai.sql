-- 017_ai: what the AI proxy (API.md §9) needs: the knowledge base cut
-- into passages for retrieval, and the query log's extra columns.
--
-- support_article_chunks is kept by knowledge-embedding-sync (API.md §12)
-- from the published articles only: a chunk is a passage of ~800
-- characters cut along headings and paragraphs (domain/ai_chunks.c).
-- content_hash (SHA-256 of the embedded text: heading path + text) lets
-- the job re-embed only the passages that changed; article_version is the
-- article's version the row was last checked against, so a pass reads
-- only the articles that changed since.
--
-- The embedding is float32 little-endian, packed in a bytea (512
-- dimensions = 2 KiB, stored inline): Debian 12 ships no pgvector, so
-- cosine similarity is computed in C over the full-text candidates
-- (domain/ai_retrieval.c). Where pgvector exists the column converts in
-- place (docs/API.md §9 "choices"): ADD COLUMN vec vector(512), filled
-- from the bytea, with an HNSW index; candidates then come from
-- `ORDER BY vec <=> :q` as well as from the tsvector.
CREATE TABLE support_article_chunks (
    id               bigserial PRIMARY KEY,
    article_id       bigint NOT NULL REFERENCES support_knowledge_articles (id) ON DELETE CASCADE,
    position         integer NOT NULL CHECK (position >= 0),
    heading_path     text NOT NULL DEFAULT '',
    text             text NOT NULL,
    content_hash     bytea NOT NULL,
    embedding        bytea NOT NULL,
    embedding_model  text NOT NULL,
    article_version  integer NOT NULL,
    search           tsvector GENERATED ALWAYS AS
                     (setweight(to_tsvector('english'::regconfig, heading_path), 'A') ||
                      setweight(to_tsvector('english'::regconfig, text), 'B')) STORED,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (article_id, position)
);
ALTER TABLE support_article_chunks ALTER COLUMN embedding SET STORAGE MAIN;
CREATE INDEX support_article_chunks_search ON support_article_chunks USING gin (search);

-- The query log: which articles answered (their slugs and scores, JSON),
-- and per-user reads (the usage monitor, abuse review).
ALTER TABLE support_ai_interactions ADD COLUMN sources jsonb;
CREATE INDEX support_ai_interactions_user ON support_ai_interactions (user_id, created_at);
