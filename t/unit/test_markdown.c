/*
 * test_markdown: knowledge-base markdown (src/core/markdown.c) — the GFM
 * features API.md §8 names, the summary and plain text, the article
 * profile of the sanitizer, and XSS attempts written in markdown (raw
 * HTML, javascript: links, event attributes, SVG, data: images) plus the
 * shared XSS corpus, none of which may reach the stored HTML.
 */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/markdown.h"
#include "core/sanitize.h"
#include "core/utf8.h"
#include "unit.h"

SP_UNIT_ARENA_FIXTURE(4096)

static struct sp_markdown
md(const char *in)
{
    struct sp_markdown out;
    ck_assert_msg(sp_markdown_render(&arena, in, strlen(in), &out), "refused: %s", out.refused);
    ck_assert_ptr_null(out.refused);
    ck_assert_ptr_nonnull(out.html);
    ck_assert_ptr_nonnull(out.summary);
    ck_assert_ptr_nonnull(out.text);
    return out;
}

#define ck_assert_contains(hay, needle)                                                      \
    ck_assert_msg(strstr((hay), (needle)) != NULL, "%s\n  does not contain\n%s", (hay),      \
                  (needle))
#define ck_assert_lacks(hay, needle)                                                         \
    ck_assert_msg(strcasestr((hay), (needle)) == NULL, "%s\n  contains\n%s", (hay), (needle))

static const char *const article_tags[] = {
    "p", "br", "b", "strong", "i", "em", "u", "s", "ul", "ol", "li", "a", "code", "pre",
    "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "del", "table", "thead", "tbody",
    "tr", "th", "td", "img", "input",
};

static bool
allowed_tag(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof(article_tags) / sizeof(article_tags[0]); i++)
        if (strlen(article_tags[i]) == n && strncmp(article_tags[i], name, n) == 0)
            return true;
    return false;
}

/* One tag of stored HTML, from '<' to '>' (exclusive): an allowlisted
 * name, no event attribute, no dangerous URL. */
static void
assert_tag_inert(const char *html, const char *p, const char *end)
{
    const char *name = p + 1 + (p[1] == '/');
    size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyz123456");
    ck_assert_msg(allowed_tag(name, n), "tag outside the allowlist in %s", html);
    char tag[2048];
    size_t len = (size_t)(end - p) < sizeof(tag) - 1 ? (size_t)(end - p) : sizeof(tag) - 1;
    memcpy(tag, p, len);
    tag[len] = '\0';
    ck_assert_msg(strcasestr(tag, "javascript:") == NULL && strcasestr(tag, "vbscript:") == NULL &&
                      strcasestr(tag, "data:") == NULL,
                  "dangerous URL in %s", html);
    for (const char *q = tag; q[0] != '\0' && q[1] != '\0' && q[2] != '\0' && q[3] != '\0'; q++)
        if (q[0] == ' ' && tolower((unsigned char)q[1]) == 'o' &&
            tolower((unsigned char)q[2]) == 'n' && isalpha((unsigned char)q[3]))
            ck_abort_msg("event attribute in %s", html);
}

/* Stored article HTML: only allowlisted tags, every '<' starts one of
 * ours (text is escaped), valid UTF-8, no comments. */
static void
assert_inert(const char *html)
{
    ck_assert_lacks(html, "<!--");
    for (const char *p = html; (p = strchr(p, '<')) != NULL; p++) {
        const char *end = strchr(p, '>');
        ck_assert_ptr_nonnull(end);
        assert_tag_inert(html, p, end);
    }
    ck_assert(sp_utf8_valid(html, strlen(html)));
}

START_TEST(renders_gfm)
{
    struct sp_markdown m = md("# Refunds\n\nText with ~~old~~ **bold** and `code`.\n\n"
                              "| a | b |\n|:--|--:|\n| 1 | 2 |\n\n"
                              "- [x] done\n- [ ] todo\n\n"
                              "Visit https://example.com/help now.\n\n"
                              "```c\nint x;\n```\n\n---\n");
    ck_assert_contains(m.html, "<h1>Refunds</h1>");
    ck_assert_contains(m.html, "<del>old</del>");
    ck_assert_contains(m.html, "<strong>bold</strong>");
    ck_assert_contains(m.html, "<code>code</code>");
    ck_assert_contains(m.html, "<table>");
    ck_assert_contains(m.html, "<th align=\"left\">a</th>");
    ck_assert_contains(m.html, "<td align=\"right\">2</td>");
    ck_assert_contains(m.html, "<input type=\"checkbox\" disabled checked>");
    ck_assert_contains(m.html, "<input type=\"checkbox\" disabled>");
    ck_assert_contains(m.html, "<a href=\"https://example.com/help\"");
    ck_assert_contains(m.html, "<code class=\"language-c\">int x;");
    ck_assert_contains(m.html, "<hr>");
}
END_TEST

/* The links the sanitizer shows as their text are named (QA: a relative
 * link or an anchor vanished on save without a word): each once, in
 * order; kept ones (https, mailto, tel) are not. */
START_TEST(dropped_links_are_named_once_each)
{
    struct sp_markdown m = md("[a](/help/y) [b](#sec) [c](https://x.example/p) "
                              "[d](mailto:a@b.example) [e](/help/y) [f](javascript:alert(1)) "
                              "[g](tel:+15551234) [h](help.html) <https://auto.example>");
    static const char *const want[] = {"/help/y", "#sec", "javascript:alert(1)", "help.html"};
    ck_assert_uint_eq(m.ndropped_links, 4);
    for (size_t i = 0; i < 4; i++)
        ck_assert_str_eq(m.dropped_links[i], want[i]);
    ck_assert_msg(strstr(m.html, "href=\"/help") == NULL && strstr(m.html, "#sec") == NULL,
                  "%s", m.html);
    ck_assert_msg(strstr(m.html, ">a<") == NULL && strstr(m.html, "a b") != NULL, "%s", m.html);
    m = md("[ok](https://x.example) plain");
    ck_assert_uint_eq(m.ndropped_links, 0);
    struct sp_buf b;
    sp_buf_init(&b, &arena, 1024);
    for (int i = 0; i < 30; i++)
        sp_buf_printf(&b, "[l](/p%d) ", i);
    m = md(b.data);
    ck_assert_uint_eq(m.ndropped_links, SP_MARKDOWN_DROPPED_MAX);
}
END_TEST

