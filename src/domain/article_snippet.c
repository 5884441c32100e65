/*
 * article_snippet: a search hit's snippet as HTML. See article_snippet.h.
 *
 * Two paths. Without a CJK term of q in the text, the headline is shown
 * as ts_headline cut it (headline_html: the output searches of Latin
 * text always had). With one, everything is a byte range of source: the
 * fragments kept from the headline (located in source, as the bracket
 * rule always did), the windows around CJK matches, and a mark map of
 * source's bytes (the headline's marks and the CJK matches), so the
 * fragments render from source alone: their text is source's, escaped,
 * and the marks are balanced by construction, wherever they come from.
 * Cost: one memmem over source per term: 11 µs a row for a two-character
 * query, 0.25 ms for 200 CJK characters (199 pairs) over 1 000 — less
 * than ts_headline's own ~0.5 ms; no statement more.
 */
#include "domain/article_snippet.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/ascii.h"
#include "core/buf.h"
#include "core/utf8.h"

#define ELLIPSIS " \xe2\x80\xa6 "   /* " … " between fragments */
#define MAX_FRAGMENTS 2

/* Bits of the mark map: a word the headline marked; a CJK match. */
enum { MARK_WORD = 1, MARK_CJK = 2 };

/* --- the headline as cut ------------------------------------------------ */

/* c of the text escaped, '<' and '>' read as \x03 and \x04 too. */
static void
put_escaped(struct sp_buf *b, char c)
{
    switch (c) {
    case '&': sp_buf_puts(b, "&amp;"); break;
    case '<': case '\x03': sp_buf_puts(b, "&lt;"); break;
    case '>': case '\x04': sp_buf_puts(b, "&gt;"); break;
    case '"': sp_buf_puts(b, "&quot;"); break;
    default: sp_buf_putc(b, c); break;
    }
}

/* f[0..n) without the headline's marks, in the arena. */
static char *
unmarked(struct sp_arena *a, const char *f, size_t n, size_t *len)
{
    char *plain = sp_arena_alloc(a, n + 1);
    *len = 0;
    for (size_t i = 0; i < n; i++)
        if (f[i] != '\x01' && f[i] != '\x02')
            plain[(*len)++] = f[i];
    plain[*len] = '\0';
    return plain;
}

/* One fragment f (n bytes) of a headline, escaped, its marks as <mark>,
 * with the bracket right before and after it in source put back: a
 * fragment starts and ends at a word, and ts_headline's parser reads the
 * brackets as blanks. */
static void
headline_fragment(struct sp_buf *b, const char *f, size_t n, const char *source)
{
    size_t len;
    const char *plain = unmarked(b->arena, f, n, &len);
    const char *at = len > 0 && source != NULL ? strstr(source, plain) : NULL;
    if (at != NULL && at > source && at[-1] == '\x03')
        sp_buf_puts(b, "&lt;");
    for (size_t i = 0; i < n; i++) {
        if (f[i] == '\x01')
            sp_buf_puts(b, "<mark>");
        else if (f[i] == '\x02')
            sp_buf_puts(b, "</mark>");
        else
            put_escaped(b, f[i]);
    }
    if (at != NULL && at[len] == '\x04')
        sp_buf_puts(b, "&gt;");
}

static const char *
headline_html(struct sp_arena *a, const char *s, const char *source)
{
    struct sp_buf b;
    sp_buf_init(&b, a, strlen(s) + 32);
    for (const char *f = s;; f++) {
        size_t n = strcspn(f, "\x05");
        headline_fragment(&b, f, n, source);
        f += n;
        if (*f == '\0')
            break;
        sp_buf_puts(&b, ELLIPSIS);
    }
    return b.data;
}

/* --- CJK terms ---------------------------------------------------------- */

/* Marks each place term t (tn bytes) stands in src[0..n): overlapping
 * ones too ("哈哈" twice in "哈哈哈"). A term is whole characters, so a
 * place found starts at a character (UTF-8 is self-synchronizing). */
