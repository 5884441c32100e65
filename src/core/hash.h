/*
 * hash: FNV-1a, 64 bit — for short keys of in-process tables and names
 * (prepared statements, cache slots), never for anything an attacker
 * could exploit with collisions beyond a cache miss.
 */
#ifndef SP_HASH_H
#define SP_HASH_H

#include <stddef.h>
#include <stdint.h>

#define SP_FNV1A_INIT UINT64_C(1469598103934665603)

/* Continues hash h over n bytes (start with SP_FNV1A_INIT). */
static inline uint64_t
sp_fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * UINT64_C(1099511628211);
    return h;
}

#endif
