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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/ascii.h"
#include "core/buf.h"
#include "core/mail_html.h"
#include "core/sanitize.h"
#include "core/utf8.h"

/* GFM as API.md §8 lists it. Raw HTML is never passed through (cmark's
 * default without CMARK_OPT_UNSAFE also drops javascript:, vbscript:,
 * file: and most data: URLs); the sanitizer checks again. */
static const char *const extensions[] = {"table", "strikethrough", "autolink", "tasklist"};
#define OPTIONS (CMARK_OPT_VALIDATE_UTF8 | CMARK_OPT_STRIKETHROUGH_DOUBLE_TILDE)
/* The blocks' text: a soft line break is the space a reader sees. */
#define BLOCK_OPTIONS (OPTIONS | CMARK_OPT_NOBREAKS)

/* A raw <br> where cmark allows no line break (keep_raw_breaks): the
 * record separator, a control character no text keeps (plain()); one
 * the author wrote is a line break too. */
#define BREAK_MARK "\x1e"

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

/* cmark's HTML with each BREAK_MARK a <br> (the sanitizer keeps it). */
static const char *
with_breaks(struct sp_arena *a, const char *html)
{
    if (strchr(html, BREAK_MARK[0]) == NULL)
        return html;
    struct sp_buf b;
    sp_buf_init(&b, a, strlen(html) + 64);
    for (const char *p = html, *m; *p != '\0'; p = m + 1) {
        if ((m = strchr(p, BREAK_MARK[0])) == NULL) {
            sp_buf_puts(&b, p);
            break;
        }
        sp_buf_append(&b, p, (size_t)(m - p));
        sp_buf_puts(&b, "<br>");
    }
    return b.data;
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* A code point that never starts a grapheme cluster (UAX #29's Extend
 * and ZWJ, the ones text here meets): combining marks, ZWNJ/ZWJ,
 * variation selectors, emoji skin tones and the tags of subdivision
 * flags. A cut right before one would leave it, or the emoji it joins,
 * cut off from its base. */
static const struct sp_cp_range joining[] = {
    {0x300, 0x36f},   {0x483, 0x489},   {0x591, 0x5bd},   {0x5bf, 0x5bf},
    {0x5c1, 0x5c2},   {0x5c4, 0x5c5},   {0x5c7, 0x5c7},   {0x610, 0x61a},
    {0x64b, 0x65f},   {0x670, 0x670},   {0x6d6, 0x6dc},   {0x6df, 0x6e4},
    {0x6e7, 0x6e8},   {0x6ea, 0x6ed},   {0x900, 0x903},   {0x93a, 0x93c},
    {0x93e, 0x94f},   {0x951, 0x957},   {0x962, 0x963},   {0x981, 0x983},
    {0x9bc, 0x9bc},   {0x9be, 0x9cd},   {0x9d7, 0x9d7},   {0x9e2, 0x9e3},
    {0xe31, 0xe31},   {0xe34, 0xe3a},   {0xe47, 0xe4e},   {0xeb1, 0xeb1},
    {0xeb4, 0xebc},   {0xec8, 0xece},   {0x1160, 0x11ff}, {0x1ab0, 0x1aff},
    {0x1dc0, 0x1dff}, {0x200c, 0x200d}, {0x20d0, 0x20ff}, {0xfe00, 0xfe0f},
    {0xfe20, 0xfe2f}, {0x1f3fb, 0x1f3ff}, {0xe0020, 0xe007f}, {0xe0100, 0xe01ef},
};

/* Also the marks of the scripts text here meets most (QA: Thai, Arabic
 * harakat, Devanagari and Bengali signs and viramas, Hebrew points,
 * Lao) and the vowel and final jamo of decomposed Hangul: UAX #29's
 * Extend and SpacingMark there, and V/T after L. */
static bool
joins_previous(uint32_t cp)
{
    return sp_utf8_in_ranges(cp, joining, sizeof(joining) / sizeof(joining[0]));
}

static bool
regional_indicator(uint32_t cp)
{
    return cp >= 0x1f1e6 && cp <= 0x1f1ff;
}

/* The viramas of the Indic scripts (Devanagari to Malayalam): the
 * consonant after one is the same cluster (UAX #29 GB9c, a conjunct such
 * as क्ष). */
static bool
virama(uint32_t cp)
{
    return cp >= 0x94d && cp <= 0xd4d && (cp & 0x7f) == 0x4d;
}

/* Whether a cut at s[at] (0 < at < n) falls inside a grapheme cluster:
 * before a code point that joins the previous one, after a ZWJ (the
 * emoji it joins follows) or a virama, or between the two regional
 * indicators of a flag (they pair from the start of their run). */
static bool
inside_cluster(const char *s, size_t n, size_t at)
{
    size_t l, p = sp_utf8_prev(s, at);
    uint32_t next = sp_utf8_decode(s + at, n - at, &l);
    uint32_t prev = sp_utf8_decode(s + p, at - p, &l);
    if (joins_previous(next) || prev == 0x200d || virama(prev))
        return true;
    if (!regional_indicator(next) || !regional_indicator(prev))
        return false;
    size_t run = 0;
    for (size_t i = at, q; i > 0; i = q, run++) {
        q = sp_utf8_prev(s, i);
        if (!regional_indicator(sp_utf8_decode(s + q, i - q, &l)))
            break;
    }
    return run % 2 == 1;
}

/* Where to cut s (n bytes, more than max code points) so that it and an
 * ellipsis make max code points: after the last whole word that fits, or
 * mid-word when that word is over half of the room, backed off to the
 * start of a grapheme cluster (an accent is not cut from its letter, a
 * flag or an emoji sequence is not split) unless the cluster is the
 * whole room (a base under hundreds of marks is cut anyway). */
static size_t
summary_cut(const char *s, size_t n, size_t max)
{
    size_t at = 0;
    for (size_t points = 0; points + 1 < max && at < n; points++) {
        size_t l = sp_utf8_seq_len(s + at, n - at);
        at += l == 0 ? 1 : l;
    }
    size_t cut = at;
    if (at < n && s[at] != ' ')
        while (cut > 0 && s[cut - 1] != ' ')
            cut--;
    if (cut < at / 2) {
        cut = at;
        while (cut > 0 && cut < n && inside_cluster(s, n, cut))
            cut = sp_utf8_prev(s, cut);
        if (cut == 0)
            cut = at;
    }
    while (cut > 0 && s[cut - 1] == ' ')
        cut--;
    return cut;
}

/* s with runs of whitespace made one space and trimmed; over max code
 * points it is cut (summary_cut) and ends in "…", the max including it. */
static const char *
collapse(struct sp_arena *a, const char *s, size_t max)
{
    struct sp_buf b;
    size_t n = strlen(s), points = 0;
    sp_buf_init(&b, a, n + 4);
    for (size_t i = 0; i < n;) {
        if (is_space(s[i])) {
            while (i < n && is_space(s[i]))
                i++;
            if (b.len > 0 && i < n) {
                sp_buf_putc(&b, ' ');
                points++;
            }
            continue;
        }
        size_t l = sp_utf8_seq_len(s + i, n - i);
        l = l == 0 ? 1 : l;  /* plain() already replaced bad bytes */
        sp_buf_append(&b, s + i, l);
        points++;
        i += l;
    }
    if (points <= max)
        return b.data;
    b.len = summary_cut(b.data, b.len, max);
    b.data[b.len] = '\0';
    sp_buf_puts(&b, "\xe2\x80\xa6");  /* … */
    return b.data;
}

const char *
sp_text_excerpt(struct sp_arena *a, const char *s, size_t max)
{
    return collapse(a, s, max);
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

/* --- what is refused before rendering -------------------------------------- */

/* What SP_MARKDOWN_MAX_RESCANS bounds, over-estimated in one pass. */
struct rescans {
    unsigned long long autolink;  /* Σ over words: link starts × length */
    unsigned long long emphasis;  /* Σ over `]`: delimiter runs before it */
};

static bool
is_word_end(char c)
{
    return is_space(c) || c == '\f' || c == '\v';
}

/* Where the autolink extension starts a scan to the word's end: a URL's
 * `://`, `www.` and an email's `@`. */
static bool
link_start(const char *s, size_t n)
{
    return (n >= 3 && memcmp(s, "://", 3) == 0) || (n >= 4 && memcmp(s, "www.", 4) == 0) ||
           s[0] == '@';
}

/* Whether the line at s (n bytes) surely ends the paragraph before it,
 * wherever it is: a non-empty bullet item or item 1 (CommonMark: the
 * list items that interrupt a paragraph), or an ATX heading. Not a `>`
 * line: the lines of a quote are one paragraph. */
static bool
ends_paragraph(const char *s, size_t n)
{
    size_t i = 0, k = 0;
    while (i < n && i < 3 && s[i] == ' ')
        i++;
    if (i < n && (s[i] == '-' || s[i] == '*' || s[i] == '+'))
        k = i + 1;
    else if (i + 1 < n && s[i] == '1' && (s[i + 1] == '.' || s[i + 1] == ')'))
        k = i + 2;
    if (k > 0 && k < n && (s[k] == ' ' || s[k] == '\t')) {
        while (k < n && (s[k] == ' ' || s[k] == '\t'))
            k++;
        return k < n && s[k] != '\n' && s[k] != '\r';
    }
    for (k = i; k < n && k - i < 7 && s[k] == '#';)
        k++;
    return k > i && k - i <= 6 && (k == n || s[k] == ' ' || s[k] == '\t' || s[k] == '\r' ||
                                   s[k] == '\n');
}

static void
count_rescans(const char *md, size_t len, struct rescans *r)
{
    unsigned long long starts = 0, runs = 0;
    size_t word = 0;
    bool blank = true;  /* the line so far */
    *r = (struct rescans){0, 0};
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? md[i] : '\n';
        if (is_word_end(c)) {
            r->autolink += starts * (i - word);
            starts = 0;
            word = i + 1;
            if (c == '\n') {
                /* a blank line ends a paragraph, and so do some lines */
                if (blank || (i < len && ends_paragraph(md + i + 1, len - i - 1)))
                    runs = 0;
                blank = true;
            }
            continue;
        }
        blank = false;
        starts += link_start(md + i, len - i);
        if ((c == '*' || c == '_' || c == '~') && (i == 0 || md[i - 1] != c))
            runs++;
        else if (c == ']')
            r->emphasis += runs;
    }
}

/* The columns of a line that may be a table's delimiter row: cells of
 * `-`, each maybe between `:`s, between `|`s ("|---|:-:|", ":-"), maybe
 * quoted or indented; 0 for any other line. A line of `-`, spaces and
 * tabs alone is not one: cmark takes it for a setext underline, a
 * thematic break or a list item first (with a \v or \f, which only the
 * table scanner reads as space, "-\v" is one). An over-estimate is
 * fine: this only bounds work. */
static unsigned long long
delimiter_columns(const char *s, size_t n)
{
    unsigned long long pipes = 0;
    bool dash = false, other = false;
    size_t first = n, last = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '|' || s[i] == '-' || s[i] == ':') {
            pipes += s[i] == '|';
            dash |= s[i] == '-';
            other |= s[i] != '-';
            first = first < n ? first : i;
            last = i;
        } else if (s[i] == '\v' || s[i] == '\f') {
            other = true;
        } else if (s[i] != '>' && s[i] != ' ' && s[i] != '\t') {
            return 0;
        }
    }
    if (!dash || !other)
        return 0;
    /* a leading and a trailing pipe make no cell */
    return pipes + 1 - (s[first] == '|') - (s[last] == '|' && last != first);
}

