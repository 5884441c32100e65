/*
 * ticket_subject: a subject's one-line rule. See ticket_subject.h.
 */
#include "domain/ticket_subject.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/utf8.h"

/* Controls and line breaks: C0, DEL, C1 (NEL among them), U+2028/2029. */
static bool
is_control(uint32_t c)
{
    return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x2028 || c == 0x2029;
}

/* Bidirectional embeddings, overrides and isolates (U+202A-202E,
 * U+2066-2069): they reorder what follows on the line, so a subject
 * "Refund \u202etxt.exe" showed staff "Refund exe.txt" and reversed the
 * [ID] tag a mail's subject puts after it (QA). The marks (LRM, RLM,
 * ALM) only set a direction and stay, as blanks. */
static bool
is_bidi_control(uint32_t c)
{
    return (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

const char *
sp_ticket_subject(struct sp_arena *a, const char *field, const char *s, struct sp_problem *p)
{
    size_t n = strlen(s), start = n, end = 0;
    for (size_t i = 0, k; i < n; i += k) {
        uint32_t c = sp_utf8_decode(s + i, n - i, &k);
        if (is_control(c)) {
            sp_problem_field(p, field, "invalid",
                             "must be one line of text, without line breaks or control "
                             "characters");
            return NULL;
        }
        if (is_bidi_control(c)) {
            sp_problem_field(p, field, "invalid",
                             "must not contain bidirectional embedding, override or isolate "
                             "characters (U+202A-U+202E, U+2066-U+2069): they reorder the line");
            return NULL;
        }
        if (sp_utf8_blank(c))
            continue;
        if (start == n)
            start = i;
        end = i + k;
    }
    if (start == n) {
        sp_problem_field(p, field, "empty", "has no visible text");
        return NULL;
    }
    return sp_arena_strndup(a, s + start, end - start);
}

const char *
sp_ticket_subject_max(struct sp_arena *a, const char *field, const char *s, size_t max,
                      struct sp_problem *p)
{
    const char *out = sp_ticket_subject(a, field, s, p);
    if (out != NULL && sp_utf8_count(out, strlen(out)) > max) {
        sp_problem_fieldf(p, field, "too_long", "must be at most %zu characters", max);
        return NULL;
    }
    return out;
}

/* The first max characters of s (all of it when max is 0). */
static size_t
first_chars(const char *s, size_t n, size_t max)
{
    size_t i = 0;
    for (size_t chars = 0; i < n && (max == 0 || chars < max); chars++) {
        size_t k = sp_utf8_seq_len(s + i, n - i);
        i += k > 0 ? k : 1;
    }
    return i;
}

const char *
sp_ticket_subject_of_text(struct sp_arena *a, const char *s, size_t max)
{
    size_t n = strlen(s), o = 0;
    char *line = sp_arena_alloc(a, n + 1);
    bool after_control = false;   /* the spaces after a run of controls go with it */
    for (size_t i = 0, k; i < n; i += k) {
        uint32_t c = sp_utf8_decode(s + i, n - i, &k);
        if (is_control(c)) {   /* "a \r\n b" is "a b", as the line reads */
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
    struct sp_problem none;
    sp_problem_init(&none);
    const char *out = sp_ticket_subject(a, "subject", line, &none);
    if (out == NULL || max == 0)
        return out;
    /* Cut, then trimmed again: the cut may end on a blank. */
    n = strlen(out);
    return sp_ticket_subject(a, "subject", sp_arena_strndup(a, out, first_chars(out, n, max)),
                             &none);
}