static bool
mark_term(const char *src, size_t n, unsigned char *map, const char *t, size_t tn)
{
    bool any = false;
    for (const char *p = src; (p = memmem(p, n - (size_t)(p - src), t, tn)) != NULL; p++) {
        for (size_t i = 0; i < tn; i++)
            map[(size_t)(p - src) + i] |= MARK_CJK;
        any = true;
    }
    return any;
}

/* Whether the run at q[i] is negated: a '-' starting a word before it. */
static bool
negated(const char *q, size_t i)
{
    return i > 0 && q[i - 1] == '-' && (i == 1 || sp_ascii_space(q[i - 2]));
}

/* The run q[b..e) of count characters: its pairs, or its one character,
 * marked in source as the index matches them (sql/055, 059). */
static bool
mark_run(const char *q, size_t b, size_t e, size_t count, const char *src, size_t n,
         unsigned char *map)
{
    if (count == 1)
        return mark_term(src, n, map, q + b, e - b);
    bool any = false;
    size_t first, second;
    for (size_t i = b; i < e; i += first) {
        sp_utf8_decode(q + i, e - i, &first);
        if (i + first >= e)
            break;
        sp_utf8_decode(q + i + first, e - i - first, &second);
        any |= mark_term(src, n, map, q + i, first + second);
    }
    return any;
}

/* Marks the CJK terms of q in src[0..n); whether one was found. */
static bool
mark_cjk(const char *q, const char *src, size_t n, unsigned char *map)
{
    size_t qn = strlen(q), b = 0, count = 0, k = 1;
    bool any = false;
    for (size_t i = 0; i <= qn; i += k) {
        bool cjk = i < qn && sp_utf8_cjk(sp_utf8_decode(q + i, qn - i, &k));
        if (i == qn)
            k = 1;
        if (cjk && count++ == 0)
            b = i;
        if (!cjk && count > 0) {
            if (!negated(q, b))
                any |= mark_run(q, b, i, count, src, n, map);
            count = 0;
        }
    }
    return any;
}

/* --- fragments as ranges of source -------------------------------------- */

struct range {
    size_t b, e;
};

struct snippet {
    const char *src;
    size_t n;
    unsigned char *map;                  /* n bytes of MARK_* bits */
    struct range frag[MAX_FRAGMENTS + 1];
    int nfrag;
};

/* Adds r, its bracket right outside put back, merged with a fragment it
 * overlaps or touches (the room is MAX_FRAGMENTS + 1 while adding). */
static void
add_range(struct snippet *s, struct range r)
{
    if (r.b > 0 && s->src[r.b - 1] == '\x03')
        r.b--;
    if (r.e < s->n && s->src[r.e] == '\x04')
        r.e++;
    s->frag[s->nfrag++] = r;
    for (int i = 0; i < s->nfrag; i++)
        for (int j = i + 1; j < s->nfrag; j++) {
            struct range *x = &s->frag[i], *y = &s->frag[j];
            if (x->b > y->e || y->b > x->e)
                continue;
            x->b = x->b < y->b ? x->b : y->b;
            x->e = x->e > y->e ? x->e : y->e;
            s->frag[j] = s->frag[--s->nfrag];
            j = i;   /* x grew: compare it with the others again */
        }
}

/* Takes the headline's fragment f (n bytes) where it marks a word
 * outside CJK text (ts_headline marks a CJK run only whole, as one word:
 * the pairs marked here replace it). False when f, marked, cannot be
 * found in source (ts_headline cuts from it: never seen). */
static bool
take_fragment(struct snippet *s, struct sp_arena *a, const char *f, size_t n)
{
    size_t len;
    const char *plain = unmarked(a, f, n, &len);
    const char *at = len > 0 ? strstr(s->src, plain) : NULL;
    bool marked = memchr(f, '\x01', n) != NULL, word = false;
    if (at == NULL)
        return !marked;
    size_t o = 0, open = 0, base = (size_t)(at - s->src);
    for (size_t i = 0; i < n; i++) {
        if (f[i] == '\x01') {
            open = o;
        } else if (f[i] == '\x02') {
            if (sp_utf8_any(at + open, o - open, sp_utf8_cjk))
                continue;
            for (size_t j = open; j < o; j++)
                s->map[base + j] |= MARK_WORD;
            word |= o > open;
        } else {
            o++;
        }
    }
    if (word && s->nfrag < MAX_FRAGMENTS)
        add_range(s, (struct range){base, base + len});
    return true;
}

