/*
 * fuzz_ticket_subject: libFuzzer target for a ticket's one-line subject
 * (domain/ticket_subject.c): the API's subject field and a mail's Subject
 * header, where a line break or a terminal escape would forge another
 * header or line wherever the subject is shown. Input: a subject (up to
 * its first NUL); invalid UTF-8 is first cleaned as the mail reader does
 * (sp_utf8_clean, SP_UTF8_LINE), since both functions take valid UTF-8.
 * Aborts unless the subject made of any text is valid UTF-8 without C0/C1
 * controls, DEL, line/paragraph separators or bidirectional embeddings,
 * overrides and isolates, has no blank at either end,
 * is no longer than the text (nor than the limit it is given), is the
 * text's own characters with each run of controls and the spaces around it
 * as one space (bidi ones dropped), and
 * is a fixed point
 * (made again, or validated as an API subject, it stays the same); and
 * unless the API's validation refuses a control as `invalid`, refuses
 * exactly what has nothing visible as `empty`, and otherwise agrees with
 * the subject made of the same text.
 * Build: scripts/dev fuzz ticket_subject (replayed by `make check`).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/utf8.h"
#include "domain/ticket_subject.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

/* The code point at s (valid UTF-8), its length in *len. */
static uint32_t
cp_at(const char *s, size_t n, size_t *len)
{
    CHECK(sp_utf8_seq_len(s, n) > 0);
    return sp_utf8_decode(s, n, len);
}

/* Written from the rule, not taken from the code under test. */
static bool
is_control(uint32_t c)
{
    return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x2028 || c == 0x2029;
}

/* Bidirectional embeddings, overrides and isolates: refused in a typed
 * subject, dropped from a made one. */
static bool
is_bidi_control(uint32_t c)
{
    return (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

/* A few blanks everyone agrees on: none may be left at an edge. */
static bool
is_plain_blank(uint32_t c)
{
    return c == ' ' || c == 0xA0 || c == 0x200B || c == 0x200D || c == 0xFEFF ||
           c == 0x3000 || c == 0xFE0F || (c >= 0xE0000 && c <= 0xE007F);
}

static bool
has_control(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0, k; i < n; i += k) {
        uint32_t c = cp_at(s + i, n - i, &k);
        if (is_control(c) || is_bidi_control(c))
            return true;
    }
    return false;
}

/* s with each run of controls, and the spaces around it, as one space
 * and without bidirectional controls, as the mail's subject is read. */
static char *
controls_as_spaces(struct sp_arena *a, const char *s)
{
    size_t n = strlen(s), o = 0;
    char *line = sp_arena_alloc(a, n + 1);
    bool after_control = false;
    for (size_t i = 0, k; i < n; i += k) {
        uint32_t c = cp_at(s + i, n - i, &k);
        if (is_control(c)) {
            while (o > 0 && line[o - 1] == ' ')
                o--;
            line[o++] = ' ';
            after_control = true;
        } else if (c == ' ' && after_control) {
            continue;
        } else if (!is_bidi_control(c)) {
            after_control = false;
            memcpy(line + o, s + i, k);
            o += k;
        }
    }
    line[o] = '\0';
    return line;
}

/* What the API's validation makes of s, and the code it refuses with. */
static const char *
validated(struct sp_arena *a, const char *s, const char **code)
{
    struct sp_problem p;
    sp_problem_init(&p);
    const char *out = sp_ticket_subject(a, "subject", s, &p);
    *code = NULL;
    if (out == NULL) {
        CHECK(p.nerrors == 1);
        CHECK(strcmp(p.errors[0].field, "subject") == 0);
        *code = p.errors[0].code;
    } else {
        CHECK(p.nerrors == 0);
    }
    return out;
}

static void
check_made(struct sp_arena *a, const char *text, const char *out, size_t max)
{
    size_t n = strlen(out), chars = sp_utf8_count(out, n), k;
    CHECK(sp_utf8_valid(out, n));
    CHECK(n > 0 && n <= strlen(text));
    CHECK(chars <= sp_utf8_count(text, strlen(text)));
    CHECK(max == 0 || chars <= max);
    CHECK(!has_control(out));
    CHECK(!is_plain_blank(cp_at(out, n, &k)));
    size_t last = n;
    while (last > 0 && (out[last - 1] & 0xC0) == 0x80)
        last--;
    CHECK(!is_plain_blank(cp_at(out + last - 1, n - last + 1, &k)));
    /* the text's own characters, controls as spaces */
    CHECK(strstr(controls_as_spaces(a, text), out) != NULL);
    /* a fixed point: made again, or validated, it stays the same */
    const char *again = sp_ticket_subject_of_text(a, out, max);
    CHECK(again != NULL && strcmp(again, out) == 0);
    const char *code;
    const char *valid = validated(a, out, &code);
    CHECK(valid != NULL && strcmp(valid, out) == 0);
}

static void
check_subject(struct sp_arena *a, const char *text)
{
    const char *code;
    const char *valid = validated(a, text, &code);
    const char *made = sp_ticket_subject_of_text(a, text, 0);
    if (has_control(text)) {
        CHECK(valid == NULL && strcmp(code, "invalid") == 0);
    } else if (valid == NULL) {
        CHECK(strcmp(code, "empty") == 0 && made == NULL);
    } else {
        /* what the form takes is what a mail of the same text makes */
        CHECK(made != NULL && strcmp(made, valid) == 0);
        CHECK(strstr(text, valid) != NULL);
    }
    if (made != NULL)
        check_made(a, text, made, 0);
    else
        CHECK(validated(a, controls_as_spaces(a, text), &code) == NULL);
    /* cut to a limit (a mail's subject: at most 200 characters) */
    static const size_t limits[] = {1, 2, 7, 200};
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
        const char *cut = sp_ticket_subject_of_text(a, text, limits[i]);
        CHECK((cut == NULL) == (made == NULL));
        if (cut != NULL) {
            check_made(a, text, cut, limits[i]);
            CHECK(strncmp(made, cut, strlen(cut)) == 0);
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_arena a;
    sp_arena_init(&a, 4096);
    const char *text = sp_arena_strndup(&a, (const char *)data, size);
    size_t n = strlen(text);
    if (!sp_utf8_valid(text, n))
        text = sp_utf8_clean(&a, text, n, SP_UTF8_LINE);
    check_subject(&a, text);
    sp_arena_destroy(&a);
    return 0;
}