/* What the table extension of cmark-gfm 0.29.0.gfm.6 does, counted per
 * line (markdown.h): the cells its tables hold, and its steps. */
struct table_count {
    unsigned long long cells;  /* SP_MARKDOWN_MAX_TABLE_CELLS */
    unsigned long long rows;   /* row work, SP_MARKDOWN_MAX_RESCANS */
    unsigned long long reread; /* paragraphs read again as headers, the same */
};

/* A run of non-blank lines (a table, and the paragraph a table starts
 * from, never cross a blank line): its delimiter-like lines j of k
 * columns (Σk, Σk·j, Σk², Σk²·j), whether one was seen, and the
 * paragraph that ends at the current line as cmark would read it again
 * as a header: since the last line that surely ends a paragraph. */
struct table_run {
    unsigned long long sum_k, sum_kj, sum_k2, sum_k2j;
    unsigned long long para_cells2, para_text;
    size_t mark;  /* just after its last `|`, or its start */
    bool table;
};

/* A cell read from a header candidate costs about this many steps (two
 * allocations, a copy, the scanners): 100 ns. */
#define CELL_STEPS 32ULL

/* The run ends before line b (a blank line, or the end): each
 * delimiter-like line j of k columns held at most k × (b - j) cells (its
 * header and rows: GFM pads each row to the header's k), and the HTML
 * renderer found each cell's column by walking its row from the start,
 * k² / 2 steps a row. */