/* Whether byte i of source is in a fragment. */
static bool
shown(const struct snippet *s, size_t i)
{
    for (int f = 0; f < s->nfrag; f++)
        if (i >= s->frag[f].b && i < s->frag[f].e)
            return true;
    return false;
}

/* Whether code point c may be inside a word a window should not cut:
 * ASCII letters and digits, and the letters of alphabets (Latin with
 * accents, Greek, Cyrillic...) below the general punctuation. */
static bool
word_char(uint32_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= 0xc0 && c < 0x2000 && !sp_utf8_cjk(c));
}

/* Whether src[i] (0 < i < n) is inside a word: a word's characters on
 * both sides. */
static bool
in_word(const char *src, size_t n, size_t i)
{
    size_t k, prev = sp_utf8_prev(src, i);
    return word_char(sp_utf8_decode(src + i, n - i, &k)) &&
           word_char(sp_utf8_decode(src + prev, n - prev, &k));
}

/* Whether c ends a sentence or a line: a window starts after it. */
static bool
sentence_end(uint32_t c)
{
    return c == '\n' || c == 0x3002 || c == 0xff01 || c == 0xff1f;
}

/* Where a window showing the match at src[p] starts: up to
 * SP_SNIPPET_BEFORE characters before it, after a sentence's end, not in
 * the middle of a word, not at a blank. */
static size_t
window_start(const char *src, size_t n, size_t p)
{
    size_t b = p, k;
    int count = 0;
    while (b > 0 && count < SP_SNIPPET_BEFORE) {
        size_t prev = sp_utf8_prev(src, b);
        if (sentence_end(sp_utf8_decode(src + prev, n - prev, &k)))
            break;
        b = prev;
        count++;
    }
    while (b < p && b > 0 && in_word(src, n, b)) {
        sp_utf8_decode(src + b, n - b, &k);
        b += k;
    }
    while (b < p && sp_ascii_space(src[b]))
        b++;
    return b;
}

/* Where the window starting at b and showing the match src[p..e) ends:
 * SP_SNIPPET_WINDOW characters on, not in the middle of a word unless
 * the match is, not at a blank. Always past p. */
static size_t
window_end(const char *src, size_t n, size_t b, size_t p, size_t e)
{
    size_t t = b, k;
    for (int count = 0; t < n && count < SP_SNIPPET_WINDOW; count++) {
        sp_utf8_decode(src + t, n - t, &k);
        t += k;
    }
    size_t w = t;
    while (w < n && w > e && in_word(src, n, w))
        w = sp_utf8_prev(src, w);
    if (w > e)
        t = w;
    while (t > p + 1 && sp_ascii_space(src[t - 1]))
        t--;
    return t;
}

/* Shows the first CJK match no fragment shows, while there is room. */
static void
add_windows(struct snippet *s)
{
    while (s->nfrag < MAX_FRAGMENTS) {
        size_t p = 0;
        while (p < s->n && (!(s->map[p] & MARK_CJK) || shown(s, p)))
            p++;
        if (p == s->n)
            return;
        size_t e = p;
        while (e < s->n && (s->map[e] & MARK_CJK))
            e++;
        size_t b = window_start(s->src, s->n, p);
        add_range(s, (struct range){b, window_end(s->src, s->n, b, p, e)});
    }
}

/* Whether a fragment shows a CJK match. */
static bool
shows_cjk(const struct snippet *s)
{
    for (int f = 0; f < s->nfrag; f++)
        for (size_t i = s->frag[f].b; i < s->frag[f].e; i++)
            if (s->map[i] & MARK_CJK)
                return true;
    return false;
}

