/*
 * markdown: GitHub-flavoured markdown (tables, strikethrough, autolinks,
 * task lists) turned into the three forms a knowledge-base article is
 * stored in (API.md §8): sanitized HTML, a one-paragraph summary and the
 * plain text that search indexes and snippets are cut from.
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

#include <stddef.h>

struct sp_arena;

/* The longest summary, in code points (an ellipsis marks a cut). */
#define SP_MARKDOWN_SUMMARY_MAX 280

struct sp_markdown {
    const char *html;     /* sanitized (sanitize.h, article profile) */
    const char *summary;  /* first paragraph as plain text, whitespace
                           * collapsed, at most SP_MARKDOWN_SUMMARY_MAX code
                           * points; "" when the document has no paragraph */
    const char *text;     /* the whole document as plain text */
};

/* Renders md (len bytes; invalid UTF-8 becomes U+FFFD). Every string is
 * owned by the arena. Callers cap the input size first (API.md §8:
 * 200 KiB). */
void sp_markdown_render(struct sp_arena *a, const char *md, size_t len, struct sp_markdown *out);

#endif