static void
close_run(struct table_count *c, struct table_run *r, unsigned long long b, size_t next)
{
    c->cells += b * r->sum_k - r->sum_kj;
    c->rows += (b * r->sum_k2 - r->sum_k2j) / 2;
    *r = (struct table_run){.mark = next};
}

/* Line number line, md[at..at+n), of a run. cmark reads a row's cells
 * into a linked list, walking it for each (cells² / 2 steps, and each row
 * is read twice); every line from a delimiter-like line on may be a row,
 * and cells are counted by `|`, escaped or not (`\|` is a cell's text:
 * an over-estimate). At each delimiter-like line it reads the whole
 * paragraph before it again as a header, not once per paragraph (the
 * upstream fix, a "visited" flag, came after 0.29.0.gfm.6): its bytes,
 * its cells, and from each line's start, when the line does not start
 * with `|` (counted for every line), back to the last `|` before it. */
static void
count_line(struct table_count *c, struct table_run *r, const char *md, size_t at, size_t n,
           unsigned long long line)
{
    const char *s = md + at;
    const char *pipe = NULL;
    unsigned long long cells = 1;
    for (const char *p = s; (p = memchr(p, '|', n - (size_t)(p - s))) != NULL; pipe = p++)
        cells++;
    unsigned long long k = delimiter_columns(s, n);
    if (k > 0) {
        c->reread += r->para_text;
        c->rows += r->para_cells2;
        r->table = true;
        r->sum_k += k;
        r->sum_kj += k * line;
        r->sum_k2 += k * k;
        r->sum_k2j += k * k * line;
    }
    if (r->table)
        c->rows += cells * cells;
    if (ends_paragraph(s, n)) {
        r->para_cells2 = r->para_text = 0;
        r->mark = at;
    }
    r->para_cells2 += cells * cells;
    r->para_text += n + (at - r->mark) + CELL_STEPS * cells;
    if (pipe != NULL)
        r->mark = (size_t)(pipe - md) + 1;
}