START_TEST(images_keep_only_http_sources)
{
    struct sp_markdown m = md("![chart](https://cdn.example.com/a.png \"t\")\n\n"
                              "![bad](javascript:alert(1))\n\n![data](data:image/png;base64,AAAA)\n");
    ck_assert_contains(m.html, "<img src=\"https://cdn.example.com/a.png\" alt=\"chart\" "
                               "loading=\"lazy\">");
    assert_inert(m.html);
    /* Only the first image survives; a refused one reads as its alt
     * text, escaped (QA: it vanished with it). */
    const char *second = strstr(strstr(m.html, "<img") + 4, "<img");
    ck_assert_ptr_null(second);
    ck_assert_contains(m.html, "<p>bad</p>");
    ck_assert_contains(m.html, "<p>data</p>");
    m = md("![<b>x</b> & y](javascript:alert(1))\n");
    ck_assert_str_eq(m.html, "<p>&lt;b&gt;x&lt;/b&gt; &amp; y</p>\n");
}
END_TEST

START_TEST(summary_is_first_paragraph)
{
    struct sp_markdown m = md("# Title\n\nFirst   *paragraph*\nwraps here.\n\nSecond one.\n");
    ck_assert_str_eq(m.summary, "First paragraph wraps here.");
    ck_assert_contains(m.text, "Second one.");
    ck_assert_lacks(m.text, "*");

    ck_assert_str_eq(md("# Only a heading\n").summary, "");
    ck_assert_str_eq(md("").summary, "");
    ck_assert_str_eq(md("").html, "");
}
END_TEST

START_TEST(summary_is_cut_on_a_code_point)
{
    char in[4000];
    size_t n = 0;
    for (int i = 0; i < 300; i++) {
        memcpy(in + n, "\xc3\xa9", 2);  /* é */
        n += 2;
    }
    in[n] = '\0';
    const char *s = md(in).summary;
    /* One word longer than the room: cut mid-word, the ellipsis counted. */
    ck_assert_uint_eq(sp_utf8_count(s, strlen(s)), SP_MARKDOWN_SUMMARY_MAX);
    ck_assert_str_eq(s + strlen(s) - 3, "\xe2\x80\xa6");
    ck_assert_str_eq(s + strlen(s) - 5, "\xc3\xa9\xe2\x80\xa6");
}
END_TEST

/* The summary of one long word: "a" × as, then tail. */
static const char *
summary_of(size_t as, const char *tail)
{
    char in[4000];
    memset(in, 'a', as);
    snprintf(in + as, sizeof(in) - as, "%s", tail);
    return md(in).summary;
}

/* The summary's text before its ellipsis is "a" × as, then kept. */
static void
assert_summary(const char *s, size_t as, const char *kept)
{
    size_t n = strlen(s), k = strlen(kept);
    ck_assert_msg(n == as + k + 3, "summary of %zu bytes: ...%s", n, n > 40 ? s + n - 40 : s);
    for (size_t i = 0; i < as; i++)
        ck_assert_int_eq(s[i], 'a');
    ck_assert_str_eq(s + as, sp_arena_sprintf(&arena, "%s\xe2\x80\xa6", kept));
}

/* The cut (after 279 code points here) backs off to a grapheme cluster's
 * start: never right before a combining mark, a ZWJ or a variation
 * selector, never after a ZWJ, never inside a regional-indicator pair. */
