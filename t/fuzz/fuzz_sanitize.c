/*
 * fuzz_sanitize: libFuzzer target for the HTML sanitizer (untrusted
 * message bodies, API.md §4). Besides crashes and sanitizer reports it
 * aborts when an invariant of the output breaks: valid UTF-8, no NUL,
 * length matches, no raw '<' other than one starting a tag we write, and
 * sanitizing the output again changes nothing (what is stored is stored
 * as it reads: the line breaks of unwrapped blocks are not added twice),
 * under the article profile too: this is what checks that a body the
 * sanitizer parses only once (sp_sanitize_html_as: nothing reshaped)
 * reads back as written; and the plain text of the output (mail text
 * parts) is valid UTF-8.
 * Build: clang -fsanitize=fuzzer,address,undefined -Isrc src/core/arena.c
 *        src/core/ascii.c src/core/buf.c src/core/utf8.c src/core/html_parse.c
 *        src/core/sanitize.c
 *        t/fuzz/fuzz_sanitize.c $(pkg-config --cflags --libs gumbo)
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/sanitize.h"
#include "core/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every '<' the sanitizer writes opens a lower-case tag name or an end
 * tag; text never carries one. */
static bool
tags_look_ours(const char *s)
{
    for (const char *p = strchr(s, '<'); p != NULL; p = strchr(p + 1, '<')) {
        const char *q = p + 1 + (p[1] == '/');
        if (*q < 'a' || *q > 'z' || strncmp(q, "script", 6) == 0)
            return false;
    }
    return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_arena a;
    size_t len;
    bool has_text;

    sp_arena_init(&a, 4096);
    char *out = sp_sanitize_html(&a, (const char *)data, size, &len,
                                 &has_text);
    if (out == NULL || strlen(out) != len || !sp_utf8_valid(out, len) ||
        !tags_look_ours(out))
        abort();
    size_t len2;
    char *again = sp_sanitize_html(&a, out, len, &len2, NULL);
    if (len2 != len || memcmp(again, out, len) != 0)
        abort();
    size_t art_len;
    char *art = sp_sanitize_html_as(&a, SP_SANITIZE_ARTICLE, (const char *)data, size,
                                    &art_len, NULL);
    again = sp_sanitize_html_as(&a, SP_SANITIZE_ARTICLE, art, art_len, &len2, NULL);
    if (len2 != art_len || memcmp(again, art, art_len) != 0)
        abort();
    /* the mail text of a body (support-dispatch): always valid UTF-8 */
    char *text = sp_sanitize_text(&a, out, len);
    if (text == NULL || !sp_utf8_valid(text, strlen(text)))
        abort();
    /* a long mail's head (mail_in): within the limit, at most the text */
    size_t kept, max = size % 512 + 16;
    char *head = sp_sanitize_text_to_html_lines_fit(&a, text, "\n\n[rest]", "", max, &kept);
    if (head != NULL && (sp_utf8_count(head, strlen(head)) > max || kept > strlen(text) ||
                         !sp_utf8_valid(head, strlen(head)) || !tags_look_ours(head)))
        abort();
    sp_arena_destroy(&a);
    return 0;
}