/* The end of the line at md[i] and where the next one starts: cmark ends
 * a line at "\n", "\r\n" or a lone "\r". */
static size_t
line_end(const char *md, size_t len, size_t i, size_t *next)
{
    while (i < len && md[i] != '\n' && md[i] != '\r')
        i++;
    *next = i + 1 + (i + 1 < len && md[i] == '\r' && md[i + 1] == '\n');
    return i;
}

/* Counts the tables of md in one pass (the Σ above make each run's
 * cells and row walks b·Σk − Σk·j without going back over it). A blank
 * line is one of spaces and tabs (cmark's). */
static void
count_tables(const char *md, size_t len, struct table_count *c)
{
    struct table_run r = {0};
    unsigned long long line = 0;
    *c = (struct table_count){0, 0, 0};
    for (size_t i = 0, next; i < len; i = next, line++) {
        size_t end = line_end(md, len, i, &next);
        if (sp_ascii_only(md + i, end - i, " \t"))
            close_run(c, &r, line, next);
        else
            count_line(c, &r, md, i, end - i, line);
    }
    close_run(c, &r, line, len);
}

/* Nesting counted as SP_MARKDOWN_MAX_NESTING says: block quotes, list
 * items and inline markup with content. */
static bool
nests(cmark_node *n)
{
    cmark_node_type t = cmark_node_get_type(n);
    if (t == CMARK_NODE_BLOCK_QUOTE || t == CMARK_NODE_ITEM)
        return true;
    return (t & CMARK_NODE_TYPE_MASK) == CMARK_NODE_TYPE_INLINE &&
           cmark_node_first_child(n) != NULL;
}

/* --- raw HTML whose content is not shown -------------------------------------- */

/* The elements whose content the sanitizer drops (core/sanitize.c), less
 * the void embed: their raw HTML is omitted by cmark, but the markdown
 * between an opening and a closing tag would still be text. */
static const char *const dropped[] = {"script", "style",    "iframe", "object", "applet",
                                      "template", "textarea", "title",  "xmp",    "noembed",
                                      "noframes"};
#define NDROPPED (sizeof(dropped) / sizeof(dropped[0]))

/* The index in dropped[] of the element a raw HTML node opens (close
 * false) or closes (close true), or -1. */
static int
raw_tag(cmark_node *n, bool close)
{
    cmark_node_type t = cmark_node_get_type(n);
    if (t != CMARK_NODE_HTML_INLINE && t != CMARK_NODE_HTML_BLOCK)
        return -1;
    const char *s = cmark_node_get_literal(n);
    s += s ? strspn(s, " \t") : 0;
    if (s == NULL || s[0] != '<' || (s[1] == '/') != close)
        return -1;
    s += close ? 2 : 1;
    for (size_t i = 0; i < NDROPPED; i++) {
        size_t l = strlen(dropped[i]);
        if (strncasecmp(s, dropped[i], l) == 0 && s[l] != '\0' && strchr(" \t\r\n/>", s[l]))
            return (int)i;
    }
    return -1;
}

/* Drops the siblings between each raw opening tag of dropped[] among
 * parent's children and the next closing one of the same element (a tag
 * never closed drops nothing: cmark omits just the tag). One pass: the
 * first still open tag of each element is remembered with its order. */