START_TEST(summary_is_cut_between_grapheme_clusters)
{
#define ACUTE "\xcc\x81"              /* U+0301 */
#define ZWJ "\xe2\x80\x8d"           /* U+200D */
#define MAN "\xf0\x9f\x91\xa8"      /* U+1F468 */
#define WOMAN "\xf0\x9f\x91\xa9"    /* U+1F469 */
#define HEART "\xe2\x9d\xa4"         /* U+2764 */
#define VS16 "\xef\xb8\x8f"          /* U+FE0F */
#define RI_F "\xf0\x9f\x87\xab"     /* regional indicators F, R, D, E */
#define RI_R "\xf0\x9f\x87\xb7"
#define RI_D "\xf0\x9f\x87\xa9"
#define RI_E "\xf0\x9f\x87\xaa"
#define MORE "aaaaaaaaaaaaaaaaaaaa"
    assert_summary(summary_of(278, "e" ACUTE MORE), 278, "");
    assert_summary(summary_of(277, "e" ACUTE ACUTE MORE), 277, "");
    assert_summary(summary_of(278, "e\xe1\xb7\x80" MORE), 278, "");      /* U+1DC0 */
    assert_summary(summary_of(278, "e\xe2\x83\x9d" MORE), 278, "");      /* U+20DD */
    assert_summary(summary_of(278, "e\xef\xb8\xa0" MORE), 278, "");      /* U+FE20 */
    assert_summary(summary_of(278, "e\xe1\xaa\xb0" MORE), 278, "");      /* U+1AB0 */
    assert_summary(summary_of(278, MAN ZWJ WOMAN MORE), 278, "");
    assert_summary(summary_of(277, MAN ZWJ WOMAN MORE), 277, "");
    assert_summary(summary_of(278, HEART VS16 MORE), 278, "");
    assert_summary(summary_of(278, "\xe8\xbe\xba\xf3\xa0\x84\x80" MORE), 278, ""); /* E0100 */
    assert_summary(summary_of(278, RI_F RI_R MORE), 278, "");
    assert_summary(summary_of(276, RI_F RI_R RI_D RI_E MORE), 276, RI_F RI_R);
    assert_summary(summary_of(278, RI_F RI_R RI_D RI_E MORE), 278, "");
    /* QA: marks of other scripts — Thai SARA AM's neighbour U+0E31,
     * Arabic fatha U+064E, Devanagari virama U+094D and vowel sign
     * U+093F, a Hangul vowel jamo U+1161 after its lead U+1100. */
    assert_summary(summary_of(278, "\xe0\xb8\xab\xe0\xb8\xb1" MORE), 278, "");
    assert_summary(summary_of(278, "\xd9\x85\xd9\x8e" MORE), 278, "");
    assert_summary(summary_of(277, "\xe0\xa4\x95\xe0\xa5\x8d\xe0\xa4\xb7" MORE), 277,
                   "");
    assert_summary(summary_of(278, "\xe0\xa4\x95\xe0\xa4\xbf" MORE), 278, "");
    assert_summary(summary_of(278, "\xe1\x84\x80\xe1\x85\xa1" MORE), 278, "");
    /* Whole clusters are kept as they come. */
    assert_summary(summary_of(277, "e" ACUTE MORE), 277, "e" ACUTE);
    assert_summary(summary_of(277, RI_F RI_R RI_D RI_E MORE), 277, RI_F RI_R);
    assert_summary(summary_of(275, RI_F RI_R RI_D RI_E MORE), 275, RI_F RI_R RI_D RI_E);
    /* One cluster over the whole room is cut anyway: not an empty summary. */
    const char *s = summary_of(0, "e" ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE);
    ck_assert_uint_eq(strlen(s), 2 * 9 + 1);  /* untouched: 10 points */
    char zalgo[2000] = "e";
    for (int i = 0; i < 400; i++)
        strcat(zalgo, ACUTE);
    s = summary_of(0, zalgo);
    ck_assert_uint_eq(sp_utf8_count(s, strlen(s)), SP_MARKDOWN_SUMMARY_MAX);
#undef ACUTE
#undef ZWJ
#undef MAN
#undef WOMAN
#undef HEART
#undef VS16
#undef RI_F
#undef RI_R
#undef RI_D
#undef RI_E
#undef MORE
}
END_TEST

/* in repeated times, NUL-terminated, in the test's arena. */
static char *
repeat(const char *in, size_t times, const char *tail)
{
    size_t l = strlen(in), t = strlen(tail);
    char *out = sp_arena_alloc(&arena, l * times + t + 1);
    for (size_t i = 0; i < times; i++)
        memcpy(out + i * l, in, l);
    memcpy(out + l * times, tail, t + 1);
    return out;
}

/* API.md §8: at most 280 characters, spaces counted, the ellipsis that
 * marks a cut included; the cut falls between words. */
START_TEST(summary_counts_spaces_and_cuts_between_words)
{
    const char *s = md(repeat("abcd ", 100, "")).summary;
    ck_assert_uint_le(sp_utf8_count(s, strlen(s)), SP_MARKDOWN_SUMMARY_MAX);
    /* 56 words and their spaces between are 279, the ellipsis the 280th. */
    ck_assert_uint_eq(strlen(s), 56 * 5 - 1 + 3);
    ck_assert_str_eq(s + strlen(s) - 7, "abcd\xe2\x80\xa6");

    s = md(repeat("filler words here. ", 30, "")).summary;
    ck_assert_uint_le(sp_utf8_count(s, strlen(s)), SP_MARKDOWN_SUMMARY_MAX);
    ck_assert_str_eq(s + strlen(s) - 9, " words\xe2\x80\xa6");  /* not "words h…" */

    /* 303 characters: cut; exactly 280: kept whole, no ellipsis. */
    s = md(repeat("x ", 151, "y")).summary;
    ck_assert_uint_eq(sp_utf8_count(s, strlen(s)), SP_MARKDOWN_SUMMARY_MAX);
    ck_assert_str_eq(s + strlen(s) - 6, "x x\xe2\x80\xa6");
    const char *exact = repeat("word ", 55, "wxyzv");
    ck_assert_uint_eq(strlen(exact), SP_MARKDOWN_SUMMARY_MAX);
    ck_assert_str_eq(md(exact).summary, exact);
}
END_TEST

/* Rendering is quadratic in nesting depth (plain text, gumbo), so deep
 * nesting is refused, not rendered: a 100 000-deep list held a worker for
 * minutes. */
START_TEST(deep_nesting_is_refused)
{
    static const char *const deep[][2] = {
        {"- ", "x"}, {">", "x"}, {"1. ", "x"}, {"> - ", "x"}, {"![", "x"}, {"**", "x"},
    };
    for (size_t i = 0; i < sizeof(deep) / sizeof(deep[0]); i++) {
        const char *in = repeat(deep[i][0], 100000, deep[i][1]);
        if (deep[i][0][0] == '!' || deep[i][0][0] == '*')  /* closed as deep as opened */
            in = sp_arena_sprintf(&arena, "%s%s", repeat(deep[i][0], 30000, "x"),
                                  repeat(deep[i][0][0] == '!' ? "](u)" : "**", 30000, ""));
        struct sp_markdown m;
        ck_assert_msg(!sp_markdown_render(&arena, in, strlen(in), &m), "%s... rendered",
                      deep[i][0]);
        ck_assert_str_eq(m.refused, "nests more than 32 levels deep (block quotes, list items,"
                                    " emphasis and links inside each other)");
        ck_assert_str_eq(m.html, "");
        ck_assert_str_eq(m.summary, "");
        ck_assert_str_eq(m.text, "");
    }
    /* 33 quotes are one too many; 32, or 16 lists in 16 quotes, are fine. */
    struct sp_markdown m;
    const char *q33 = repeat(">", 33, "x");
    ck_assert(!sp_markdown_render(&arena, q33, strlen(q33), &m));
    ck_assert_str_eq(md(repeat(">", 32, "x")).summary, "x");
    ck_assert_str_eq(md(repeat("> ", 16, repeat("- ", 16, "x"))).summary, "x");
    ck_assert_contains(md(repeat("- ", 31, "*x*")).html, "<em>x</em>");
}
END_TEST

