/*
 * markdown: cmark-gfm rendering for knowledge-base articles. See
 * markdown.h. cmark allocates with malloc; every buffer it returns is
 * copied into the arena and freed here, on every path.
 */
#include "core/markdown.h"

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/sanitize.h"
#include "core/utf8.h"

/* GFM as API.md §8 lists it. Raw HTML is never passed through (cmark's
 * default without CMARK_OPT_UNSAFE also drops javascript:, vbscript:,
 * file: and most data: URLs); the sanitizer checks again. */
static const char *const extensions[] = {"table", "strikethrough", "autolink", "tasklist"};
#define OPTIONS (CMARK_OPT_VALIDATE_UTF8 | CMARK_OPT_STRIKETHROUGH_DOUBLE_TILDE)

static pthread_once_t registered = PTHREAD_ONCE_INIT;

static void
register_extensions(void)
{
    cmark_gfm_core_extensions_ensure_registered();
}

static cmark_parser *
new_parser(void)
{
    pthread_once(&registered, register_extensions);
    cmark_parser *parser = cmark_parser_new(OPTIONS);
    for (size_t i = 0; i < sizeof(extensions) / sizeof(extensions[0]); i++) {
        cmark_syntax_extension *ext = cmark_find_syntax_extension(extensions[i]);
        if (ext != NULL)
            cmark_parser_attach_syntax_extension(parser, ext);
    }
    return parser;
}

/* Copies a malloc'd cmark string into the arena and frees it. */
static const char *
take(struct sp_arena *a, char *s)
{
    if (s == NULL)
        return "";
    const char *copy = sp_arena_strndup(a, s, strlen(s));
    free(s);
    return copy;
}

/* The plain text as stored: control characters other than tab and
 * newline become spaces (search snippets use \x01 and \x02 as their own
 * marks, domain/articles.c), and bytes that are not UTF-8 become U+FFFD
 * (cmark's plain-text renderer writes U+FFFF as a lone 0xFF byte). */
static const char *
plain(struct sp_arena *a, const char *s)
{
    struct sp_buf b;
    size_t n = strlen(s);
    sp_buf_init(&b, a, n + 16);
    for (size_t i = 0; i < n;) {
        size_t l = sp_utf8_seq_len(s + i, n - i);
        if (l == 0) {
            sp_buf_puts(&b, "\xef\xbf\xbd");
            i++;
            continue;
        }
        if (l == 1 && (unsigned char)s[i] < 0x20 && s[i] != '\n' && s[i] != '\t')
            sp_buf_putc(&b, ' ');
        else
            sp_buf_append(&b, s + i, l);
        i += l;
    }
    return b.data;
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* s with runs of whitespace made one space, trimmed, cut at max code
 * points (then ending in "…"). */
static const char *
collapse(struct sp_arena *a, const char *s, size_t max)
{
    struct sp_buf b;
    size_t n = strlen(s), points = 0;
    sp_buf_init(&b, a, n < 4 * max ? n + 4 : 4 * max + 4);
    for (size_t i = 0; i < n;) {
        if (is_space(s[i])) {
            while (i < n && is_space(s[i]))
                i++;
            if (b.len > 0 && i < n)
                sp_buf_putc(&b, ' ');
            continue;
        }
        size_t l = sp_utf8_seq_len(s + i, n - i);
        l = l == 0 ? 1 : l;  /* plain() already replaced bad bytes */
        if (points == max) {
            while (b.len > 0 && b.data[b.len - 1] == ' ')
                b.len--;
            b.data[b.len] = '\0';
            sp_buf_puts(&b, "\xe2\x80\xa6");  /* … */
            break;
        }
        sp_buf_append(&b, s + i, l);
        points++;
        i += l;
    }
    return b.data;
}

static cmark_node *
first_paragraph(cmark_node *doc)
{
    cmark_iter *it = cmark_iter_new(doc);
    cmark_node *found = NULL;
    cmark_event_type ev;
    while (found == NULL && (ev = cmark_iter_next(it)) != CMARK_EVENT_DONE)
        if (ev == CMARK_EVENT_ENTER && cmark_node_get_type(cmark_iter_get_node(it)) ==
                                           CMARK_NODE_PARAGRAPH)
            found = cmark_iter_get_node(it);
    cmark_iter_free(it);
    return found;
}

void
sp_markdown_render(struct sp_arena *a, const char *md, size_t len, struct sp_markdown *out)
{
    cmark_parser *parser = new_parser();
    cmark_parser_feed(parser, md ? md : "", md ? len : 0);
    cmark_node *doc = cmark_parser_finish(parser);

    const char *raw = take(a, cmark_render_html(doc, OPTIONS, cmark_parser_get_syntax_extensions(parser)));
    out->html = sp_sanitize_html_as(a, SP_SANITIZE_ARTICLE, raw, strlen(raw), NULL, NULL);
    out->text = plain(a, take(a, cmark_render_plaintext(doc, OPTIONS, 0)));
    cmark_node *para = first_paragraph(doc);
    out->summary = para ? collapse(a, plain(a, take(a, cmark_render_plaintext(para, OPTIONS, 0))),
                                   SP_MARKDOWN_SUMMARY_MAX)
                        : "";

    cmark_node_free(doc);
    cmark_parser_free(parser);
}