static void
drop_raw_content(cmark_node *parent)
{
    cmark_node *open[NDROPPED] = {0};
    size_t order[NDROPPED] = {0}, k = 0;
    for (cmark_node *c = cmark_node_first_child(parent); c != NULL; c = cmark_node_next(c), k++) {
        int i = raw_tag(c, true);
        if (i >= 0 && open[i] != NULL) {
            while (cmark_node_next(open[i]) != c) {
                cmark_node *gone = cmark_node_next(open[i]);
                cmark_node_unlink(gone);
                cmark_node_free(gone);
            }
            for (size_t j = 0; j < NDROPPED; j++)
                if (open[j] != NULL && order[j] > order[i])
                    open[j] = NULL;
            open[i] = NULL;
        } else if ((i = raw_tag(c, false)) >= 0 && open[i] == NULL &&
                   strstr(cmark_node_get_literal(c), "</") == NULL) {
            open[i] = c;
            order[i] = k;
        }
    }
}

/* Whether raw inline HTML n is a line break: <br>, <br/> or <br />, in
 * any case. */
static bool
raw_break(cmark_node *n)
{
    if (cmark_node_get_type(n) != CMARK_NODE_HTML_INLINE)
        return false;
    const char *s = cmark_node_get_literal(n);
    if (s == NULL || strncasecmp(s, "<br", 3) != 0)
        return false;
    s += 3;
    s += strspn(s, " \t\r\n");
    s += *s == '/';
    return strcmp(s, ">") == 0;
}

/* Makes each raw <br> among parent's children a hard line break, the
 * element the sanitizer keeps: cmark omits raw HTML, and "Call us<br>Mon"
 * (a common way to break a line, in table cells above all) was shown and
 * indexed as "Call usMon". The plain text has a newline there. A table
 * cell may hold no line break (cmark-gfm's table extension refuses one,
 * though its renderer writes it as any): there the break is the text
 * BREAK_MARK, which the HTML gets as <br> (with_breaks) and the plain
 * text as a space (plain(): a control character). */
static void
keep_raw_breaks(cmark_node *parent)
{
    for (cmark_node *c = cmark_node_first_child(parent), *next; c != NULL; c = next) {
        next = cmark_node_next(c);
        if (!raw_break(c))
            continue;
        cmark_node *br = cmark_node_new(CMARK_NODE_LINEBREAK);
        if (!cmark_node_replace(c, br)) {
            cmark_node_free(br);
            br = cmark_node_new(CMARK_NODE_TEXT);
            cmark_node_set_literal(br, BREAK_MARK);
            cmark_node_replace(c, br);
        }
        cmark_node_free(c);
    }
}

/* --- raw HTML blocks as the text a reader sees --------------------------------- */

/* The elements of dropped[] whose content sp_mail_html_read keeps as
 * text (it drops script, style, title, iframe, object, applet and
 * template with theirs): their tags are read as <script> there. */
static const char *const kept_by_mail_html[] = {"textarea", "xmp", "noembed", "noframes"};

/* html with each opening and closing tag of kept_by_mail_html a
 * script's. A name inside a comment or an attribute value is renamed
 * too: neither is ever text, so nothing a reader sees is lost. */
static const char *
as_script(struct sp_arena *a, const char *html)
{
    size_t n = sizeof(kept_by_mail_html) / sizeof(kept_by_mail_html[0]);
    struct sp_buf b;
    sp_buf_init(&b, a, strlen(html) + 16);
    for (const char *p = html; *p != '\0';) {
        const char *name = p + 1 + (p[0] == '<' && p[1] == '/');
        size_t i = 0, l = 0;
        if (p[0] == '<')
            for (; i < n; i++) {
                l = strlen(kept_by_mail_html[i]);
                if (strncasecmp(name, kept_by_mail_html[i], l) == 0 &&
                    strchr(" \t\r\n\f/>", name[l]) != NULL)
                    break;
            }
        if (p[0] != '<' || i == n) {
            sp_buf_putc(&b, *p++);
            continue;
        }
        sp_buf_append(&b, p, (size_t)(name - p));
        sp_buf_puts(&b, "script");
        p = name + l;
    }
    return b.data;
}

/* The text of an HTML block as a paragraph of its lines, hard line
 * breaks between them; NULL when it has none. */
static cmark_node *
text_paragraph(struct sp_arena *a, const char *text)
{
    cmark_node *para = cmark_node_new(CMARK_NODE_PARAGRAPH);
    for (const char *p = text, *e; *p != '\0'; p = *e == '\n' ? e + 1 : e) {
        e = p + strcspn(p, "\n");
        const char *s = p, *end = e;
        sp_ascii_trim(&s, &end);
        if (s == end)
            continue;
        if (cmark_node_first_child(para) != NULL)
            cmark_node_append_child(para, cmark_node_new(CMARK_NODE_LINEBREAK));
        cmark_node *t = cmark_node_new(CMARK_NODE_TEXT);
        cmark_node_set_literal(t, sp_arena_strndup(a, s, (size_t)(end - s)));
        cmark_node_append_child(para, t);
    }
    if (cmark_node_first_child(para) == NULL) {
        cmark_node_free(para);
        return NULL;
    }
    return para;
}

