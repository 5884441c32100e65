/*
 * fuzz_article_snippet: libFuzzer target for a search hit's snippet
 * (domain/article_snippet.c): the HTML a public page shows of an
 * article's text around what q found, CJK matches marked by the code.
 * Input: q, a NUL, the source text, a NUL, then bytes choosing the
 * headline as ts_headline would cut it from the source: up to two
 * fragments in order, each of whole characters, with marks around
 * whole characters. q and the source are made valid UTF-8 first
 * (sp_utf8_clean), the source as the SQL gives it: '<' and '>' as \x03
 * and \x04, and no \x01, \x02 or \x05 (stored text has no controls).
 * Aborts unless the snippet is valid UTF-8; its <mark> and </mark>
 * alternate, none left open, and no other '<' is in it; marks removed,
 * it is one line (no line break or tab) and, blanks and ';' aside (a
 * line break is "; " or a space), one or two fragments of the escaped
 * source's text parted by "…"; and, for a q of CJK
 * characters only that the source holds, a CJK character is marked.
 * Build: scripts/dev fuzz article_snippet (replayed by `make check`).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/utf8.h"
#include "domain/article_snippet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)
#define ELLIPSIS "\xe2\x80\xa6"   /* unblanked */

/* The next part of the input up to a NUL, valid UTF-8. */
static char *
part(struct sp_arena *a, const uint8_t **data, size_t *size, enum sp_utf8_clean mode)
{
    const uint8_t *nul = memchr(*data, 0, *size);
    size_t n = nul != NULL ? (size_t)(nul - *data) : *size;
    char *s = sp_utf8_clean(a, (const char *)*data, n, mode);
    *data += n + (nul != NULL);
    *size -= n + (nul != NULL);
    return s;
}

/* The source as the SQL hands it over. */
static void
as_source(char *s)
{
    for (char *c = s; *c != '\0'; c++) {
        if (*c == '<' || *c == '>')
            *c = *c == '<' ? '\x03' : '\x04';
        else if (*c == '\x01' || *c == '\x02' || *c == '\x05')
            *c = ' ';
    }
}

/* Past the character at src[i] (i < n). */
static size_t
next_char(const char *src, size_t n, size_t i)
{
    size_t k;
    sp_utf8_decode(src + i, n - i, &k);
    return i + k;
}

/* A headline of src chosen by the bytes d[0..n): fragments of whole
 * characters, in order, marks around the characters a mask chooses. */
static char *
headline(struct sp_arena *a, const char *src, const uint8_t *d, size_t dn)
{
    size_t n = strlen(src), at = 0, k = 0;
    int frags = dn > 0 ? 1 + d[k++] % 2 : 1;
    struct sp_buf b;
    sp_buf_init(&b, a, n + 64);
    for (int f = 0; f < frags; f++) {
        size_t skip = k < dn ? d[k++] : 0, len = k < dn ? d[k++] : 12;
        uint32_t mask = 0;
        for (int i = 0; i < 4; i++)
            mask = mask << 8 | (k < dn ? d[k++] : 0);
        for (size_t i = 0; i < skip && at < n; i++)
            at = next_char(src, n, at);
        if (f > 0)
            sp_buf_putc(&b, '\x05');
        bool open = false;
        for (size_t i = 0; i < len && at < n; i++) {
            bool mark = (mask >> (i % 32)) & 1;
            if (mark != open)
                sp_buf_putc(&b, mark ? '\x01' : '\x02');
            open = mark;
            size_t e = next_char(src, n, at);
            sp_buf_append(&b, src + at, e - at);
            at = e;
        }
        if (open)
            sp_buf_putc(&b, '\x02');
    }
    return b.data;
}

static char *
escaped(struct sp_arena *a, const char *s)
{
    struct sp_buf b;
    sp_buf_init(&b, a, strlen(s) * 2 + 1);
    for (; *s != '\0'; s++)
        switch (*s) {
        case '&': sp_buf_puts(&b, "&amp;"); break;
        case '<': case '\x03': sp_buf_puts(&b, "&lt;"); break;
        case '>': case '\x04': sp_buf_puts(&b, "&gt;"); break;
        case '"': sp_buf_puts(&b, "&quot;"); break;
        default: sp_buf_putc(&b, *s); break;
        }
    return b.data;
}

/* out without its marks, which must alternate and close; whether a
 * mark holds a CJK character. */
static char *
unmarked(struct sp_arena *a, const char *out, bool *cjk_marked)
{
    char *text = sp_arena_alloc(a, strlen(out) + 1), *t = text;
    bool open = false;
    *cjk_marked = false;
    for (const char *c = out; *c != '\0';) {
        size_t k;
        if (strncmp(c, "<mark>", 6) == 0) {
            CHECK(!open);
            open = true;
            c += 6;
            const char *end = strstr(c, "</mark>");
            for (size_t i = 0; end != NULL && c + i < end; i += k)
                *cjk_marked |= sp_utf8_cjk(sp_utf8_decode(c + i, (size_t)(end - c) - i, &k));
        } else if (strncmp(c, "</mark>", 7) == 0) {
            CHECK(open);
            open = false;
            c += 7;
        } else {
            CHECK(*c != '<' && *c != '>');
            *t++ = *c++;
        }
    }
    CHECK(!open);
    *t = '\0';
    return text;
}

/* s without blanks and ';': the snippet is one line, a line break "; "
 * or a space. */
static char *
unblanked(struct sp_arena *a, const char *s)
{
    char *out = sp_arena_alloc(a, strlen(s) + 1), *o = out;
    for (; *s != '\0'; s++)
        if (strchr(" \t\n\r;", *s) == NULL)
            *o++ = *s;
    *o = '\0';
    return out;
}

/* Whether text is one or two fragments of esc, parted by "…" (both
 * unblanked): the text itself may hold "…", so each place of it is
 * tried. */
static bool
fragments_of(struct sp_arena *a, const char *text, const char *esc)
{
    text = unblanked(a, text);
    esc = unblanked(a, esc);
    if (strstr(esc, text) != NULL)
        return true;
    for (const char *p = text; (p = strstr(p, ELLIPSIS)) != NULL; p++)
        if (strstr(esc, p + strlen(ELLIPSIS)) != NULL &&
            strstr(esc, sp_arena_strndup(a, text, (size_t)(p - text))) != NULL)
            return true;
    return false;
}

/* Whether q is CJK characters only (at least one). */
static bool
all_cjk(const char *q)
{
    size_t n = strlen(q), k;
    for (size_t i = 0; i < n; i += k)
        if (!sp_utf8_cjk(sp_utf8_decode(q + i, n - i, &k)))
            return false;
    return n > 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_arena a;
    sp_arena_init(&a, 4096);
    char *q = part(&a, &data, &size, SP_UTF8_LINE);
    char *src = part(&a, &data, &size, SP_UTF8_TEXT);
    as_source(src);
    const char *out = sp_article_snippet_html(&a, headline(&a, src, data, size), src, q);
    CHECK(out != NULL && sp_utf8_valid(out, strlen(out)));
    CHECK(strpbrk(out, "\n\r\t") == NULL);
    bool cjk_marked;
    char *text = unmarked(&a, out, &cjk_marked);
    CHECK(fragments_of(&a, text, escaped(&a, src)));
    CHECK(!all_cjk(q) || strstr(src, q) == NULL || cjk_marked);
    sp_arena_destroy(&a);
    return 0;
}