/* A wide header over many short rows: GFM pads each row to the header's
 * columns, so 12 KB made 4 million cells. */
START_TEST(table_cell_explosion_is_refused)
{
    char *head = sp_arena_sprintf(&arena, "%s\n%s\n", repeat("|a", 1000, "|"),
                                  repeat("|-", 1000, "|"));
    const char *in = sp_arena_sprintf(&arena, "%s%s", head, repeat("a\n", 4000, ""));
    struct sp_markdown m;
    ck_assert(!sp_markdown_render(&arena, in, strlen(in), &m));
    ck_assert_str_eq(m.refused, "has tables of more than 100000 cells (columns \xc3\x97 rows)");
    /* In a quote, too, and with lines ended by a lone \r (cmark's line
     * ending too; 12 KB of them took 36 s). */
    in = sp_arena_sprintf(&arena, "> %s\n> %s\n%s", repeat("|a", 100, "|"),
                          repeat("|-", 100, "|"), repeat("> a\n", 1500, ""));
    ck_assert(!sp_markdown_render(&arena, in, strlen(in), &m));
    in = sp_arena_sprintf(&arena, "%s\r%s\r%s", repeat("|a", 1000, "|"),
                          repeat("|-", 1000, "|"), repeat("a\r", 4000, ""));
    ck_assert(!sp_markdown_render(&arena, in, strlen(in), &m));
    ck_assert_str_eq(m.refused, "has tables of more than 100000 cells (columns \xc3\x97 rows)");
    /* A real table, and many of them, are fine. */
    const char *table = "| a | b | c |\n|---|:-:|--:|\n| 1 | 2 | 3 |\n| 4 | 5 | 6 |\n\n";
    ck_assert_contains(md(table).html, "<td align=\"right\">6</td>");
    md(repeat(table, 2000, ""));
    md(sp_arena_sprintf(&arena, "%s%s", repeat("|a", 10, "|\n"),
                        repeat("|-", 10, repeat("|\n|x", 4000, "|\n"))));
}
END_TEST

/* cmark-gfm 0.29.0.gfm.6 appends each cell of a table's row to a list by
 * walking it, and reads the paragraph before each line that may be a
 * delimiter row again, the whole of it: a row of 60 000 `|\|` (180 KB)
 * took 10 s, one of 45 000 extra cells 4.9 s, 5 000 lines `a|b` each
 * followed by `:-` 9 s. Such markdown is refused before it is parsed. */
START_TEST(quadratic_tables_are_refused)
{
    static const char *const wide =
        "has tables with too many cells (| separators, escaped or not) on their lines";
    static const char *const reread =
        "has long text right before lines like a table's delimiter row (|---| or :-);"
        " put a blank line before each table";
    const char *head = "|a|\n|-|\n";
    const struct {
        const char *in, *why;
    } slow[] = {
        {repeat(head, 1, repeat("|\\|", 60000, "")), wide},
        {repeat(head, 1, repeat("|a", 45000, "")), wide},
        {repeat(head, 1, repeat("|`", 1, repeat("|", 40000, "`|"))), wide},
        {repeat("a\n-\v\n", 1, repeat("|a", 45000, "")), wide},  /* \v: a delimiter row */
        {repeat("|b", 3200, "|\n|-|\n"), wide},  /* a header's cells, read as a paragraph */
        {repeat("a\n", 4000, ":-\n"), reread},
        {repeat("a\r\n", 4000, "-|-\r\n"), reread},
        {repeat("> a\n", 3000, "> |-|\n"), reread},
    };
    for (size_t i = 0; i < sizeof(slow) / sizeof(slow[0]); i++) {
        struct sp_markdown m;
        ck_assert_msg(!sp_markdown_render(&arena, slow[i].in, strlen(slow[i].in), &m),
                      "%zu rendered", i);
        ck_assert_str_eq(m.refused, slow[i].why);
        ck_assert_str_eq(m.html, "");
    }
    const char *pairs = repeat("a|b\n:-\n", 5000, "");
    struct sp_markdown m;
    ck_assert(!sp_markdown_render(&arena, pairs, strlen(pairs), &m));
    /* A wide table (50 columns, 1000 rows), a row of 2000 cells, a long
     * paragraph and a table after a blank line, and delimiter-like
     * separator rows inside a table, render. */
    const char *table =
        sp_arena_sprintf(&arena, "%s%s%s", repeat("| h ", 50, "|\n"), repeat("|:-:", 50, "|\n"),
                         repeat(repeat("|ab", 50, "|\n"), 1000, ""));
    ck_assert_contains(md(table).html, "<td align=\"center\">ab</td>\n</tr>\n</tbody>");
    md(sp_arena_sprintf(&arena, "|a|\n|-|\n%s", repeat("|b", 2000, "|")));
    md(sp_arena_sprintf(&arena, "%s\n|a|b|\n|-|-|\n|1|2|\n", repeat("some words\n", 10000, "")));
    md(sp_arena_sprintf(&arena, "|a|b|\n|-|-|\n%s", repeat("|1|2|\n|3|4|\n|-|-|\n", 100, "")));
}
END_TEST

/* cmark-gfm scans from each place an autolink may start to the end of
 * its word, and back over a paragraph's emphasis delimiters at each link:
 * 10 000 `www.a_b_c_` in one word took 3 s, 20 000 `<http://a` 4.6 s,
 * 25 600 `[a](b) *` 1.2 s. Such markdown is refused before it is parsed. */
