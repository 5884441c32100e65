/*
 * ai_split: the splitter of ai_chunks (see ai_chunks.h) — markdown to
 * plain-text passages with their heading paths. Pure: no SQL, no I/O.
 *
 * Lines are read one at a time: a fence (``` or ~~~) keeps its lines as
 * they are until it closes; an ATX heading ends the chunk in hand and
 * becomes part of the path; a blank line ends a paragraph; other lines
 * lose their block markers (quotes, list bullets, table pipes) and inline
 * markup (emphasis, code ticks, link targets, tags, and what is between
 * the tags of an element the article does not show, <script>…</script>);
 * an HTML block of raw text (<script>, <pre>, <style>, <textarea> lines
 * up to their closing tag) is left out whole, as the article omits it.
 * Paragraphs are
 * packed into chunks of up to SP_AI_CHUNK_TARGET bytes; a chunk that
 * follows another in the same section starts with the last words of it
 * (up to SP_AI_CHUNK_OVERLAP bytes), so a sentence cut at a boundary is
 * whole in one of them.
 */
#include "domain/ai_chunks.h"

#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/buf.h"

#define MAX_LEVELS 6

struct splitter {
    struct sp_arena *a;
    const char *title;
    const char *headings[MAX_LEVELS];
    const char *path;
    struct sp_buf para;       /* the paragraph being read */
    struct sp_buf chunk;      /* the chunk being filled */
    size_t fresh;             /* bytes of chunk that are overlap, not new text */
    bool in_fence;
    bool in_raw;              /* inside an HTML block of raw text (raw_start) */
    struct sp_ai_chunk *out;
    size_t n, cap;
};

static bool
space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* How far a link destination is looked for: enough for any real URL,
 * and a bound on the work of each '[' of a line. */
#define DEST_MAX 2048

/* The length of the link destination and title after "](" at s, up to and
 * with the closing ')', 0 when there is none: parentheses nest in it (as
 * CommonMark allows: .../Capybara_(animal)), a backslash escapes the next
 * character and <…> holds any. */
static size_t
destination_len(const char *s, size_t n)
{
    size_t i = 0, depth = 1;
    if (n > DEST_MAX)
        n = DEST_MAX;
    if (i < n && s[i] == '<')
        while (++i < n && s[i] != '>' && s[i] != '<')
            i += s[i] == '\\' && i + 1 < n;
    for (; i < n; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '(')
            depth++;
        else if (s[i] == ')' && --depth == 0)
            return i + 1;
    }
    return 0;
}

/* [text](target) or ![alt](target) at s: *skip = its length and
 * [*text_at, *text_len] its text; false when s is not one. */
static bool
link_at(const char *s, size_t n, size_t *skip, size_t *text_at, size_t *text_len)
{
    size_t i = s[0] == '!' ? 1 : 0;
    if (i >= n || s[i] != '[')
        return false;
    const char *close = memchr(s + i, ']', n - i);
    if (close == NULL)
        return false;
    size_t c = (size_t)(close - s);
    if (c + 1 >= n || s[c + 1] != '(')
        return false;
    size_t dest = destination_len(s + c + 2, n - c - 2);
    if (dest == 0)
        return false;
    *text_at = i + 1;
    *text_len = c - i - 1;
    *skip = c + 2 + dest;
    return true;
}

/* Length of the tag or autolink "<...>" at s, 0 when s is not one. */
static size_t
tag_len(const char *s, size_t n)
{
    if (n < 3 || !(s[1] == '/' || (s[1] >= 'a' && s[1] <= 'z') || (s[1] >= 'A' && s[1] <= 'Z')))
        return 0;
    const char *gt = memchr(s, '>', n);
    return gt != NULL ? (size_t)(gt - s) + 1 : 0;
}

/* Elements whose content the article never shows (core/sanitize drops it,
 * core/markdown drops the text between their tags): the same here. */
static const char *const hidden[] = {"script", "style",    "iframe", "object", "applet",
                                     "template", "textarea", "title",  "xmp",    "noembed",
                                     "noframes"};
#define NHIDDEN (sizeof(hidden) / sizeof(hidden[0]))

/* Whether s (n bytes) starts with name as a tag name: then a space, '/',
 * '>' or the end. */