/* The fragments in the text's order, from source, marks from the map. */
static const char *
ranges_html(struct sp_arena *a, struct snippet *s)
{
    for (int i = 1; i < s->nfrag; i++)   /* at most two: one swap */
        if (s->frag[i].b < s->frag[i - 1].b) {
            struct range t = s->frag[i];
            s->frag[i] = s->frag[i - 1];
            s->frag[i - 1] = t;
        }
    struct sp_buf b;
    sp_buf_init(&b, a, 256);
    for (int f = 0; f < s->nfrag; f++) {
        if (f > 0)
            sp_buf_puts(&b, ELLIPSIS);
        bool open = false;
        for (size_t i = s->frag[f].b; i < s->frag[f].e; i++) {
            if ((s->map[i] != 0) != open)
                sp_buf_puts(&b, open ? "</mark>" : "<mark>");
            open = s->map[i] != 0;
            put_escaped(&b, s->src[i]);
        }
        if (open)
            sp_buf_puts(&b, "</mark>");
    }
    return b.data;
}

/* --- one line ---------------------------------------------------------------- */

/* Whether the HTML out ends a clause, a "</mark>" after it skipped: a
 * line break there reads as a space, elsewhere as "; ". */
static bool
ends_clause(const struct sp_buf *out)
{
    size_t n = out->len;
    if (n >= 7 && memcmp(out->data + n - 7, "</mark>", 7) == 0)
        n -= 7;
    if (n >= 3 && memcmp(out->data + n - 3, "\xe2\x80\xa6", 3) == 0)
        return true;   /* the ellipsis between fragments */
    return n == 0 || strchr(".!?:;,", out->data[n - 1]) != NULL;
}

/* html on one line: the plain text keeps a line a block (a paragraph, a
 * heading, a list item, a table's row: its cells between spaces), which
 * a snippet showed as raw line breaks (QA: "Cancel.\nNotice Fee\n48 h
 * or more none"). A run of blanks holding a line break is "; " between
 * two blocks, a space after a clause's end or by the ellipsis, nothing at
 * either end; a tab is a space. Blanks are never inside a tag or an
 * entity, so the marks and the escaping are untouched. */
static const char *
one_line(struct sp_arena *a, const char *html)
{
    if (strpbrk(html, "\n\r\t") == NULL)
        return html;
    struct sp_buf b;
    sp_buf_init(&b, a, strlen(html) + 16);
    for (const char *c = html; *c != '\0';) {
        size_t n = strspn(c, " \t\n\r");
        if (n == 0) {
            sp_buf_putc(&b, *c++);
            continue;
        }
        bool line = strcspn(c, "\n\r") < n;
        const char *next = c + n;
        if (!line)
            for (; c < next; c++)
                sp_buf_putc(&b, ' ');
        else if (b.len > 0 && *next != '\0')
            sp_buf_puts(&b, ends_clause(&b) || strncmp(next, "\xe2\x80\xa6", 3) == 0 ? " "
                                                                                     : "; ");
        c = next;
    }
    return b.data;
}

static const char *
snippet_html(struct sp_arena *a, const char *headline, const char *source, const char *q)
{
    struct snippet s = {.src = source, .n = source != NULL ? strlen(source) : 0};
    /* A query without CJK text (most): no map, no scan of the source. */
    if (q == NULL || s.n == 0 || !sp_utf8_any(q, strlen(q), sp_utf8_cjk))
        return headline_html(a, headline, source);
    s.map = sp_arena_calloc(a, s.n + 1, 1);
    if (!mark_cjk(q, s.src, s.n, s.map))
        return headline_html(a, headline, source);
    for (const char *f = headline;; f++) {
        size_t n = strcspn(f, "\x05");
        if (!take_fragment(&s, a, f, n))
            return headline_html(a, headline, source);
        f += n;
        if (*f == '\0')
            break;
    }
    /* A mixed query's two word fragments leave room for a CJK match. */
    if (s.nfrag == MAX_FRAGMENTS && !shows_cjk(&s))
        s.nfrag--;
    add_windows(&s);
    return ranges_html(a, &s);
}

const char *
sp_article_snippet_html(struct sp_arena *a, const char *headline, const char *source,
                        const char *q)
{
    if (headline == NULL)
        return NULL;
    return one_line(a, snippet_html(a, headline, source, q));
}
