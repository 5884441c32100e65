-- 066_cjk_width_folding: a search in full-width katakana finds the same
-- word written in half-width katakana, and back ("ガイド" finds "ｶﾞｲﾄﾞ",
-- which Japanese forms and older systems still produce), as Lucene's
-- CJKWidthFilter folds them before pairing. Half-width forms were paired
-- as written, so neither spelling found the other; a half-width voiced
-- mark (U+FF9E, U+FF9F) even made a pair of its own.
--
-- support_cjk_bigrams now reads its text in Unicode NFKC first: the
-- half-width forms become full-width ones and a voiced mark joins the
-- letter before it (ｶﾞ → ガ). Only text with CJK characters is read
-- that way, on both sides alike (the stored vectors and the query both
-- pass through this function), so other text costs nothing more; the
-- full-width Latin letters and digits there were already folded by the
-- unaccent dictionary (ｒｅｆｕｎｄ is 'refund'). normalize() is
-- immutable, as a generated column needs.
--
-- Rows with CJK text are recomputed, by assigning a column the search
-- columns read: PostgreSQL recomputes a stored generated column only when
-- an UPDATE assigns a column it depends on, so 059's "SET search =
-- DEFAULT" changed nothing, and articles and passages written before it
-- still lacked a run's last character (found since 059 only once edited).
-- Ticket documents keep their form until written again or rebuilt
-- (support_ticket_search_rebuild, docs/operations.md), as in 059.
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
          FROM regexp_matches(normalize(t, NFKC),
                 '([^\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff'
                 '\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0002fa1f]*)'
                 '([\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff'
                 '\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0002fa1f]*)', 'g')
               WITH ORDINALITY AS x(m, n))
END;

UPDATE support_knowledge_articles SET title = title, content_text = content_text
 WHERE title || ' ' || content_text ~
       '[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff'
       '\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0002fa1f]';
UPDATE support_article_chunks SET text = text
 WHERE coalesce(heading_path, '') || ' ' || text ~
       '[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff'
       '\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0002fa1f]';

-- Retrieval's lexeme statistics counted the old lexemes (as in 055 and
-- 059): emptied where some changed, rebuilt by the next sync pass.
DELETE FROM support_chunk_lexemes
 WHERE EXISTS (SELECT 1 FROM support_article_chunks
                WHERE coalesce(heading_path, '') || ' ' || text ~
                      '[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff'
                      '\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0002fa1f]');
NOTIFY support_knowledge_sync;