START_TEST(rescanned_text_is_refused)
{
    static const struct {
        const char *unit;
        size_t times;
        const char *why;
    } slow[] = {
        {"www.a_b_c_", 10000, "has too many link-like words (www., ://, @) in long words"},
        {"<http://a", 20000, "has too many link-like words (www., ://, @) in long words"},
        {"a@", 100000, "has too many link-like words (www., ://, @) in long words"},
        {"[a](b) *", 25600,
         "has too many links after emphasis marks (*, _, ~) in one paragraph"},
        {"**a** [x](y) ", 8000,
         "has too many links after emphasis marks (*, _, ~) in one paragraph"},
    };
    for (size_t i = 0; i < sizeof(slow) / sizeof(slow[0]); i++) {
        const char *in = repeat(slow[i].unit, slow[i].times, "");
        struct sp_markdown m;
        ck_assert_msg(!sp_markdown_render(&arena, in, strlen(in), &m), "%s rendered",
                      slow[i].unit);
        ck_assert_str_eq(m.refused, slow[i].why);
        ck_assert_str_eq(m.html, "");
        ck_assert_str_eq(m.text, "");
    }
    /* Under the bound, or the same text in words and paragraphs of their
     * own, renders. */
    ck_assert_contains(md(repeat("[a](b) *", 4000, "")).html, "<p>a *a *");  /* b: relative */
    md(repeat("www.a_b_c_", 1000, ""));
    ck_assert_contains(md(repeat("www.a_b_c_ ", 10000, "")).html, "www.a_b_c_ www.a_b_c_");
    ck_assert_contains(md(repeat("<http://a ", 20000, "")).html,
                       "&lt;<a href=\"http://a\" rel=\"nofollow noopener noreferrer\">");
    md(repeat("[a](b) *\n\n", 25600, ""));
}
END_TEST

/* A long article with many links, autolinks, emails and emphasis, and a
 * table with a link and bold text in each of its 2000 rows, renders. */
START_TEST(long_articles_with_many_links_render)
{
    const char *para = "See **the guide** at [Help](https://example.com/help?a=1&b=2), "
                       "_or_ write to support@example.com; https://www.example.org/a/b/c "
                       "and www.example.net/x are ~~gone~~ mirrors.\n\n";
    struct sp_markdown m = md(repeat(para, 1000, ""));
    size_t links = 0;
    for (const char *h = m.html; (h = strstr(h, "<a href=")) != NULL; h++)
        links++;
    ck_assert_uint_eq(links, 4000);
    const char *row = "| **Step** | [open](https://example.com/s) | `x_y` |\n";
    const char *table = sp_arena_sprintf(&arena, "| a | b | c |\n|---|---|---|\n%s",
                                         repeat(row, 2000, ""));
    ck_assert_contains(md(table).html, "<td><strong>Step</strong></td>");
    const char *list = repeat("- https://example.com/very/long/path/to/a/page?with=query"
                              "&and=more#anchor, mail a.b-c@example.co.uk\n", 2000, "");
    ck_assert_contains(md(list).html, "mailto:a.b-c@example.co.uk");
    /* An index of 5000 items, headings between them, each a paragraph of
     * its own: one count per item, not over the whole list. */
    const char *index = repeat("- **Topic**: [page](https://example.com/p) _new_\n", 5000,
                               repeat("## More\n1. [x](https://example.com/x) *y*\n", 2000, ""));
    ck_assert_contains(md(index).html, "<li><strong>Topic</strong>: <a href=");
    /* Lines that do not end a paragraph count on: a quote's lines, an
     * empty item, an item indented as code, seven #'s, an item 2. */
    static const char *const same[] = {"> [a](b) *\n", "[a](b) *\n+\n", "[a](b) *\n    - x\n",
                                       "[a](b) *\n####### x\n", "[a](b) *\n2. x\n"};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        const char *in = repeat(same[i], 10000, "");
        ck_assert_msg(!sp_markdown_render(&arena, in, strlen(in), &m), "%s rendered", same[i]);
    }
}
END_TEST

/* API.md §4 drops the content of script, style, iframe, …: text between
 * such tags in markdown is not shown either (cmark only omits the tags). */
START_TEST(script_content_is_not_text)
{
    struct sp_markdown m = md("Guide <script>alert('x')</script> end\n\nMore.");
    ck_assert_str_eq(m.html, "<p>Guide  end</p>\n<p>More.</p>\n");
    ck_assert_str_eq(m.summary, "Guide end");
    ck_assert_lacks(m.text, "alert");
    m = md("a <STYLE type=x>*b* c</style> d <title>t</title> e <iframe src=x>f</iframe>");
    ck_assert_str_eq(m.summary, "a d e");
    /* Across lines of one paragraph; nested in emphasis. */
    ck_assert_str_eq(md("a <script>\nb\n</script> c").summary, "a c");
    ck_assert_str_eq(md("*a <script>b</script> c*").summary, "a c");
    /* Blocks: a script block is omitted whole by cmark; an iframe block
     * and its closing block drop the paragraphs between them. */
    m = md("x\n\n<script>\nalert(1)\n\n</script>\n\ny");
    ck_assert_lacks(m.text, "alert");
    m = md("x\n\n<iframe src=\"https://a.example\">\n\nhidden\n\n</iframe>\n\ny");
    ck_assert_lacks(m.text, "hidden");
    ck_assert_contains(m.text, "y");
    /* A tag never closed drops nothing but itself; other tags are omitted
     * with their text kept; a closing tag alone is omitted. */
    ck_assert_str_eq(md("Use the <title> element to name a page.").summary,
                     "Use the element to name a page.");
    ck_assert_str_eq(md("a <span>b</span> c </script> d").summary, "a b c d");
    ck_assert_str_eq(md("`<script>x</script>` is code").summary, "<script>x</script> is code");
    /* An unclosed one before a closed pair of another element. */
    ck_assert_str_eq(md("a <title> b <style>c</style> d").summary, "a b d");
}
END_TEST

/* A raw <br> breaks the line (QA: "Call us<br>Mon-Fri" showed and was
 * indexed as "Call usMon-Fri"), in a table cell too, in any of its
 * spellings; the plain text has white space there. Other raw tags stay
 * omitted. */
