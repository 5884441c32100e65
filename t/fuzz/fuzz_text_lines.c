/*
 * fuzz_text_lines: libFuzzer target for plain text put inside one
 * paragraph of ours (core/sanitize.c sp_sanitize_text_to_lines): a chat
 * transcript's lines (docs/API.md §7) carry whatever the customer wrote.
 * Input: the text (up to its first NUL, as its caller passes a string),
 * in an exact-size copy without a NUL, so ASan catches a read past len.
 * Aborts unless the output is valid UTF-8 (malformed input becomes
 * U+FFFD) without a line break; every '<' and '>' in it is one of a
 * "<br>" and every '&' starts &amp;, &lt; or &gt; (no element of the
 * writer's, so the paragraph cannot be closed or another opened); no
 * "<br>" leads or trails, no three follow each other, and every line
 * between them shows something (more than blanks: at most one empty line
 * in a row); and, for valid UTF-8, unless the output read back (entities
 * and "<br>" undone) is the text's lines with blank ones dropped, one
 * empty line where there were any between two lines.
 * Build: scripts/dev fuzz text_lines (replayed by `make check`).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/sanitize.h"
#include "core/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

/* A line a reader sees nothing on (as sp_sanitize_text_to_html's blank
 * lines): only spaces, tabs and CRs. */
static bool
blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

static void
check_markup(const char *out)
{
    static const char *const entities[] = {"&amp;", "&lt;", "&gt;"};
    for (const char *c = out; *c != '\0'; c++) {
        CHECK(*c != '\n');
        if (*c == '<')
            CHECK(strncmp(c, "<br>", 4) == 0);
        if (*c == '>')
            CHECK(c - out >= 3 && strncmp(c - 3, "<br>", 4) == 0);
        if (*c == '&') {
            bool known = false;
            for (size_t i = 0; i < 3; i++)
                known = known || strncmp(c, entities[i], strlen(entities[i])) == 0;
            CHECK(known);
        }
    }
    size_t n = strlen(out);
    CHECK(strncmp(out, "<br>", 4) != 0 && (n < 4 || strcmp(out + n - 4, "<br>") != 0));
    CHECK(strstr(out, "<br><br><br>") == NULL);
    /* every line between breaks shows something */
    for (const char *line = out; line != NULL && *line != '\0';) {
        const char *br = strstr(line, "<br>");
        size_t len = br != NULL ? (size_t)(br - line) : strlen(line);
        CHECK(len == 0 ? br != NULL && strncmp(br + 4, "<br>", 4) != 0 && line != out
                       : !blank(line, len));
        line = br != NULL ? br + 4 : NULL;
    }
}

/* The output read back: "<br>" a line break, the three entities undone. */
static char *
read_back(struct sp_arena *a, const char *out)
{
    static const struct {
        const char *from, *to;
    } undo[] = {{"<br>", "\n"}, {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}};
    struct sp_buf b;
    sp_buf_init(&b, a, strlen(out) + 1);
    for (const char *c = out; *c != '\0';) {
        size_t i = 0;
        while (i < 4 && strncmp(c, undo[i].from, strlen(undo[i].from)) != 0)
            i++;
        if (i < 4) {
            sp_buf_puts(&b, undo[i].to);
            c += strlen(undo[i].from);
        } else {
            sp_buf_putc(&b, *c++);
        }
    }
    return b.data;
}

/* What the output must read as: the lines that show something, with one
 * empty line where blank ones were between two of them. */
static char *
expected(struct sp_arena *a, const char *text, size_t len)
{
    struct sp_buf b;
    sp_buf_init(&b, a, len + 1);
    bool gap = false;
    for (size_t i = 0; i <= len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t line = nl != NULL ? (size_t)(nl - (text + i)) : len - i;
        if (blank(text + i, line)) {
            gap = b.len > 0;
        } else {
            if (b.len > 0)
                sp_buf_puts(&b, gap ? "\n\n" : "\n");
            sp_buf_append(&b, text + i, line);
            gap = false;
        }
        i += line + 1;
    }
    return b.data;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n = strnlen((const char *)data, size);
    char *text = malloc(n ? n : 1);
    CHECK(text != NULL);
    memcpy(text, data, n);
    struct sp_arena a;
    sp_arena_init(&a, 4096);
    const char *out = sp_sanitize_text_to_lines(&a, text, n);
    CHECK(out != NULL && sp_utf8_valid(out, strlen(out)));
    check_markup(out);
    if (sp_utf8_valid(text, n))
        CHECK(strcmp(read_back(&a, out), expected(&a, text, n)) == 0);
    sp_arena_destroy(&a);
    free(text);
    return 0;
}
