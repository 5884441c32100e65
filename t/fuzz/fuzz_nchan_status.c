/*
 * fuzz_nchan_status: libFuzzer target for the nchan_stub_status parser
 * (sp_chat_bus_parse_stats in domain/chat_bus.c: GET /metrics reads
 * nginx's answer). Input: any bytes, NULs included. Aborts unless the
 * parser stays within the input, counts at most one hit per line, and
 * every value is a decimal of at most 18 digits (never negative).
 * Build: scripts/dev fuzz nchan_status (replayed by `make check`).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain/chat_bus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy: ASan sees any read past the end. */
    char *text = malloc(size ? size : 1);
    CHECK(text != NULL);
    memcpy(text, data, size);
    struct sp_chat_bus_stats s;
    sp_chat_bus_parse_stats(text, size, &s);
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += text[i] == '\n';
    CHECK(s.found >= 0 && (size_t)s.found <= lines);
    CHECK(s.published >= 0 && s.published < 1000000000000000000LL);
    CHECK(s.stored >= 0 && s.stored < 1000000000000000000LL);
    CHECK(s.channels >= 0 && s.channels < 1000000000000000000LL);
    CHECK(s.subscribers >= 0 && s.subscribers < 1000000000000000000LL);
    free(text);
    return 0;
}
