-- 078_search_format_characters: a word with an invisible character inside
-- it is found by the word. PostgreSQL's text-search parser ends a word at
-- a soft hyphen (U+00AD), a zero-width space (U+200B), a word joiner
-- (U+2060) and the other format characters, so a published
-- "Pro\u00adcessing" was indexed as 'pro' and 'cess' and q=processing,
-- kb_search and the AI's full-text candidates never found it (QA); text
-- pasted from word processors and web pages holds them often.
--
-- support_format_stripped drops them before the parser reads a text:
-- Unicode's format characters (General_Category Cf, Unicode 15.1: the
-- ranges of core/utf8's sp_utf8_format, kept equal to them as
-- sp_utf8_cjk is to 055: soft hyphen, Arabic number signs, Mongolian
-- vowel separator, ZWSP/ZWNJ/ZWJ, LRM/RLM and the other bidirectional
-- controls, word joiner and the invisible operators, BOM/ZWNBSP,
-- interlinear annotation, the tags...) and U+034F COMBINING GRAPHEME
-- JOINER, the one default-ignorable mark that is not Cf yet is written
-- inside words. None of them is a letter or a word's end to a reader.
-- Documents and queries pass through it alike (support_plain_tsvector:
-- the articles', the AI chunks' and the tickets' documents and the AI
-- question's lexemes; support_search_query: the search box, the admin
-- list's prefix query and the queue's support_ticket_query), so a query
-- typed with one finds the word too. Text without them is unchanged, and
-- so are its lexemes.
CREATE OR REPLACE FUNCTION support_format_stripped(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN regexp_replace(t,
         '[\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e'
         '\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb'
         '\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3'
         '\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]', '', 'g');

-- As 071's, the text stripped first (a CJK run split by a ZWSP is one run).
CREATE OR REPLACE FUNCTION support_plain_tsvector(t text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN to_tsvector('support_text'::regconfig, support_text_runs(
                   CASE WHEN t ~
                     '[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff'
                     '\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0002fa1f]'
                        THEN support_cjk_bigrams(translate(support_format_stripped(t),
                                                           '<>', '  '))
                        ELSE translate(support_format_stripped(t), '<>', '  ') END));

-- As 071's, the query stripped first.
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
                       support_text_runs(support_cjk_bigrams(
                         translate(support_format_stripped(q), '<>', '  '))))
                     AS w) s);

-- Only rows holding such a character are indexed differently: the
-- articles' and chunks' generated columns are recomputed for those rows
-- alone, by assigning a column they read (as in 066 and 071). The scan
-- reads each row once and writes only those (a knowledge base of any
-- size: rows without one are not rewritten, no table rewrite, no lock
-- past the rows changed). Ticket documents are not rewritten (a million
-- rows): an old one keeps the split word until the ticket is written
-- again or rebuilt (support_ticket_search_rebuild, docs/operations.md),
-- and is found by the split word's parts as before.
UPDATE support_knowledge_articles SET title = title, content_text = content_text
 WHERE title || ' ' || left(content_text, 100000) <> support_format_stripped(
           title || ' ' || left(content_text, 100000));
UPDATE support_article_chunks SET text = text
 WHERE coalesce(heading_path, '') || ' ' || text <> support_format_stripped(
           coalesce(heading_path, '') || ' ' || text);

-- Retrieval's lexeme statistics counted the old lexemes (as in 066 and
-- 071): emptied where some changed, rebuilt by the next sync pass.
DELETE FROM support_chunk_lexemes
 WHERE EXISTS (SELECT 1 FROM support_article_chunks
                WHERE coalesce(heading_path, '') || ' ' || text <> support_format_stripped(
                          coalesce(heading_path, '') || ' ' || text));

-- core/markdown now keeps the text of raw HTML blocks (docs/API.md §8),
-- which the AI's passages left out: they are cut from the markdown again
-- by the next sync pass (a passage whose text did not change keeps its
-- vector, as in 051). Only articles with a '<' in their markdown can hold
-- one. Their page, summary and search text are rendered when saved: an
-- old article gains the block's text there when it is saved again
-- (docs/operations.md).
UPDATE support_article_chunks c SET article_version = -1
  FROM support_knowledge_articles a
 WHERE c.article_id = a.id AND c.article_version <> -1
   AND strpos(a.content_markdown, '<') > 0;
NOTIFY support_knowledge_sync;
