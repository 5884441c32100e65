/*
 * fuzz_rfc3339: libFuzzer target for RFC 3339 timestamps (core/rfc3339.c):
 * query parameters (created_after, since) and the jobs' --now are
 * whatever a client or an operator typed. Input: a timestamp (up to its
 * first NUL). Aborts unless an accepted timestamp formats to the API's
 * own form (24 characters, "YYYY-MM-DDTHH:MM:SS.mmmZ") that reads back to
 * the same instant; unless a byte appended to an accepted one makes it
 * refused; and unless the API's own form of any instant parsed is
 * accepted as itself.
 * Build: scripts/dev fuzz rfc3339 (replayed by `make check`).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/rfc3339.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[64];
    if (size >= sizeof(s) - 1)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t ms;
    if (!sp_rfc3339_parse(s, &ms))
        return 0;
    char out[SP_RFC3339_LEN];
    sp_rfc3339_format(ms, out);
    CHECK(strlen(out) == SP_RFC3339_LEN - 1 && out[10] == 'T' && out[23] == 'Z');
    int64_t again;
    CHECK(sp_rfc3339_parse(out, &again) && again == ms);
    size_t n = strlen(s);
    s[n] = '0';
    s[n + 1] = '\0';
    CHECK(!sp_rfc3339_parse(s, &again));
    return 0;
}
