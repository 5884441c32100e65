/*
 * stamp_cache: a bounded per-process cache of rendered representations,
 * each valid only while its stamp (a version number and a short tag) is
 * the one the caller reads from the source of truth. The caller still asks
 * the database for the stamp on every use, so a cached value is never
 * served after a change has committed: what the cache saves is building
 * the representation, not checking it.
 * Direct-mapped: a key evicts whatever other key hashes to its slot.
 * Must not: decide freshness itself (no clocks), or know HTTP or SQL.
 */
#ifndef SP_STAMP_CACHE_H
#define SP_STAMP_CACHE_H

#include <stdbool.h>
#include <stddef.h>

struct sp_stamp_cache;

struct sp_stamped {
    long long version;
    const char *tag;        /* NULL is a tag of its own, unequal to "" */
    const char *value;      /* valid until the next put or free */
    size_t len;
};

/* slots == 0 gives a cache that stores nothing; values longer than
 * max_value are not stored, nor any value that would take the stored
 * values past max_total bytes. NULL when out of memory. */
struct sp_stamp_cache *sp_stamp_cache_new(size_t slots, size_t max_value, size_t max_total);
void sp_stamp_cache_free(struct sp_stamp_cache *c);

/* The entry of key, whatever its stamp; false when there is none. */
bool sp_stamp_cache_find(const struct sp_stamp_cache *c, const char *key, struct sp_stamped *out);
/* True when out (from find) carries this stamp. */
bool sp_stamped_matches(const struct sp_stamped *s, long long version, const char *tag);
/* Stores value under key with its stamp, replacing the slot's entry. */
void sp_stamp_cache_put(struct sp_stamp_cache *c, const char *key, long long version,
                        const char *tag, const char *value, size_t len);

#endif