START_TEST(raw_br_is_a_line_break)
{
    struct sp_markdown m = md("Call us<br>Mon-Fri, <BR/>9-17<br />CET <Br  />now\n\n"
                              "| Day | Hours |\n|---|---|\n| Mon<br>Tue | 9<br/>17 |\n");
    ck_assert_contains(m.html, "<p>Call us<br>\nMon-Fri, <br>\n9-17<br>\nCET <br>\nnow</p>");
    ck_assert_contains(m.html, "<td>Mon<br>Tue</td>\n<td>9<br>17</td>");
    assert_inert(m.html);
    ck_assert_str_eq(m.summary, "Call us Mon-Fri, 9-17 CET now");
    ck_assert_contains(m.text, "Call us\nMon-Fri, \n9-17\nCET \nnow");
    ck_assert_contains(m.text, "Mon Tue 9 17");
    ck_assert_lacks(m.text, "usMon");
    /* Not a br: another tag, a br with attributes, a br in code. */
    m = md("a<bra>b <br class=x>c <brx> `x<br>y`");
    ck_assert_str_eq(m.html, "<p>ab c  <code>x&lt;br&gt;y</code></p>\n");
    ck_assert_str_eq(m.summary, "ab c x<br>y");
    /* The AI's blocks read the same text. */
    struct sp_markdown_block *b;
    size_t n;
    const char *in = "| Day | Hours |\n|---|---|\n| Mon<br>Tue | 9 |\n";
    ck_assert(sp_markdown_blocks(&arena, in, strlen(in), &b, &n));
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(b[1].text, "Mon Tue 9");
}
END_TEST

/* A strikethrough's text is plain text without its tildes (QA: summary
 * "Price was ~100 euros~ now"); the HTML keeps <del>, and a tilde the
 * author wrote stays. */
START_TEST(strikethrough_text_has_no_tildes)
{
    struct sp_markdown m = md("Price was ~~100 euros~~ now ~80, ~~*was*~~ **90**.");
    ck_assert_contains(m.html, "<del>100 euros</del>");
    ck_assert_str_eq(m.summary, "Price was 100 euros now ~80, was 90.");
    ck_assert_str_eq(m.text, "Price was 100 euros now ~80, was 90.\n");
    m = md("| a | b |\n|---|---|\n| ~~old~~ | x |\n");
    ck_assert_contains(m.html, "<td><del>old</del></td>");
    ck_assert_lacks(m.text, "~");
}
END_TEST

/* A table's plain text is its cells' text, a row a line, without pipes
 * or the delimiter row (QA: a table-first article's snippet showed
 * "Step | Detail |\n| --- |"); the summary is still the first paragraph. */
START_TEST(table_text_has_no_pipes)
{
    struct sp_markdown m = md("| Step | Detail |\n| --- | :-: |\n| 1 | Open **the** app |\n"
                              "| 2 | | \n| | a \\| b |\n\nAfter the table.\n");
    ck_assert_str_eq(m.text, "Step Detail\n\n1 Open the app\n\n2 \n\na | b\n\n"
                             "After the table.\n");
    ck_assert_str_eq(m.summary, "After the table.");
    ck_assert_contains(m.html, "<td align=\"center\">Open <strong>the</strong> app</td>");
    m = md("- item\n\n  | a | b |\n  |---|---|\n  | c | d |\n");
    ck_assert_str_eq(m.text, "  - item\n    \n    a b\n    \n    c d\n");
}
END_TEST

START_TEST(raw_html_never_passes)
{
    static const char *const attacks[] = {
        "<script>alert(1)</script>",
        "Hello <img src=x onerror=alert(1)> there",
        "<a href=\"javascript:alert(1)\">x</a>",
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](java&#x09;script:alert(1))",
        "[click](vbscript:msgbox(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "<svg onload=alert(1)><circle/></svg>",
        "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>",
        "<div onclick=\"alert(1)\">x</div>",
        "<iframe src=\"https://evil.example\"></iframe>",
        "<style>body{display:none}</style>",
        "<!-- comment --><p>x</p>",
        "<details open ontoggle=alert(1)>",
        "![x](https://a.example/x.png\" onerror=\"alert(1))",
        "| a |\n|---|\n| <script>alert(1)</script> |",
        "- [x] <img src=x onerror=alert(1)>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        "```\n</code></pre><script>alert(1)</script>\n```",
        "``` \"><script>alert(1)</script>\nx\n```",
        "[a](<javascript:alert(1)>)",
        "<http://example.com/\"onmouseover=\"alert(1)>",
    };
    for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++)
        assert_inert(md(attacks[i]).html);
}
END_TEST

START_TEST(code_fence_language_is_checked)
{
    struct sp_markdown m = md("```c\" onclick=\"x\nint y;\n```\n");
    assert_inert(m.html);
    ck_assert_lacks(m.html, "class=");
    m = md("```js\nlet y;\n```\n");
    ck_assert_contains(m.html, "<code class=\"language-js\">");
}
END_TEST

START_TEST(tel_links_keep_a_phone_number)
{
    struct sp_markdown m = md("Call [our hotline](tel:+15551234) or "
                              "[the desk](<tel:+1 (555) 123-4567>), "
                              "not [this](tel:javascript:x).\n");
    ck_assert_contains(m.html, "<a href=\"tel:+15551234\" rel=\"nofollow noopener noreferrer\">"
                               "our hotline</a>");
    ck_assert_contains(m.html, "<a href=\"tel:+1%20(555)%20123-4567\"");
    ck_assert_contains(m.html, "not this.");
    ck_assert_lacks(m.html, "javascript");
    assert_inert(m.html);
}
END_TEST

START_TEST(message_profile_is_unchanged)
{
    /* The article allowlist must not widen what messages keep (the
     * unwrapped blocks keep their line breaks, sanitize.c). */
    const char *in = "<h1>t</h1><table><tr><td>x</td></tr></table><hr>"
                     "<img src=\"https://a.example/i.png\"><code class=\"language-c\">y</code>";
    char *out = sp_sanitize_html(&arena, in, strlen(in), NULL, NULL);
    ck_assert_str_eq(out, "t<br>x<br><code>y</code>");
}
END_TEST

