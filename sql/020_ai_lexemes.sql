-- 020_ai_lexemes: how many chunks hold each full-text lexeme, for the AI
-- retrieval's term weights (API.md §9; domain/ai_retrieval.c).
--
-- A question's lexemes are weighted by inverse document frequency
-- (idf = ln(1 + (N - n + 0.5) / (n + 0.5)), N chunks, n holding it), and
-- only its rarer lexemes pick the full-text candidates, so a question
-- full of everyday words ("account", "update") does not rank every chunk
-- of the knowledge base. knowledge-embedding-sync rewrites the table (from
-- ts_stat over the chunks' tsvectors) at the end of a pass that changed
-- chunks; until its first run the table is empty and every lexeme counts
-- as rare (the retrieval of before). The row of lexeme '' (no lexeme is
-- empty) holds N, the number of chunks counted.
CREATE TABLE support_chunk_lexemes (
    lexeme text PRIMARY KEY,
    ndoc   integer NOT NULL CHECK (ndoc >= 0)
);

-- Candidates are scored from their tsvector, which is then read for every
-- candidate, while the 2 KiB vector is read for the best 50 only: keep the
-- tsvector in the row and the vector out of line (a row of ~3 KiB made
-- PostgreSQL move the tsvector to TOAST, ~28 buffer reads a candidate in
-- bench/ai). Rows take the new storage when rewritten:
-- knowledge-embedding-sync --full after upgrading a large knowledge base.
ALTER TABLE support_article_chunks ALTER COLUMN embedding SET STORAGE EXTERNAL,
                                   ALTER COLUMN search SET STORAGE MAIN;
