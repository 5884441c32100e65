/*
 * html_parse: gumbo behind one entry point. See html_parse.h.
 * Must not: change the input but for what gumbo aborts on.
 */
#include "core/html_parse.h"

#include <string.h>
#include <strings.h>

#include "core/arena.h"

/* "<![" then "CDATA[" in any case. */
#define CDATA_OPEN_LEN 9

/* Where the first CDATA opener in s[from..n) starts, or n. */
static size_t
cdata_open(const char *s, size_t n, size_t from)
{
    const char *p;
    while (from + CDATA_OPEN_LEN <= n && (p = memmem(s + from, n - from, "<![", 3)) != NULL) {
        from = (size_t)(p - s);
        if (n - from >= CDATA_OPEN_LEN && strncasecmp(p + 3, "CDATA[", 6) == 0)
            return from;
        from += 3;
    }
    return n;
}

GumboOutput *
sp_html_parse(const GumboOptions *opt, const char *s, size_t n, struct sp_arena *a)
{
    if (s == NULL)
        s = "", n = 0;
    size_t at = cdata_open(s, n, 0);
    if (at < n) {
        char *copy = sp_arena_strndup(a, s, n);
        for (; at < n; at = cdata_open(copy, n, at + CDATA_OPEN_LEN))
            copy[at + 2] = '-';  /* "<!-CDATA[": a bogus comment */
        s = copy;
    }
    return gumbo_parse_with_options(opt, s, n);
}

bool
sp_html_block(GumboTag t)
{
    switch (t) {
    case GUMBO_TAG_ADDRESS: case GUMBO_TAG_ARTICLE: case GUMBO_TAG_ASIDE:
    case GUMBO_TAG_BLOCKQUOTE: case GUMBO_TAG_CAPTION: case GUMBO_TAG_CENTER:
    case GUMBO_TAG_DD: case GUMBO_TAG_DETAILS: case GUMBO_TAG_DIR: case GUMBO_TAG_DIV:
    case GUMBO_TAG_DL: case GUMBO_TAG_DT: case GUMBO_TAG_FIELDSET: case GUMBO_TAG_FIGCAPTION:
    case GUMBO_TAG_FIGURE: case GUMBO_TAG_FOOTER: case GUMBO_TAG_FORM: case GUMBO_TAG_H1:
    case GUMBO_TAG_H2: case GUMBO_TAG_H3: case GUMBO_TAG_H4: case GUMBO_TAG_H5:
    case GUMBO_TAG_H6: case GUMBO_TAG_HEADER: case GUMBO_TAG_HGROUP: case GUMBO_TAG_HR:
    case GUMBO_TAG_LEGEND: case GUMBO_TAG_LI: case GUMBO_TAG_LISTING: case GUMBO_TAG_MAIN:
    case GUMBO_TAG_MENU: case GUMBO_TAG_NAV: case GUMBO_TAG_OL: case GUMBO_TAG_P:
    case GUMBO_TAG_PLAINTEXT: case GUMBO_TAG_PRE: case GUMBO_TAG_SECTION:
    case GUMBO_TAG_SUMMARY: case GUMBO_TAG_TABLE: case GUMBO_TAG_TBODY: case GUMBO_TAG_TD:
    case GUMBO_TAG_TFOOT: case GUMBO_TAG_TH: case GUMBO_TAG_THEAD: case GUMBO_TAG_TR:
    case GUMBO_TAG_UL:
        return true;
    default:
        return false;
    }
}
