-- 071_search_parser_runs: a text no longer costs the database time that
-- grows with the square of its length. PostgreSQL's text-search parser
-- reads each word of a run without spaces as the possible start of a host
-- name, e-mail address, file path or URL, scans the rest of the run for
-- it, fails and starts again at the next word: repeat('a_', 8000) took
-- 3 s to index, a description of 'a_' * 9999 (inside its limit) 2-5 s and
-- an article of 'a_' * 100000 ran past the statement timeout (503 on
-- every try); 'a1@', '~/' and './' runs are as slow (measured on 15).
--
-- support_text_runs breaks every run of 128 non-space characters with a
-- space, so no scan reads past 128 characters and the cost is linear
-- (100 000 characters of the worst runs found: 0.1-0.3 s, against
-- minutes). Text whose runs are all shorter is unchanged, so its lexemes
-- are too: identifiers, e-mail addresses, host names, file names and
-- URLs with underscores (error_code_42, my_file.txt, a_b@example.com,
-- https://example.com/my_path/x_y) stay the tokens they were. Replacing
-- '_' by ' ' would have been simpler but is not the same: the parser
-- reads my_file.txt as one file name and "my file.txt" as a stop word and
-- a host, and likewise splits addresses and URLs that hold '_'.
--
-- Documents and queries are read alike: support_plain_tsvector (the
-- articles', the AI chunks' and, since 057, the tickets' documents and
-- the AI question's lexemes) and support_search_query (the search box;
-- the queue's support_ticket_query and the admin list's prefix query use
-- it) break runs the same way, so a query of one run longer than 128
-- characters (a long URL) matches the document that holds it.
--
-- Only rows holding such a run are indexed differently. The articles'
-- and chunks' generated columns are recomputed for those rows here, by
-- assigning a column they read (as in 066); a knowledge base is small.
-- Ticket documents are not rewritten (a million rows): an old one keeps a
-- long run whole, and the queue's query also asks the words as written
-- (057's 'english' half, which this does not break), so it is found by
-- such a run as before; support_ticket_search_rebuild rewrites them in
-- the new form (docs/operations.md).
CREATE FUNCTION support_text_runs(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN regexp_replace(t, '\S{128}', '\& ', 'g');

CREATE OR REPLACE FUNCTION support_plain_tsvector(t text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN to_tsvector('support_text'::regconfig, support_text_runs(
                   CASE WHEN t ~
                     '[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff'
                     '\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0002fa1f]'
                        THEN support_cjk_bigrams(translate(t, '<>', '  '))
                        ELSE translate(t, '<>', '  ') END));

-- As 059's, with the runs broken as the documents' are.
CREATE OR REPLACE FUNCTION support_search_query(q text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (SELECT CASE WHEN s.w::text ~
                      '''[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff'
                      '\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0002fa1f]'''
                    THEN regexp_replace(s.w::text,
                      '(^|[^''])''([\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf'
                      '\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f'
                      '\U00020000-\U0002fa1f])''(?!'')', '\1''\2'':*', 'g')::tsquery
                    ELSE s.w END
        FROM (SELECT websearch_to_tsquery('support_text'::regconfig,
                       support_text_runs(support_cjk_bigrams(translate(q, '<>', '  '))))
                     AS w) s);

UPDATE support_knowledge_articles SET title = title, content_text = content_text
 WHERE title || ' ' || left(content_text, 100000) ~ '\S{128}';
UPDATE support_article_chunks SET text = text
 WHERE coalesce(heading_path, '') || ' ' || text ~ '\S{128}';

-- Retrieval's lexeme statistics counted the old lexemes (as in 066).
DELETE FROM support_chunk_lexemes
 WHERE EXISTS (SELECT 1 FROM support_article_chunks
                WHERE coalesce(heading_path, '') || ' ' || text ~ '\S{128}');
NOTIFY support_knowledge_sync;