/* A raw HTML block's text is kept, its tags omitted (QA: cmark omits the
 * whole block, to the next blank line, so "<p>Step 2</p>" and the
 * markdown after it vanished from the page, the summary, the text and
 * the AI's blocks); the content of script, style, textarea, … still goes. */
START_TEST(html_block_keeps_its_text)
{
    struct sp_markdown m =
        md("Step 1: open the app.\n<p>Step 2: tap Refund.</p>\nStep 3: confirm.");
    ck_assert_str_eq(m.html, "<p>Step 1: open the app.</p>\n"
                             "<p>Step 2: tap Refund.<br>\nStep 3: confirm.</p>\n");
    ck_assert_str_eq(m.text, "Step 1: open the app.\n\nStep 2: tap Refund.\nStep 3: confirm.\n");
    m = md("<div>Important: refunds take 5 days</div>");
    ck_assert_str_eq(m.html, "<p>Important: refunds take 5 days</p>\n");
    ck_assert_str_eq(m.summary, "Important: refunds take 5 days");
    ck_assert_str_eq(m.text, "Important: refunds take 5 days\n");
    m = md("<table><tr><th>Plan</th><th>Days</th></tr>\n<tr><td>Basic</td><td>5</td></tr>"
           "</table>\n\nAfter.");
    ck_assert_str_eq(m.html, "<p>Plan Days<br>\nBasic 5</p>\n<p>After.</p>\n");
    m = md("Before\n\n<hr>\nAfter rule");
    ck_assert_str_eq(m.html, "<p>Before</p>\n<p>After rule</p>\n");
    /* Entities decoded, then escaped again; markdown inside is text. */
    m = md("<div>Fish &amp; chips &lt;b&gt; *not em* &#x41;</div>");
    ck_assert_str_eq(m.html, "<p>Fish &amp; chips &lt;b&gt; *not em* A</p>\n");
    ck_assert_str_eq(m.summary, "Fish & chips <b> *not em* A");
    /* A block in a list item; a comment alone is nothing. */
    m = md("- <div>in item</div>\n- <!-- note -->\n- last");
    ck_assert_contains(m.text, "in item");
    ck_assert_contains(m.text, "last");
    ck_assert_lacks(m.text, "note");
    ck_assert_str_eq(md("<!-- draft -->\n\nText").html, "<p>Text</p>\n");
    /* Dropped with their content, in the block and across blocks. */
    static const char *const gone[] = {
        "<script>\nalert(1)\n</script>\nkept",
        "<div>kept<style>p{color:red}</style></div>",
        "<div>kept <textarea>hidden</textarea></div>",
        "<div><TEXTAREA rows=2>hidden</TEXTAREA >kept</div>",
        "<div><xmp>hidden</xmp><noembed>hidden</noembed><noframes>hidden</noframes>kept</div>",
        "<div><iframe>hidden</iframe><title>hidden</title><template>hidden</template>kept</div>",
        "<div><object>hidden</object><applet>hidden</applet>kept</div>",
        "<textarea>\nhidden\n\nhidden\n\n</textarea>\n\nkept",
    };
    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
        m = md(gone[i]);
        ck_assert_msg(strstr(m.text, "hidden") == NULL && strstr(m.text, "alert") == NULL &&
                          strstr(m.text, "color") == NULL, "%s: %s", gone[i], m.text);
        ck_assert_msg(strstr(m.text, "kept") != NULL, "%s: %s", gone[i], m.text);
        assert_inert(m.html);
    }
    /* What the HTML hides is not shown. */
    m = md("<div hidden>Internal note</div>\n\n<p>Shown <span hidden>not</span></p>");
    ck_assert_str_eq(m.html, "<p>Shown</p>\n");
    /* A link's target follows its text; an unsafe one does not. */
    m = md("<div><a href=\"https://a.example/x\">Docs</a> <a href=\"javascript:x()\">y</a></div>");
    ck_assert_str_eq(m.summary, "Docs <https://a.example/x> y");
    ck_assert_lacks(m.html, "href");
    /* The AI's blocks hold the same text. */
    struct sp_markdown_block *b;
    size_t n;
    const char *in = "Intro\n\n<div>Refunds take 5 days</div>";
    ck_assert(sp_markdown_blocks(&arena, in, strlen(in), &b, &n));
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(b[1].text, "Refunds take 5 days");
}
END_TEST

/* What an HTML block's markup hides stays hidden: the page, the summary,
 * search and the AI's passages published "Internal only: … ZETA-1234"
 * from a display:none div, a closed <dialog>'s draft and a <datalist>'s
 * options (QA). */
START_TEST(html_block_keeps_hidden_what_it_hides)
{
    const char *in = "<div style=\"display:none\">Internal only: refund code ZETA-1234</div>\n"
                     "<dialog>Draft note</dialog>\n"
                     "<datalist id=c><option>ZETA-1234</option></datalist>\n"
                     "<p style=\"Visibility: HIDDEN !important\">ZETA-1234</p>\n"
                     "<p>Public text</p>\n\nAfter.";
    struct sp_markdown m = md(in);
    ck_assert_str_eq(m.html, "<p>Public text</p>\n<p>After.</p>\n");
    ck_assert_lacks(m.text, "ZETA");
    ck_assert_lacks(m.text, "Draft");
    struct sp_markdown_block *b;
    size_t n;
    ck_assert(sp_markdown_blocks(&arena, in, strlen(in), &b, &n));
    for (size_t i = 0; i < n; i++)
        ck_assert_lacks(b[i].text, "ZETA");
}
END_TEST

/* An HTML block's words stay apart, an image says its alt text and a
 * <pre> block keeps its white space (QA: "ShippingRefunds take 5 days",
 * "VisaMastercard", the diagram's alt gone, the indentation lost). */
