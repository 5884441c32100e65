/*
 * article_snippet: a knowledge-base search hit's snippet as HTML
 * (docs/API.md §8, Search), from PostgreSQL's ts_headline and the text it
 * was cut from. ts_headline marks the words it matched (stemmed, accents
 * folded) but reads a run of Han, kana or Hangul as one word, while the
 * index reads it as character pairs (sql/055, 059): it never marks a CJK
 * match, and for a CJK-only query it shows the text's start, where the
 * match often is not. Here a CJK match is found in the text as the index
 * finds it and shown, marked, in a window around it.
 * Must not: know SQL or HTTP (a pure text transformer: it is fuzzed).
 */
#ifndef SP_ARTICLE_SNIPPET_H
#define SP_ARTICLE_SNIPPET_H

struct sp_arena;

/*
 * The snippet as HTML in the arena: escaped text, matches in <mark>, at
 * most two fragments joined by " … ", on one line (a run of blanks with a
 * line break is "; ", or a space after a clause's end or by the " … ",
 * nothing at either end; a tab a space); NULL when headline is NULL.
 *
 * headline: ts_headline's output over source, matches between \x01 and
 * \x02, fragments parted by \x05. source: the text it was cut from, valid
 * UTF-8 with '<' and '>' as \x03 and \x04 and without \x01, \x02 or \x05
 * (stored text has no control characters). q: the search as typed (NULL:
 * none).
 *
 * Without a CJK term of q in source the answer is the headline's own,
 * its marks as <mark> and a bracket right outside a fragment put back
 * from source. With one, a fragment of the headline is kept where it
 * marks a word outside CJK text, and the room left (at least one
 * fragment) shows the first CJK match not yet shown, a window of at most
 * SP_SNIPPET_WINDOW characters starting up to SP_SNIPPET_BEFORE before
 * it. A CJK term is a run of q's CJK characters (one not negated by a
 * leading '-'): its overlapping pairs are marked wherever they stand in
 * source, a lone character wherever it stands, as the index finds them.
 * Width variants (half-width katakana for full-width, which the index
 * folds by NFKC) are not found here and stay unmarked.
 */
#define SP_SNIPPET_WINDOW 72
#define SP_SNIPPET_BEFORE 20
const char *sp_article_snippet_html(struct sp_arena *a, const char *headline, const char *source,
                                    const char *q);

#endif
