/*
 * fuzz_embed: libFuzzer target for the embedded embedder's term splitter
 * (src/core/embed.c), which reads every passage and every AI question.
 * Besides crashes and sanitizer reports it aborts when a term breaks an
 * invariant: 1..SP_EMBED_TERM_MAX bytes, no ASCII upper-case letter,
 * punctuation, control or space in it, no more terms than input bytes;
 * the vector is finite and, when not zero, of length 1; coverage is
 * within 0..1.
 * Build: scripts/dev fuzz embed
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/embed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_term(const char *term, size_t len, void *arg)
{
    size_t *count = arg;
    if (len == 0 || len > SP_EMBED_TERM_MAX)
        abort();
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)term[i];
        if ((c >= 'A' && c <= 'Z') || (c < 0x80 && !(c >= 'a' && c <= 'z') &&
                                       !(c >= '0' && c <= '9')))
            abort();
    }
    (*count)++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t count = 0;
    sp_embed_terms(text, size, check_term, &count);
    if (count > size)   /* every term takes at least a byte of its own */
        abort();
    float v[SP_EMBED_DIM];
    sp_embed_text(text, size, v);
    double norm = 0;
    for (size_t i = 0; i < SP_EMBED_DIM; i++)
        norm += (double)v[i] * v[i];
    if (!isfinite(norm) || (norm != 0 && fabs(norm - 1) > 1e-3))
        abort();
    size_t half = size / 2;
    double cov = sp_embed_coverage(text, half, text + half, size - half);
    if (!(cov >= 0 && cov <= 1))
        abort();
    return 0;
}
