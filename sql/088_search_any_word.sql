-- 088_search_any_word: public search falls back to any word of q when no
-- article holds them all (docs/API.md §8 Search). websearch_to_tsquery
-- asks for every word, so a question typed into the help centre's box —
-- "how long does a refund take", "my refund has not arrived" — found
-- nothing (QA) while the AI answered it from "How refunds work": its
-- retrieval weighs each word of the question, frame words left out.
--
-- support_search_any_query is the OR of the lexemes of a search's
-- tsquery (support_search_query's: stop words already dropped, stemmed,
-- accents folded, CJK pairs and a lone character's prefix kept as they
-- are) but those in frames: the question-frame words of q, which the
-- caller takes from core/embed (sp_embed_frame_terms, the AI's one list:
-- "take", "need", "long" after "how"...). NULL when there is none, and
-- for a query with a negated word: "refund -draft" says what it must not
-- hold, which an OR of words would not keep (it is asked as typed).
-- The lexemes are read from the tsquery's text, where each is quoted
-- with ' and \ doubled (tsquery's output), and go back into the cast
-- as they stand: no lexeme is unquoted, so none can break the query.
-- Frame words are plain ASCII stems, compared to the quoted text alike.
CREATE OR REPLACE FUNCTION support_search_any_query(query tsquery, frames text[])
RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (SELECT string_agg(DISTINCT m[1], ' | ')::tsquery
          FROM regexp_matches(query::text, '(''((?:[^''\\]|''''|\\.)*)''(?::[*A-D]+)?)', 'g') m
         WHERE m[2] <> ALL (coalesce(frames, '{}'))
           AND query::text !~ '(^|[ (])!');