static bool
tag_name_is(const char *s, size_t n, const char *name)
{
    size_t l = strlen(name);
    return n >= l && strncasecmp(s, name, l) == 0 &&
           (n == l || s[l] == ' ' || s[l] == '\t' || s[l] == '/' || s[l] == '>');
}

/* The tag of t bytes at s opens a hidden element: the length from s to the
 * end of its closing tag in the n bytes, 0 when it is not one or is not
 * closed. *unclosed remembers the elements found not closed in this text,
 * so each is looked for once (no quadratic scan of a line of open tags). */
static size_t
hidden_len(const char *s, size_t t, size_t n, unsigned *unclosed)
{
    for (size_t k = 0; k < NHIDDEN; k++) {
        if (!tag_name_is(s + 1, t - 1, hidden[k]) || (*unclosed & (1u << k)))
            continue;
        size_t l = strlen(hidden[k]);
        for (const char *c = memchr(s + t, '<', n - t); c != NULL;
             c = memchr(c + 1, '<', n - (size_t)(c + 1 - s))) {
            size_t at = (size_t)(c - s), end;
            if (at + 2 + l <= n && c[1] == '/' && tag_name_is(c + 2, n - at - 2, hidden[k]) &&
                (end = tag_len(c, n - at)) > 0)
                return at + end;
        }
        *unclosed |= 1u << k;
        return 0;
    }
    return 0;
}

/* Inline markup out of s: emphasis stars, code ticks, strikethrough,
 * link targets, HTML tags (with the content of hidden elements) and table
 * pipes. */
static void
put_inline(struct sp_buf *b, const char *s, size_t n)
{
    unsigned unclosed = 0;
    for (size_t i = 0; i < n;) {
        size_t skip, at, tlen;
        char c = s[i];
        if ((c == '[' || c == '!') && link_at(s + i, n - i, &skip, &at, &tlen)) {
            put_inline(b, s + i + at, tlen);
            i += skip;
        } else if (c == '<' && tag_len(s + i, n - i) > 0) {
            size_t t = tag_len(s + i, n - i), whole = hidden_len(s + i, t, n - i, &unclosed);
            /* An autolink keeps its address; a tag goes. */
            if (memchr(s + i, '@', t) != NULL || (t > 6 && memcmp(s + i + 1, "http", 4) == 0))
                sp_buf_append(b, s + i + 1, t - 2);
            i += whole > 0 ? whole : t;
        } else if (c == '*' || c == '`' || c == '~') {
            i++;
        } else {
            sp_buf_putc(b, c == '|' ? ' ' : c);
            i++;
        }
    }
}

/* Length of the block marker at the start of a line (quote, bullet,
 * ordered item, task box). */
static size_t
block_marker(const char *s, size_t n, bool *item)
{
    size_t i = 0;
    *item = false;
    for (;;) {
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i < n && s[i] == '>') {
            i++;
            continue;
        }
        break;
    }
    size_t j = i;
    while (j < n && j - i < 9 && s[j] >= '0' && s[j] <= '9')
        j++;
    if (i < n && (s[i] == '-' || s[i] == '*' || s[i] == '+') && i + 1 < n && s[i + 1] == ' ')
        j = i + 2, *item = true;
    else if (j > i && j + 1 < n && (s[j] == '.' || s[j] == ')') && s[j + 1] == ' ')
        j += 2, *item = true;
    else
        j = i;
    if (*item && n - j >= 4 && s[j] == '[' && s[j + 2] == ']' && s[j + 3] == ' ')
        j += 4;
    return j;
}

/* A thematic break or a table's delimiter row: no words in it. */
static bool
rule_line(const char *s, size_t n)
{
    size_t marks = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '-' || s[i] == '*' || s[i] == '_' || s[i] == '=')
            marks++;
        else if (s[i] != ' ' && s[i] != '|' && s[i] != ':' && s[i] != '\t')
            return false;
    }
    return marks >= 3;
}

static const char *
trimmed(struct sp_arena *a, const char *s, size_t n, size_t *len)
{
    while (n > 0 && space(*s))
        s++, n--;
    while (n > 0 && space(s[n - 1]))
        n--;
    *len = n;
    return sp_arena_strndup(a, s, n);
}

