-- 055_search_folding: knowledge-base search and AI retrieval find words
-- across accents and in Chinese, Japanese and Korean text.
--
-- Accents: a reader types "creme brulee" for an article that says
-- "Crème brûlée". support_text is the 'english' configuration with the
-- unaccent dictionary (contrib, a trusted extension: the database's owner
-- may create it) filtering every word before the English stemmer, so a
-- word and its accent-less spelling make the same lexeme — in the stored
-- tsvectors, in queries and in ts_headline, which marks "Crème" for
-- "creme". ASCII words (asciiword) have no accents to fold.
--
-- CJK: PostgreSQL's parser takes a run of Han, kana or Hangul for one
-- word, so "退款" did not find "退款需要五天". support_cjk_bigrams rewrites
-- every such run of two or more characters as its overlapping pairs
-- ("退款 款需 需要 要五 五天"), the usual indexing of CJK text without a
-- dictionary (Lucene's CJKAnalyzer): a query of two or more characters is
-- rewritten the same way and matches where its pairs stand, in order for
-- a quoted phrase. A lone character stays as it is (it matches a lone
-- character only). Text without such characters is returned unchanged
-- after one regular-expression test. The rewrite is for matching: a
-- snippet is cut from the text as written, so a CJK match is found but
-- not marked in it.
--
-- support_plain_tsvector (051: the articles' and chunks' tsvectors and the
-- AI question's lexemes) and support_search_query (the search box, both
-- article lists) use both. As in 051, the generated columns are rebuilt.
CREATE EXTENSION IF NOT EXISTS unaccent;

CREATE TEXT SEARCH CONFIGURATION support_text (COPY = english);
ALTER TEXT SEARCH CONFIGURATION support_text
    ALTER MAPPING FOR word, hword, hword_part WITH unaccent, english_stem;

-- The pairs of a run are built in one pass (its characters in order and
-- each one's next, by lead()): substr(run, i, 2) walks a multibyte run
-- from its start each time, and 20,000 unbroken Han characters (a
-- description's limit) took 1.7 s to write (QA) — now ~30 ms.
-- The characters (also in support_plain_tsvector and core/embed.c's
-- is_cjk): Hangul Jamo, kana, Hangul compatibility jamo, CJK Extension
-- A, CJK Unified Ideographs, Hangul syllables, compatibility ideographs,
-- halfwidth katakana, and the supplementary ideographic planes
-- (Extension B and later).
CREATE FUNCTION support_cjk_bigrams(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN CASE
    WHEN t !~ '[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff'
                '\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0002fa1f]' THEN t
    ELSE (SELECT string_agg(CASE WHEN length(m[2]) < 2 THEN m[1] || m[2]
                                 ELSE m[1] || ' ' ||
                                      (SELECT string_agg(c || nx, ' ' ORDER BY i)
                                       FROM (SELECT c, i, lead(c) OVER (ORDER BY i) AS nx
                                             FROM regexp_split_to_table(m[2], '')
                                                  WITH ORDINALITY AS s(c, i)) p
                                       WHERE nx IS NOT NULL) || ' '
                            END, '' ORDER BY n)
          FROM regexp_matches(t,
                 '([^\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff'
                 '\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0002fa1f]*)'
                 '([\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff'
                 '\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0002fa1f]*)', 'g')
               WITH ORDINALITY AS x(m, n))
END;

-- The query reads '<' and '>' as spaces, as support_plain_tsvector reads
-- the text: q=<script> finds the article that shows `<script>` (the parser
-- took the query for a tag and asked for nothing).
CREATE FUNCTION support_search_query(q text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN websearch_to_tsquery('support_text'::regconfig,
                            support_cjk_bigrams(translate(q, '<>', '  ')));

ALTER TABLE support_knowledge_articles DROP COLUMN search, DROP COLUMN search_head;
ALTER TABLE support_article_chunks DROP COLUMN search;

-- The CJK test is written out here as well: this function is inlined into
-- the statements that write every ticket and message (sql/057), and a
-- call of support_cjk_bigrams, which is not, costs some 12 µs a text
-- (23 against 8 µs for a reply's body, measured) — only CJK text pays it.
CREATE OR REPLACE FUNCTION support_plain_tsvector(t text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN to_tsvector('support_text'::regconfig,
                   CASE WHEN t ~
                     '[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff'
                     '\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0002fa1f]'
                        THEN support_cjk_bigrams(translate(t, '<>', '  '))
                        ELSE translate(t, '<>', '  ') END);

ALTER TABLE support_knowledge_articles
    ADD COLUMN search tsvector GENERATED ALWAYS AS
        (setweight(support_plain_tsvector(title), 'A') ||
         setweight(support_plain_tsvector(left(content_text, 100000)), 'B')) STORED,
    ADD COLUMN search_head tsvector GENERATED ALWAYS AS
        (setweight(support_plain_tsvector(title), 'A') ||
         setweight(support_plain_tsvector(left(content_text, 2000)), 'B')) STORED;
ALTER TABLE support_knowledge_articles ALTER COLUMN search_head SET STORAGE MAIN;
CREATE INDEX support_knowledge_articles_search ON support_knowledge_articles USING gin (search);

ALTER TABLE support_article_chunks ADD COLUMN search tsvector GENERATED ALWAYS AS
    (setweight(support_plain_tsvector(heading_path), 'A') ||
     setweight(support_plain_tsvector(text), 'B')) STORED;
ALTER TABLE support_article_chunks ALTER COLUMN search SET STORAGE MAIN;
CREATE INDEX support_article_chunks_search ON support_article_chunks USING gin (search);

-- The retrieval statistics (sql/020) counted the old lexemes: emptied,
-- they are rebuilt by the next knowledge-embedding-sync pass (as on a
-- fresh install, retrieval works meanwhile without them).
DELETE FROM support_chunk_lexemes;
NOTIFY support_knowledge_sync;
