/*
 * fuzz_media_type: libFuzzer target for the Content-Type reader of JSON
 * bodies (http/request.c sp_media_type_is_json_utf8, which reads it with
 * core/media_type.c, as attachments read their declared type): the header is
 * whatever a client sent, and a wrong "yes" lets a body of another
 * charset reach the JSON parser. Input: byte 0 picks how the rest (up to
 * its first NUL) is read: as the whole value, or as the parameters after
 * "application/json;" (so the fuzzer reaches them at once). The value is
 * an exact-size copy, so ASan catches a read past its NUL.
 * Aborts unless the verdict is the same twice; is the same for the value
 * in upper, lower and mixed letter case (type, subtype, parameter names
 * and the charset's value are case-insensitive, RFC 9110 §8.3.1, and no
 * other parameter's value is judged); and unless an accepted value holds
 * no control but HTAB, names application/json after its leading blanks,
 * stays accepted with leading blanks, an empty parameter, another
 * parameter or charset=utf-8 appended, and is refused with another
 * charset appended.
 * Build: scripts/dev fuzz media_type (replayed by `make check`).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

/* s in a heap block of exactly its length + 1. */
static char *
exact(const char *s, size_t n)
{
    char *c = malloc(n + 1);
    CHECK(c != NULL);
    memcpy(c, s, n);
    c[n] = '\0';
    return c;
}

enum letter_case { UPPER, LOWER, MIXED };

static bool
judged_in_case(const char *s, enum letter_case how)
{
    size_t n = strlen(s);
    char *c = exact(s, n);
    for (size_t i = 0; i < n; i++) {
        char ch = c[i];
        bool up = how == UPPER || (how == MIXED && i % 2 == 0);
        if (up && ch >= 'a' && ch <= 'z')
            c[i] = (char)(ch - 'a' + 'A');
        else if (!up && ch >= 'A' && ch <= 'Z')
            c[i] = (char)(ch - 'A' + 'a');
    }
    bool ok = sp_media_type_is_json_utf8(c);
    free(c);
    return ok;
}

/* The verdict on prefix + s + suffix. */
static bool
judged_with(const char *prefix, const char *s, const char *suffix)
{
    size_t n = strlen(prefix) + strlen(s) + strlen(suffix);
    char *c = malloc(n + 1);
    CHECK(c != NULL);
    snprintf(c, n + 1, "%s%s%s", prefix, s, suffix);
    bool ok = sp_media_type_is_json_utf8(c);
    free(c);
    return ok;
}

static void
check_accepted(const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++)
        CHECK(*c == '\t' || (*c >= 0x20 && *c != 0x7f));
    const char *t = s + strspn(s, " \t");
    CHECK(strncasecmp(t, "application/json", 16) == 0);
    CHECK(judged_with(" \t ", s, ""));
    CHECK(judged_with("", s, ";"));
    CHECK(judged_with("", s, " ; "));
    CHECK(judged_with("", s, ";q=\"a \\\" b\""));
    CHECK(judged_with("", s, "; Charset=UTF-8"));
    CHECK(judged_with("", s, ";charset=\"utf-8\""));
    CHECK(!judged_with("", s, ";charset=latin1"));
    CHECK(!judged_with("", s, ";charset=\"utf-16\""));
    CHECK(!judged_with("", s, "\r\n"));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char params[] = "application/json;";
    const char *text = (const char *)data + 1;
    size_t n = strnlen(text, size - 1);
    char *s;
    if (data[0] & 1) {
        s = malloc(sizeof(params) + n);
        CHECK(s != NULL);
        memcpy(s, params, sizeof(params) - 1);
        memcpy(s + sizeof(params) - 1, text, n);
        s[sizeof(params) - 1 + n] = '\0';
    } else {
        s = exact(text, n);
    }
    bool ok = sp_media_type_is_json_utf8(s);
    CHECK(sp_media_type_is_json_utf8(s) == ok);
    CHECK(judged_in_case(s, UPPER) == ok);
    CHECK(judged_in_case(s, LOWER) == ok);
    CHECK(judged_in_case(s, MIXED) == ok);
    if (ok)
        check_accepted(s);
    CHECK(!sp_media_type_is_json_utf8(NULL));
    free(s);
    return 0;
}