static void
push_chunk(struct splitter *s, const char *text, size_t len)
{
    s->out = sp_arena_grow(s->a, s->out, s->n, &s->cap, sizeof(*s->out), 8);
    s->out[s->n++] = (struct sp_ai_chunk){s->path, text, len};
}

/* Ends the chunk in hand (when it has new text); with overlap, the next
 * one starts with its last words. */
static void
emit_chunk(struct splitter *s, bool overlap)
{
    struct sp_buf *c = &s->chunk;
    if (c->len > s->fresh) {
        size_t len;
        const char *text = trimmed(s->a, c->data, c->len, &len);
        if (len > 0)
            push_chunk(s, text, len);
    }
    size_t keep = 0;
    if (overlap && c->len > s->fresh) {
        size_t from = c->len > SP_AI_CHUNK_OVERLAP ? c->len - SP_AI_CHUNK_OVERLAP : 0;
        while (from < c->len && c->data[from] != ' ')
            from++;
        if (from < c->len) {
            keep = c->len - from - 1;
            memmove(c->data, c->data + from + 1, keep);
        }
    }
    c->len = keep;
    s->fresh = keep;
}

/* Where to cut t (len > room) so that the piece fits in room: after a
 * sentence in the second half, else at a space, else at a UTF-8
 * boundary. At least one character. */
static size_t
cut_point(const char *t, size_t len, size_t room)
{
    for (size_t j = room; j > room / 2; j--)
        if ((t[j - 1] == '.' || t[j - 1] == '?' || t[j - 1] == '!' || t[j - 1] == '\n') &&
            (j == len || space(t[j])))
            return j;
    for (size_t j = room; j > room / 2; j--)
        if (space(t[j]))
            return j;
    size_t j = room;
    while (j > 0 && ((unsigned char)t[j] & 0xC0) == 0x80)
        j--;
    if (j == 0)
        for (j = 1; j < len && ((unsigned char)t[j] & 0xC0) == 0x80; j++)
            ;
    return j;
}

static void
append_text(struct splitter *s, const char *t, size_t n)
{
    if (s->chunk.len > 0)
        sp_buf_putc(&s->chunk, '\n');
    sp_buf_append(&s->chunk, t, n);
}

/* Packs one paragraph into the chunks. */
static void
add_paragraph(struct splitter *s, const char *t, size_t len)
{
    const size_t target = SP_AI_CHUNK_TARGET;
    while (len > 0) {
        size_t used = s->chunk.len > 0 ? s->chunk.len + 1 : 0;
        size_t room = used < target ? target - used : 0;
        if (len <= room) {
            append_text(s, t, len);
            return;
        }
        /* A paragraph that fits a chunk of its own is not cut. */
        if (s->chunk.len > s->fresh && len <= target - SP_AI_CHUNK_OVERLAP - 1) {
            emit_chunk(s, true);
            continue;
        }
        if (room < target / 4) {   /* nearly full: the next chunk has room */
            emit_chunk(s, true);
            continue;
        }
        size_t cut = cut_point(t, len, room);
        append_text(s, t, cut);
        emit_chunk(s, true);
        t += cut, len -= cut;
        while (len > 0 && space(*t))
            t++, len--;
    }
}

static void
end_paragraph(struct splitter *s)
{
    size_t len;
    const char *t = trimmed(s->a, s->para.data, s->para.len, &len);
    s->para.len = 0;
    if (len > 0)
        add_paragraph(s, t, len);
}

/* "# Heading" (1-6 marks, then a space or the end): its level, its text
 * without closing marks; 0 when the line is not a heading. */
static int
heading_level(const char *line, size_t n, const char **text, size_t *tlen)
{
    size_t i = 0;
    while (i < n && i < 3 && line[i] == ' ')
        i++;
    size_t marks = 0;
    while (i + marks < n && line[i + marks] == '#')
        marks++;
    if (marks == 0 || marks > MAX_LEVELS || (i + marks < n && line[i + marks] != ' '))
        return 0;
    const char *t = line + i + marks;
    size_t l = n - i - marks;
    while (l > 0 && (t[l - 1] == '#' || space(t[l - 1])))
        l--;
    *text = t;
    *tlen = l;
    return (int)marks;
}

