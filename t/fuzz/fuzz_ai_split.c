/*
 * fuzz_ai_split: libFuzzer target for the knowledge-base splitter
 * (src/domain/ai_split.c), which reads every published article. Besides
 * crashes and sanitizer reports it aborts when a chunk breaks an
 * invariant: non-empty, at most the target size plus one overlap, its
 * length as said, valid UTF-8 when the input was. Inputs with a NUL
 * byte are skipped: articles come from PostgreSQL text, which cannot
 * hold one, and a NUL would end a chunk's text before its length.
 * Build: scripts/dev fuzz ai_split
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/utf8.h"
#include "domain/ai_chunks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memchr(data, 0, size) != NULL)
        return 0;
    struct sp_arena a;
    sp_arena_init(&a, 4096);
    size_t n;
    struct sp_ai_chunk *c = sp_ai_split(&a, "T", (const char *)data, size, &n);
    bool valid = sp_utf8_valid((const char *)data, size);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(c[i].text);
        if (len == 0 || len != c[i].len || len > SP_AI_CHUNK_TARGET + SP_AI_CHUNK_OVERLAP ||
            c[i].heading_path == NULL || (valid && !sp_utf8_valid(c[i].text, len)))
            abort();
    }
    sp_arena_destroy(&a);
    return 0;
}
