/*
 * fuzz_utf8: libFuzzer target for src/core/utf8.c, the gate of every
 * body (sp_json_parse refuses invalid UTF-8) and of every length limit
 * (code points). Differential against a reference decoder written from
 * the table of well-formed byte sequences (Unicode 15, Table 3-7): the
 * same verdict, the same sequence lengths, the same code-point count;
 * and the trimming of blank code points (sp_utf8_trim_blank).
 * Build: scripts/dev fuzz utf8 (replayed by `make check` as t/fuzz/fuzz_utf8).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

/* Table 3-7: first byte range, then the allowed range of each next byte. */
static const struct {
    uint8_t lo, hi;
    uint8_t n;
    uint8_t next[3][2];
} table[] = {
    {0x00, 0x7f, 1, {{0, 0}, {0, 0}, {0, 0}}},
    {0xc2, 0xdf, 2, {{0x80, 0xbf}, {0, 0}, {0, 0}}},
    {0xe0, 0xe0, 3, {{0xa0, 0xbf}, {0x80, 0xbf}, {0, 0}}},
    {0xe1, 0xec, 3, {{0x80, 0xbf}, {0x80, 0xbf}, {0, 0}}},
    {0xed, 0xed, 3, {{0x80, 0x9f}, {0x80, 0xbf}, {0, 0}}},
    {0xee, 0xef, 3, {{0x80, 0xbf}, {0x80, 0xbf}, {0, 0}}},
    {0xf0, 0xf0, 4, {{0x90, 0xbf}, {0x80, 0xbf}, {0x80, 0xbf}}},
    {0xf1, 0xf3, 4, {{0x80, 0xbf}, {0x80, 0xbf}, {0x80, 0xbf}}},
    {0xf4, 0xf4, 4, {{0x80, 0x8f}, {0x80, 0xbf}, {0x80, 0xbf}}},
};

static size_t
ref_seq(const uint8_t *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t t = 0; t < sizeof(table) / sizeof(table[0]); t++) {
        if (s[0] < table[t].lo || s[0] > table[t].hi)
            continue;
        if (n < table[t].n)
            return 0;
        for (size_t i = 1; i < table[t].n; i++)
            if (s[i] < table[t].next[i - 1][0] || s[i] > table[t].next[i - 1][1])
                return 0;
        return table[t].n;
    }
    return 0;
}

/* Trimming valid text leaves valid text inside it, with no blank code
 * point at either end, and trimming that again changes nothing. */
static void
check_trim(const char *s, size_t size)
{
    const char *b = s, *e = s + size;
    sp_utf8_trim_blank(&b, &e);
    CHECK(s <= b && b <= e && e <= s + size);
    CHECK(sp_utf8_valid(b, (size_t)(e - b)));
    if (b < e) {
        size_t len;
        CHECK(!sp_utf8_blank(sp_utf8_decode(b, (size_t)(e - b), &len)));
        const char *last = e - 1;
        while (((unsigned char)*last & 0xc0) == 0x80)
            last--;
        CHECK(!sp_utf8_blank(sp_utf8_decode(last, (size_t)(e - last), &len)));
    }
    const char *b2 = b, *e2 = e;
    sp_utf8_trim_blank(&b2, &e2);
    CHECK(b2 == b && e2 == e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    bool valid = true;
    size_t cps = 0;
    for (size_t i = 0; i < size;) {
        size_t want = ref_seq(data + i, size - i);
        CHECK(sp_utf8_seq_len(s + i, size - i) == want);
        if (want == 0) {
            valid = false;
            i++;
        } else {
            cps++;
            i += want;
        }
    }
    CHECK(sp_utf8_valid(s, size) == valid);
    if (valid) {
        CHECK(sp_utf8_count(s, size) == cps);
        check_trim(s, size);
    }
    CHECK(sp_utf8_seq_len(s, 0) == 0);
    return 0;
}