static void
set_heading(struct splitter *s, int level, const char *text, size_t tlen)
{
    end_paragraph(s);
    emit_chunk(s, false);
    struct sp_buf h;
    sp_buf_init(&h, s->a, tlen + 1);
    put_inline(&h, text, tlen);
    size_t hl;
    s->headings[level - 1] = trimmed(s->a, h.data, h.len, &hl);
    for (int k = level; k < MAX_LEVELS; k++)
        s->headings[k] = NULL;
    struct sp_buf p;
    sp_buf_init(&p, s->a, 128);
    sp_buf_puts(&p, s->title);
    for (int k = 0; k < MAX_LEVELS; k++)
        if (s->headings[k] != NULL && s->headings[k][0] != '\0')
            sp_buf_printf(&p, " > %s", s->headings[k]);
    sp_buf_putc(&p, '\0');
    s->path = p.data;
}

static bool
fence_line(const char *line, size_t n)
{
    size_t i = 0;
    while (i < n && i < 3 && line[i] == ' ')
        i++;
    return n - i >= 3 && (memcmp(line + i, "```", 3) == 0 || memcmp(line + i, "~~~", 3) == 0);
}

/* The tags of a CommonMark HTML block of raw text (type 1: it runs from a
 * line starting with one of them to a line with one of their closing
 * tags, blank lines included). The article omits such a block whole. */
static const char *const raw_tags[] = {"script", "pre", "style", "textarea"};

static bool
raw_start(const char *line, size_t n)
{
    size_t i = 0;
    while (i < n && i < 3 && line[i] == ' ')
        i++;
    for (size_t k = 0; i + 1 < n && line[i] == '<' && k < 4; k++)
        if (tag_name_is(line + i + 1, n - i - 1, raw_tags[k]))
            return true;
    return false;
}

static bool
raw_end(const char *line, size_t n)
{
    for (const char *c = memchr(line, '<', n); c != NULL;
         c = memchr(c + 1, '<', n - (size_t)(c + 1 - line))) {
        size_t at = (size_t)(c - line);
        for (size_t k = 0; k < 4 && at + 2 < n && c[1] == '/'; k++) {
            size_t l = strlen(raw_tags[k]);
            if (at + 3 + l <= n && strncasecmp(c + 2, raw_tags[k], l) == 0 && c[2 + l] == '>')
                return true;
        }
    }
    return false;
}

static void
read_line(struct splitter *s, const char *line, size_t n)
{
    if (s->in_raw || (!s->in_fence && raw_start(line, n))) {
        if (!s->in_raw)
            end_paragraph(s);
        s->in_raw = !raw_end(line, n);
        return;
    }
    if (fence_line(line, n)) {
        end_paragraph(s);
        s->in_fence = !s->in_fence;
        return;
    }
    if (s->in_fence) {
        sp_buf_append(&s->para, line, n);
        sp_buf_putc(&s->para, '\n');
        return;
    }
    const char *text;
    size_t tlen;
    int level = heading_level(line, n, &text, &tlen);
    if (level > 0) {
        set_heading(s, level, text, tlen);
        return;
    }
    size_t blank = 0;
    while (blank < n && space(line[blank]))
        blank++;
    if (blank == n || rule_line(line, n)) {
        end_paragraph(s);
        return;
    }
    bool item;
    size_t m = block_marker(line, n, &item);
    if (s->para.len > 0)
        sp_buf_putc(&s->para, item ? '\n' : ' ');
    put_inline(&s->para, line + m, n - m);
}

struct sp_ai_chunk *
sp_ai_split(struct sp_arena *a, const char *title, const char *md, size_t len, size_t *n)
{
    struct splitter s;
    memset(&s, 0, sizeof(s));
    s.a = a;
    s.title = title;
    s.path = title;
    sp_buf_init(&s.para, a, 1024);
    sp_buf_init(&s.chunk, a, SP_AI_CHUNK_TARGET + 64);
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(md + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - md) : len;
        read_line(&s, md + i, end - i);
        i = end + 1;
    }
    end_paragraph(&s);
    emit_chunk(&s, false);
    *n = s.n;
    return s.out;
}