/* Whether an HTML block is a <pre> one (CommonMark's type 1, which runs
 * to its end tag): its text keeps its white space, as a code block. */
static bool
pre_block(const char *html)
{
    html += strspn(html, " ");
    return strncasecmp(html, "<pre", 4) == 0 && html[4] != '\0' &&
           strchr(" \t\r\n>", html[4]) != NULL;
}

/* Makes each raw HTML block among parent's children the text a reader
 * of that HTML sees, as a paragraph of its lines (hard line breaks
 * between them), or nothing when it shows none: cmark omits the whole
 * block, and a type 6 or 7 block runs on to the next blank line, so
 * "<p>Step 2</p>\nStep 3" or "<div>Refunds take 5 days</div>" vanished
 * from the page, the summary, search and the AI's passages. The text is
 * sp_mail_html_read's (tags gone, entities decoded, script, style and
 * the rest of dropped[] gone with their content, what CSS or markup
 * hides gone, block elements and <br> lines of their own, an image its
 * alt text, an http/https/mailto link's target after its text); as a
 * text node it is escaped again in the HTML. A block that starts with
 * <pre> is a code block of that text, its white space kept (QA: a
 * paragraph of trimmed lines lost the indentation). */
static void
keep_html_blocks(struct sp_arena *a, cmark_node *parent)
{
    for (cmark_node *c = cmark_node_first_child(parent), *next; c != NULL; c = next) {
        next = cmark_node_next(c);
        if (cmark_node_get_type(c) != CMARK_NODE_HTML_BLOCK)
            continue;
        const char *lit = cmark_node_get_literal(c), *html = as_script(a, lit ? lit : "");
        struct sp_mail_html_texts t;
        sp_mail_html_read(a, html, strlen(html), &t);
        cmark_node *text = NULL;
        if (pre_block(html) && t.whole[0] != '\0') {
            text = cmark_node_new(CMARK_NODE_CODE_BLOCK);
            cmark_node_set_literal(text, sp_arena_sprintf(a, "%s\n", t.whole));
        } else {
            text = text_paragraph(a, t.whole);
        }
        if (text == NULL || !cmark_node_replace(c, text)) {
            if (text != NULL)
                cmark_node_free(text);
            cmark_node_unlink(c);
        }
        cmark_node_free(c);
    }
}

/* Walks the tree once: refuses it (false) past SP_MARKDOWN_MAX_NESTING,
 * and drops raw HTML content, keeps raw line breaks and makes raw HTML
 * blocks text in each list of children before going down into them. */
static bool
prepare(struct sp_arena *a, cmark_node *doc)
{
    int depth = 0;
    for (cmark_node *n = doc; n != NULL;) {
        if (nests(n) && ++depth > SP_MARKDOWN_MAX_NESTING)
            return false;
        if (cmark_node_first_child(n) != NULL) {
            drop_raw_content(n);
            keep_raw_breaks(n);
            keep_html_blocks(a, n);
        }
        /* None when a comment was the only child: go on past n. */
        cmark_node *child = cmark_node_first_child(n);
        if (child != NULL) {
            n = child;
            continue;
        }
        while (n != doc && cmark_node_next(n) == NULL) {
            depth -= nests(n);
            n = cmark_node_parent(n);
        }
        if (n == doc)
            break;
        depth -= nests(n);
        n = cmark_node_next(n);
    }
    return true;
}

/* Why the tables of md are refused (markdown.h), or NULL. */
static const char *
tables_refused(struct sp_arena *a, const char *md, size_t len)
{
    struct table_count c;
    count_tables(md, len, &c);
    if (c.cells > SP_MARKDOWN_MAX_TABLE_CELLS)
        return sp_arena_sprintf(a, "has tables of more than %d cells (columns × rows)",
                                SP_MARKDOWN_MAX_TABLE_CELLS);
    if (c.rows > SP_MARKDOWN_MAX_RESCANS)
        return "has tables with too many cells (| separators, escaped or not) on their lines";
    if (c.reread > SP_MARKDOWN_MAX_RESCANS)
        return "has long text right before lines like a table's delimiter row (|---| or :-);"
               " put a blank line before each table";
    return NULL;
}

