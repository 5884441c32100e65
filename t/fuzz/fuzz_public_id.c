/*
 * fuzz_public_id: libFuzzer target for reading a public id as a client
 * writes it (core/ids.c sp_public_id_read): ticket, chat session and
 * attachment ids in paths, queries and bodies, in any letter case
 * (docs/API.md §1). Input: the text (up to its first NUL), in an
 * exact-size copy so ASan catches a read past its NUL; the answer goes to
 * an exact-size buffer, so a write past it is caught too.
 * Aborts unless the answer is the same twice, and, for a text read as an
 * id: the text is 12 characters; the id is NUL-terminated, 12 characters
 * of Crockford base32 in upper case (the canonical form ids are made and
 * stored in), a letter first, the text's own characters upper-cased and,
 * after the first, O read as 0 and I and L as 1 (Crockford's decoding); it
 * is sp_public_id_valid and reads as itself; and the text in upper, lower
 * or mixed case reads as the same id. A text not read as an id is not
 * read in any other case either, and is not valid as it stands.
 * Build: scripts/dev fuzz public_id (replayed by `make check`).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

/* Written from API.md §1, not taken from the code under test. */
static const char symbols[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
static const char letters[] = "ABCDEFGHJKMNPQRSTVWXYZ";

static char
upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Crockford's decoding of a character after the first (API.md §1). */
static char
decoded(char c)
{
    c = upper(c);
    return c == 'O' ? '0' : c == 'I' || c == 'L' ? '1' : c;
}

enum letter_case { UPPER, LOWER, MIXED };

static char *
in_case(const char *s, size_t n, enum letter_case how)
{
    char *c = malloc(n + 1);
    CHECK(c != NULL);
    for (size_t i = 0; i < n; i++) {
        bool up = how == UPPER || (how == MIXED && i % 2 == 1);
        c[i] = up ? upper(s[i]) : s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
    }
    c[n] = '\0';
    return c;
}

/* sp_public_id_read into an exact-size heap buffer. */
static bool
read_id(const char *s, char **out)
{
    *out = malloc(SP_PUBLIC_ID_LEN + 1);
    CHECK(*out != NULL);
    bool ok = sp_public_id_read(s, *out);
    if (!ok) {
        free(*out);
        *out = NULL;
    }
    return ok;
}

static void
check_id(const char *s, size_t n, const char *id)
{
    CHECK(n == SP_PUBLIC_ID_LEN && id[SP_PUBLIC_ID_LEN] == '\0');
    CHECK(strchr(letters, id[0]) != NULL && id[0] != '\0');
    for (size_t i = 0; i < SP_PUBLIC_ID_LEN; i++) {
        CHECK(id[i] != '\0' && strchr(symbols, id[i]) != NULL);
        CHECK(id[i] == (i == 0 ? upper(s[i]) : decoded(s[i])));
    }
    CHECK(sp_public_id_valid(id));
    CHECK(sp_public_id_valid(s) == (strcmp(s, id) == 0));
    char *again;
    CHECK(read_id(id, &again) && strcmp(again, id) == 0);
    free(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n = strnlen((const char *)data, size);
    char *s = malloc(n + 1);
    CHECK(s != NULL);
    memcpy(s, data, n);
    s[n] = '\0';
    char *id, *twice;
    bool ok = read_id(s, &id);
    CHECK(read_id(s, &twice) == ok);
    if (ok) {
        CHECK(strcmp(id, twice) == 0);
        check_id(s, n, id);
    } else {
        CHECK(!sp_public_id_valid(s));
    }
    static const enum letter_case cases[] = {UPPER, LOWER, MIXED};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *v = in_case(s, n, cases[i]), *vid;
        CHECK(read_id(v, &vid) == ok);
        CHECK(!ok || strcmp(vid, id) == 0);
        free(vid);
        free(v);
    }
    free(id);
    free(twice);
    free(s);
    return 0;
}
