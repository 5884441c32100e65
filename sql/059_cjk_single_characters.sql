-- 059_cjk_single_characters: a search of one CJK character finds it
-- wherever it stands. Since 055 a run of Han, kana or Hangul is indexed
-- as its overlapping pairs, and a lone query character matched only a
-- lone character in the text: "税" (tax) or "款" found nothing in
-- "退款需要五天", where Lucene-style search finds them.
--
-- Every character of a run of two or more begins a pair, except the
-- last; so the last is now indexed too, after the pairs, and a lone
-- query character is asked as a prefix ('款':*), which matches the pairs
-- it begins and the run's last character alike. A query of several
-- characters is rewritten as the text is, so its pairs (and a phrase's
-- positions) line up as before: the last character's prefix term it
-- gains matches wherever its last pair does.
--
-- Only rows with CJK text change: their generated search columns are
-- recomputed here (SET … = DEFAULT). Ticket documents keep their form
-- until written again or rebuilt (support_ticket_search_rebuild,
-- docs/operations.md); a ticket's run-final character is found after
-- that, any other character at once.
CREATE OR REPLACE FUNCTION support_cjk_bigrams(t text) RETURNS text
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
                                       WHERE nx IS NOT NULL) || ' ' || right(m[2], 1) || ' '
                            END, '' ORDER BY n)
          FROM regexp_matches(t,
                 '([^\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff'
                 '\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0002fa1f]*)'
                 '([\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff'
                 '\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0002fa1f]*)', 'g')
               WITH ORDINALITY AS x(m, n))
END;

-- A lexeme of one CJK character, in the tsquery's text form ('税', not
-- inside a longer lexeme's doubled quotes), becomes a prefix ('税':*).
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
                                          support_cjk_bigrams(translate(q, '<>', '  '))) AS w) s);

UPDATE support_knowledge_articles SET search = DEFAULT, search_head = DEFAULT
 WHERE title || ' ' || content_text ~
       '[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff'
       '\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0002fa1f]';
UPDATE support_article_chunks SET search = DEFAULT
 WHERE coalesce(heading_path, '') || ' ' || text ~
       '[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff'
       '\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0002fa1f]';

-- Retrieval's lexeme statistics counted the old lexemes (as in 055).
DELETE FROM support_chunk_lexemes;
NOTIFY support_knowledge_sync;