/* A document parsed and checked against the limits of markdown.h, its
 * raw HTML content dropped (prepare): the one tree every form of an
 * article is rendered from. NULL with *refused set when over a limit. */
struct parsed {
    cmark_parser *parser;
    cmark_node *doc;
};

static bool
parse(struct sp_arena *a, const char *md, size_t len, struct parsed *out, const char **refused)
{
    *out = (struct parsed){NULL, NULL};
    if (md == NULL)
        md = "", len = 0;
    if ((*refused = tables_refused(a, md, len)) != NULL)
        return false;
    struct rescans r;
    count_rescans(md, len, &r);
    if (r.autolink > SP_MARKDOWN_MAX_RESCANS || r.emphasis > SP_MARKDOWN_MAX_RESCANS) {
        *refused = r.autolink > SP_MARKDOWN_MAX_RESCANS
                       ? "has too many link-like words (www., ://, @) in long words"
                       : "has too many links after emphasis marks (*, _, ~) in one paragraph";
        return false;
    }
    out->parser = new_parser();
    cmark_parser_feed(out->parser, md, len);
    out->doc = cmark_parser_finish(out->parser);
    if (prepare(a, out->doc))
        return true;
    *refused = sp_arena_sprintf(a, "nests more than %d levels deep (block quotes, list"
                                   " items, emphasis and links inside each other)",
                                SP_MARKDOWN_MAX_NESTING);
    return false;
}

static void
parsed_free(struct parsed *d)
{
    if (d->doc != NULL)
        cmark_node_free(d->doc);
    if (d->parser != NULL)
        cmark_parser_free(d->parser);
}

/* --- the tree as the plain text reads it ---------------------------------------- */

/* A strikethrough's text in its place, without the strikethrough: the
 * plain-text renderer writes its markers ("Price was ~100 euros~"). */
static void
unwrap(cmark_node *n)
{
    for (cmark_node *c; (c = cmark_node_first_child(n)) != NULL;)
        cmark_node_insert_before(n, c);
    cmark_node_unlink(n);
    cmark_node_free(n);
}

/* A table as one paragraph a row, its cells' text between spaces: the
 * plain-text renderer writes the pipes and the delimiter row, which the
 * search snippets then showed ("Step | Detail |\n| --- |"). The table,
 * unlinked, is freed with the arena: the cells' text nodes point into
 * memory it owns. */
static void
table_paragraphs(struct sp_arena *a, cmark_node *table)
{
    for (cmark_node *row = cmark_node_first_child(table); row != NULL;
         row = cmark_node_next(row)) {
        cmark_node *para = cmark_node_new(CMARK_NODE_PARAGRAPH);
        for (cmark_node *cell = cmark_node_first_child(row); cell != NULL;
             cell = cmark_node_next(cell)) {
            if (cmark_node_first_child(para) != NULL) {
                cmark_node *space = cmark_node_new(CMARK_NODE_TEXT);
                cmark_node_set_literal(space, " ");
                cmark_node_append_child(para, space);
            }
            for (cmark_node *in; (in = cmark_node_first_child(cell)) != NULL;)
                cmark_node_append_child(para, in);
        }
        cmark_node_insert_before(table, para);
    }
    cmark_node_unlink(table);
    sp_arena_defer(a, (void (*)(void *))cmark_node_free, table);
}

/* Rewrites doc, once its HTML is rendered, into the tree its plain text
 * (the text search indexes, the summary, the AI's blocks) is rendered
 * from: strikethroughs unwrapped, tables made paragraphs. The nodes are
 * gathered first: the tree is not changed under the iterator. */
static void
plain_tree(struct sp_arena *a, cmark_node *doc)
{
    cmark_node **found = NULL;
    size_t n = 0, cap = 0;
    cmark_iter *it = cmark_iter_new(doc);
    for (cmark_event_type ev; (ev = cmark_iter_next(it)) != CMARK_EVENT_DONE;) {
        cmark_node *node = cmark_iter_get_node(it);
        const char *type = cmark_node_get_type_string(node);
        if (ev == CMARK_EVENT_ENTER &&
            (strcmp(type, "strikethrough") == 0 || strcmp(type, "table") == 0)) {
            found = sp_arena_grow(a, found, n, &cap, sizeof(*found), 16);
            found[n++] = node;
        }
    }
    cmark_iter_free(it);
    /* A table comes before the strikethroughs in its cells, which are
     * moved, not freed, with their text. */
    for (size_t i = 0; i < n; i++) {
        if (strcmp(cmark_node_get_type_string(found[i]), "table") == 0)
            table_paragraphs(a, found[i]);
        else
            unwrap(found[i]);
    }
}

