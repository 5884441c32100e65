/*
 * markdown: GitHub-flavoured markdown (tables, strikethrough, autolinks,
 * task lists) turned into the three forms a knowledge-base article is
 * stored in (API.md §8): sanitized HTML, a one-paragraph summary and the
 * plain text that search indexes and snippets are cut from. The plain
 * text is the words a reader sees: a raw <br> is a line break there and
 * in the HTML, a strikethrough keeps its text without its tildes, and a
 * table is its rows, each its cells' text between spaces (no pipes, no
 * delimiter row).
 *
 * cmark-gfm renders (the reference GFM implementation, the one GitHub
 * runs; Debian's libcmark-gfm-dev) with raw HTML suppressed and unsafe
 * link schemes dropped; the result then goes through the article profile
 * of core/sanitize anyway, so the stored HTML is only ever markup the
 * sanitizer built itself — cmark is a renderer, not a security boundary.
 *
 * Done once, when an article is saved: never per request.
 * Must not: know HTTP, SQL or storage.
 */
#ifndef SP_MARKDOWN_H
#define SP_MARKDOWN_H

#include <stdbool.h>
#include <stddef.h>

struct sp_arena;

/* The longest summary, in code points, the ellipsis that marks a cut
 * included. */
#define SP_MARKDOWN_SUMMARY_MAX 280

/* What is refused, because rendering grows faster than the input: block
 * quotes, list items and inline markup with content (emphasis, links,
 * images, strikethrough) nested inside each other more than this deep
 * (the plain-text renderer and the HTML5 tree builder are quadratic in
 * depth: a 100 000-deep list took minutes) ... */
#define SP_MARKDOWN_MAX_NESTING 32
/* ... and tables that would hold more cells than this, header included
 * (GFM pads each row to the header's columns, so a few bytes make many
 * cells; each costs some µs to render and sanitize: a 200 KiB table of
 * one-character rows holds as many) ... */
#define SP_MARKDOWN_MAX_TABLE_CELLS 100000
/* ... and text over which cmark-gfm 0.29.0.gfm.6 scans again and again,
 * each bound counted before parsing (a few ns a step: this much is some
 * 30 ms): from each place an autolink may start (`www.`, `://`, `@`) to
 * the end of its word, so in a word of n characters with k of them, k × n;
 * from each link's closing `]` back over the emphasis delimiter runs
 * (`*`, `_`, `~`) before it in its paragraph (since a blank line, a list
 * item's or an ATX heading's line); over a table's lines, each line's
 * cells (`|`, escaped or not) squared (its cells go into a list walked
 * at each one) and its columns squared (the HTML renderer walks a row at
 * each cell); and at each line that may be a delimiter row (`|---|`,
 * `:-`) the paragraph before it, read again, 32 steps a cell. 10 000
 * `www.a_b_c_` in one word took 3 s, 25 600 `[a](b) *` 1.2 s, a row of
 * 60 000 `|\|` 10 s, 5 000 lines `a|b` each followed by `:-` 9 s. */
#define SP_MARKDOWN_MAX_RESCANS 10000000ULL

struct sp_markdown {
    const char *html;     /* sanitized (sanitize.h, article profile) */
    const char *summary;  /* first paragraph as plain text, whitespace
                           * collapsed, at most SP_MARKDOWN_SUMMARY_MAX code
                           * points, cut after a word (mid-word, at a
                           * grapheme cluster's start); "" when the document
                           * has no paragraph */
    const char *text;     /* the whole document as plain text */
    const char *refused;  /* when refused: why, a phrase after "the
                           * markdown" for its author; else NULL */
    /* The destinations of the links the sanitizer shows as their text
     * only (sp_sanitize_link_ok: relative, "#anchor", javascript:), each
     * once, in order, at most SP_MARKDOWN_DROPPED_MAX: the edit page
     * names them, as nothing else tells the author. */
    const char **dropped_links;
    size_t ndropped_links;
};
#define SP_MARKDOWN_DROPPED_MAX 20

/* Plain text s (valid UTF-8) as one short line, the way the summary is
 * made: runs of whitespace one space, trimmed, and over max code points
 * cut after a word (mid-word at a grapheme cluster's start) to end in
 * "…", the max including it. In the arena. For notifications that must
 * be short (an SMS, a push). */
const char *sp_text_excerpt(struct sp_arena *a, const char *s, size_t max);

/* Renders md (len bytes; invalid UTF-8 becomes U+FFFD). Every string is
 * owned by the arena. Callers cap the input size first (API.md §8:
 * 200 KiB). false (the forms "", refused set) when the document is over a
 * limit above. Raw HTML tags are omitted, and so is the markdown between
 * an opening and a closing tag of an element whose content the sanitizer
 * drops (<script>…</script>, <style>, <iframe>, …): its text is never
 * shown, in the HTML, the summary or the text. A raw HTML block's text
 * is kept, as a paragraph of its lines: what a reader of that HTML sees
 * (core/mail_html's text of it: the content of those elements dropped,
 * entities decoded, a link's target after its text). */
bool sp_markdown_render(struct sp_arena *a, const char *md, size_t len, struct sp_markdown *out);

/* A block of the text a reader sees, in the order of the document. */
struct sp_markdown_block {
    int heading;          /* its level (1-6) for a heading, else 0 */
    const char *text;     /* as sp_markdown's text has it (raw HTML tags,
                           * link targets and reference definitions left out,
                           * code kept as written), the lines of a
                           * paragraph joined by a space; no trailing
                           * whitespace */
    size_t len;
};

/* The document md (len bytes) as the blocks of the same tree
 * sp_markdown_render renders: a heading, a paragraph (in a list item or a
 * quote too), a code block, a table row (its cells between spaces) each
 * make one, and so does a raw HTML block with text (its paragraph);
 * thematic breaks and HTML blocks without text none. Arena-owned *out
 * of *n blocks. false (no blocks) when sp_markdown_render refuses md. For
 * the AI's passages (domain/ai_split.c): they hold what the page shows,
 * no more. */
bool sp_markdown_blocks(struct sp_arena *a, const char *md, size_t len,
                        struct sp_markdown_block **out, size_t *n);

#endif
