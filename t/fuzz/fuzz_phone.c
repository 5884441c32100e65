/*
 * fuzz_phone: libFuzzer target for phone numbers (core/phone.c): the
 * `phone` claim is whatever a token's issuer stored, and it is posted to
 * the SMS gateway. Input: a number (up to its first NUL). Aborts unless
 * an accepted number is '+' and 8 to 15 digits, the first not 0; unless
 * its digits are the input's own, in order (after a "00" prefix); and
 * unless it reads back as itself.
 * Build: scripts/dev fuzz phone (replayed by `make check`).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/phone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_arena a;
    sp_arena_init(&a, 1024);
    char *s = sp_arena_alloc(&a, size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    const char *e = sp_phone_e164(&a, s);
    if (e != NULL) {
        size_t n = strlen(e);
        CHECK(e[0] == '+' && n >= 9 && n <= 16 && e[1] != '0');
        CHECK(strspn(e + 1, "0123456789") == n - 1);
        /* the input's digits after its prefix ('+', or the "00" one) */
        const char *p = strpbrk(s, "+0");
        CHECK(p != NULL);
        p += *p == '+' ? 1 : 2;
        size_t k = 1;
        for (; *p != '\0'; p++)
            if (*p >= '0' && *p <= '9')
                CHECK(k < n && *p == e[k++]);
        CHECK(k == n);
        const char *again = sp_phone_e164(&a, e);
        CHECK(again != NULL && strcmp(again, e) == 0);
    }
    sp_arena_destroy(&a);
    return 0;
}