START_TEST(html_block_text_reads_as_rendered)
{
    struct sp_markdown m =
        md("<details><summary>Shipping</summary>Refunds take 5 days</details>");
    ck_assert_str_eq(m.html, "<p>Shipping<br>\nRefunds take 5 days</p>\n");
    m = md("<form><select><option>Visa</option><option>Mastercard</option></select></form>");
    ck_assert_str_eq(m.text, "Visa\nMastercard\n");
    m = md("<div><img src=\"https://x.example/a.png\" alt=\"Refund flow diagram\"></div>");
    ck_assert_str_eq(m.html, "<p>Refund flow diagram</p>\n");
    m = md("<pre>\nsteps:\n  1. open\n\n    2. tap &lt;Refund&gt;\n</pre>\n\nAfter.");
    ck_assert_str_eq(m.html, "<pre><code>steps:\n  1. open\n\n    2. tap &lt;Refund&gt;\n"
                             "</code></pre>\n<p>After.</p>\n");
    ck_assert_contains(m.text, "  1. open\n\n    2. tap <Refund>");
    ck_assert_str_eq(md("<pre><script>x</script></pre>\n\nAfter.").html, "<p>After.</p>\n");
}
END_TEST

/* gumbo 0.10.1 aborts on text after a CDATA section in <math>/<svg>
 * inside a <table> (google/gumbo-parser#301): an article with such an
 * HTML block killed the worker that saved it and every
 * knowledge-embedding-sync pass (QA). */
START_TEST(html_block_cdata_does_not_abort)
{
    static const char *const in[] = {
        "<table><math><mi><![CDATA[y]]>x</mi></math></table>\n\nAfter.",
        "<table><svg><desc><![CDATA[y]]>x\n\nAfter.",
        "Text <table><math><mtext><![CDATA[y]]>x\n\nAfter.",
        "<div><table><svg><foreignObject><![CDATA[y]]>x</div>\n\nAfter.",
        "<table><math><annotation-xml encoding=text/html><![CDATA[y]]>x\n\nAfter.",
    };
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        struct sp_markdown m = md(in[i]);
        ck_assert_contains(m.text, "After.");
        ck_assert_lacks(m.text, "CDATA");
        struct sp_markdown_block *b;
        size_t n;
        ck_assert(sp_markdown_blocks(&arena, in[i], strlen(in[i]), &b, &n));
    }
}
END_TEST

/* XSS written in a raw HTML block is text, escaped: no tag or attribute
 * of it reaches the HTML. */
START_TEST(html_block_xss_stays_inert)
{
    static const char *const in[] = {
        "<div><img src=x onerror=alert(1)>pic</div>",
        "<div>&lt;script&gt;alert(1)&lt;/script&gt;</div>",
        "<div><svg><script>alert(1)</script><a xlink:href=javascript:x>s</a></svg></div>",
        "<div onclick=alert(1)><a href=\"javascript:alert(1)\">j</a></div>",
        "<table><tr><td>&#60;iframe src=javascript:x&#62;</td></tr></table>",
        "<div><textarea></div><script>alert(1)</script></textarea></div>",
    };
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        struct sp_markdown m = md(in[i]);
        assert_inert(m.html);
        ck_assert_lacks(m.html, "<script");
        ck_assert_lacks(m.html, "<iframe");
        ck_assert_lacks(m.html, "onerror=");
    }
    ck_assert_str_eq(md(in[1]).html, "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n");
}
END_TEST

START_TEST(xss_corpus_stays_inert)
{
    const char *dir = getenv("SP_FIXTURES_DIR");
    char path[1024];
    snprintf(path, sizeof(path), "%s/xss-corpus.txt", dir ? dir : "t/fixtures");
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char line[8192];
    int n = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        assert_inert(md(line).html);
        /* And as a raw HTML block's content (html_block_keeps_its_text). */
        char block[8300];
        snprintf(block, sizeof(block), "<div>%s</div>", line);
        assert_inert(md(block).html);
        n++;
    }
    fclose(f);
    ck_assert_int_gt(n, 50);
}
END_TEST

static Suite *
markdown_suite(void)
{
    Suite *s = suite_create("markdown");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, renders_gfm);
    tcase_add_test(tc, images_keep_only_http_sources);
    tcase_add_test(tc, summary_is_first_paragraph);
    tcase_add_test(tc, summary_is_cut_on_a_code_point);
    tcase_add_test(tc, summary_is_cut_between_grapheme_clusters);
    tcase_add_test(tc, summary_counts_spaces_and_cuts_between_words);
    tcase_add_test(tc, deep_nesting_is_refused);
    tcase_add_test(tc, table_cell_explosion_is_refused);
    tcase_add_test(tc, rescanned_text_is_refused);
    tcase_add_test(tc, quadratic_tables_are_refused);
    tcase_add_test(tc, long_articles_with_many_links_render);
    tcase_add_test(tc, script_content_is_not_text);
    tcase_add_test(tc, raw_html_never_passes);
    tcase_add_test(tc, code_fence_language_is_checked);
    tcase_add_test(tc, tel_links_keep_a_phone_number);
    tcase_add_test(tc, message_profile_is_unchanged);
    tcase_add_test(tc, xss_corpus_stays_inert);
    tcase_add_test(tc, dropped_links_are_named_once_each);
    tcase_add_test(tc, raw_br_is_a_line_break);
    tcase_add_test(tc, strikethrough_text_has_no_tildes);
    tcase_add_test(tc, table_text_has_no_pipes);
    tcase_add_test(tc, html_block_keeps_its_text);
    tcase_add_test(tc, html_block_keeps_hidden_what_it_hides);
    tcase_add_test(tc, html_block_text_reads_as_rendered);
    tcase_add_test(tc, html_block_cdata_does_not_abort);
    tcase_add_test(tc, html_block_xss_stays_inert);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(markdown_suite());
}
