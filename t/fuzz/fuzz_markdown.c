/*
 * fuzz_markdown: libFuzzer target for knowledge-base markdown
 * (src/core/markdown.c: cmark-gfm, then the sanitizer's article profile).
 * Besides crashes and sanitizer reports it aborts when the stored forms
 * break an invariant: valid UTF-8 everywhere, no '<' in the HTML that
 * does not start a tag of ours, no script, and no \x01/\x02 in the plain
 * text (search snippets use them as marks), nor the mark of a raw <br>
 * in a table cell (\x1e); a refused document (too deep,
 * too many table cells) has a reason and empty forms.
 * Build: scripts/dev fuzz markdown
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/markdown.h"
#include "core/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every '<' starts a lower-case tag of ours, never script or svg, and no
 * attribute value is a javascript: URL (text and URL paths may say
 * "javascript:"). */
static bool
tags_look_ours(const char *s)
{
    for (const char *p = strchr(s, '<'); p != NULL; p = strchr(p + 1, '<')) {
        const char *q = p + 1 + (p[1] == '/'), *end = strchr(p, '>');
        if (*q < 'a' || *q > 'z' || strncasecmp(q, "script", 6) == 0 ||
            strncasecmp(q, "svg", 3) == 0 || end == NULL)
            return false;
        for (const char *j = p; j + 13 <= end; j++)
            if (strncasecmp(j, "=\"javascript:", 13) == 0)
                return false;
    }
    return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_arena a;
    struct sp_markdown m;

    sp_arena_init(&a, 4096);
    bool ok = sp_markdown_render(&a, (const char *)data, size, &m);
    if (ok != (m.refused == NULL) || (!ok && (*m.html || *m.summary || *m.text)))
        abort();
    if (!sp_utf8_valid(m.html, strlen(m.html)) || !sp_utf8_valid(m.text, strlen(m.text)) ||
        !sp_utf8_valid(m.summary, strlen(m.summary)) || !tags_look_ours(m.html) ||
        strchr(m.text, '\x01') != NULL || strchr(m.text, '\x02') != NULL ||
        strchr(m.text, '\x1e') != NULL)
        abort();
    sp_arena_destroy(&a);
    return 0;
}
