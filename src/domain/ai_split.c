/*
 * ai_split: the splitter of ai_chunks (see ai_chunks.h) — an article's
 * text as its page shows it cut into passages with their heading paths.
 * Pure: no SQL, no I/O.
 *
 * The text comes from core/markdown (sp_markdown_blocks): the blocks of
 * the tree the page's HTML, summary and search text are rendered from,
 * so a passage holds nothing the reader does not see (raw HTML, comments
 * and the content of <script>-like elements, link targets, reference
 * definitions) and code as written. A heading ends the chunk in hand and
 * becomes part of the path; other blocks are paragraphs, packed into
 * chunks of up to SP_AI_CHUNK_TARGET bytes; a chunk that follows another
 * in the same section starts with the last words of it (up to
 * SP_AI_CHUNK_OVERLAP bytes), so a sentence cut at a boundary is whole in
 * one of them.
 */
#include "domain/ai_chunks.h"

#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/markdown.h"
#include "core/utf8.h"

#define MAX_LEVELS 6

struct splitter {
    struct sp_arena *a;
    const char *title;
    const char *headings[MAX_LEVELS];
    const char *path;
    struct sp_buf chunk;      /* the chunk being filled */
    size_t fresh;             /* bytes of chunk that are overlap, not new text */
    struct sp_ai_chunk *out;
    size_t n, cap;
};

static bool
space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
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
    size_t j = sp_utf8_floor(t, room);
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
set_heading(struct splitter *s, int level, const char *text, size_t tlen)
{
    emit_chunk(s, false);
    size_t hl;
    s->headings[level - 1] = trimmed(s->a, text, tlen, &hl);
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

struct sp_ai_chunk *
sp_ai_split(struct sp_arena *a, const char *title, const char *md, size_t len, size_t *n)
{
    struct splitter s;
    memset(&s, 0, sizeof(s));
    s.a = a;
    s.title = title;
    s.path = title;
    sp_buf_init(&s.chunk, a, SP_AI_CHUNK_TARGET + 64);
    struct sp_markdown_block *blocks;
    size_t nb;
    sp_markdown_blocks(a, md, len, &blocks, &nb);
    for (size_t i = 0; i < nb; i++) {
        if (blocks[i].heading > 0) {
            set_heading(&s, blocks[i].heading, blocks[i].text, blocks[i].len);
            continue;
        }
        size_t tlen;
        const char *t = trimmed(a, blocks[i].text, blocks[i].len, &tlen);
        if (tlen > 0)
            add_paragraph(&s, t, tlen);
    }
    emit_chunk(&s, false);
    *n = s.n;
    return s.out;
}