/* The links of doc the sanitizer will unwrap into out (see markdown.h). */
static void
dropped_links(struct sp_arena *a, cmark_node *doc, struct sp_markdown *out)
{
    out->dropped_links = sp_arena_calloc(a, SP_MARKDOWN_DROPPED_MAX, sizeof(char *));
    cmark_iter *it = cmark_iter_new(doc);
    for (cmark_event_type ev; (ev = cmark_iter_next(it)) != CMARK_EVENT_DONE &&
                              out->ndropped_links < SP_MARKDOWN_DROPPED_MAX;) {
        cmark_node *n = cmark_iter_get_node(it);
        if (ev != CMARK_EVENT_ENTER || cmark_node_get_type(n) != CMARK_NODE_LINK)
            continue;
        const char *url = cmark_node_get_url(n);
        url = url != NULL ? url : "";
        if (sp_sanitize_link_ok(SP_SANITIZE_ARTICLE, url))
            continue;
        size_t i = 0;
        while (i < out->ndropped_links && strcmp(out->dropped_links[i], url) != 0)
            i++;
        if (i == out->ndropped_links)
            out->dropped_links[out->ndropped_links++] = sp_arena_strdup(a, url);
    }
    cmark_iter_free(it);
}

bool
sp_markdown_render(struct sp_arena *a, const char *md, size_t len, struct sp_markdown *out)
{
    *out = (struct sp_markdown){.html = "", .summary = "", .text = ""};
    struct parsed d;
    bool ok = parse(a, md, len, &d, &out->refused);
    if (ok) {
        const char *raw = with_breaks(a, take(a, cmark_render_html(d.doc, OPTIONS,
                                           cmark_parser_get_syntax_extensions(d.parser))));
        out->html = sp_sanitize_html_as(a, SP_SANITIZE_ARTICLE, raw, strlen(raw), NULL, NULL);
        dropped_links(a, d.doc, out);
        /* The summary is the first paragraph the author wrote, not a
         * table's first row. */
        cmark_node *para = first_paragraph(d.doc);
        plain_tree(a, d.doc);
        out->text = plain(a, take(a, cmark_render_plaintext(d.doc, OPTIONS, 0)));
        if (para != NULL)
            out->summary = collapse(a, plain(a, take(a, cmark_render_plaintext(para, OPTIONS, 0))),
                                    SP_MARKDOWN_SUMMARY_MAX);
    }
    parsed_free(&d);
    return ok;
}

/* --- the text as blocks ------------------------------------------------------- */

struct blocks {
    struct sp_arena *a;
    struct sp_markdown_block *out;
    size_t n, cap;
};

/* The plain text of node, as the document's text has it but with the
 * lines of a paragraph joined by a space, without the renderer's closing
 * line breaks. */
static void
add_block(struct blocks *b, cmark_node *node, int heading)
{
    const char *t = plain(b->a, take(b->a, cmark_render_plaintext(node, BLOCK_OPTIONS, 0)));
    size_t len = strlen(t);
    while (len > 0 && is_space(t[len - 1]))
        len--;
    b->out = sp_arena_grow(b->a, b->out, b->n, &b->cap, sizeof(*b->out), 16);
    b->out[b->n++] = (struct sp_markdown_block){heading, sp_arena_strndup(b->a, t, len), len};
}

/* The blocks under node, in order; what holds no text (a thematic
 * break; raw HTML blocks are paragraphs by now, or gone) adds none.
 * Recursion as deep as the nesting prepare() allows. */
static void
collect_blocks(struct blocks *b, cmark_node *node)
{
    for (cmark_node *c = cmark_node_first_child(node); c != NULL; c = cmark_node_next(c)) {
        cmark_node_type t = cmark_node_get_type(c);
        if (t == CMARK_NODE_HEADING)
            add_block(b, c, cmark_node_get_heading_level(c));
        else if (t == CMARK_NODE_PARAGRAPH || t == CMARK_NODE_CODE_BLOCK)
            add_block(b, c, 0);
        else if (t != CMARK_NODE_HTML_BLOCK && t != CMARK_NODE_THEMATIC_BREAK)
            collect_blocks(b, c);
    }
}

bool
sp_markdown_blocks(struct sp_arena *a, const char *md, size_t len,
                   struct sp_markdown_block **out, size_t *n)
{
    struct parsed d;
    const char *refused = NULL;
    struct blocks b = {a, NULL, 0, 0};
    bool ok = parse(a, md, len, &d, &refused);
    if (ok) {
        plain_tree(a, d.doc);
        collect_blocks(&b, d.doc);
    }
    parsed_free(&d);
    *out = b.out;
    *n = b.n;
    return ok;
}
