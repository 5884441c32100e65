/*
 * stamp_cache: see stamp_cache.h. One malloc per entry holds the key, the
 * tag and the value side by side.
 */
#include "core/stamp_cache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"

struct entry {
    long long version;
    bool has_tag;
    size_t key_len, tag_len, value_len;
    char data[];            /* key NUL tag NUL value NUL */
};

/* One allocation: the header and its slots. */
struct sp_stamp_cache {
    size_t nslots;
    size_t max_value;
    size_t max_total, total;    /* bytes of stored values */
    struct entry *slots[];
};

struct sp_stamp_cache *
sp_stamp_cache_new(size_t slots, size_t max_value, size_t max_total)
{
    if (slots > (SIZE_MAX - sizeof(struct sp_stamp_cache)) / sizeof(struct entry *))
        return NULL;
    struct sp_stamp_cache *c = calloc(1, sizeof(*c) + slots * sizeof(c->slots[0]));
    if (c == NULL)
        return NULL;
    c->nslots = slots;
    c->max_value = max_value;
    c->max_total = max_total;
    return c;
}

void
sp_stamp_cache_free(struct sp_stamp_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nslots; i++)
        free(c->slots[i]);
    free(c);
}

/* A collision only costs a rebuild. */
static size_t
slot_of(const struct sp_stamp_cache *c, const char *key, size_t len)
{
    return (size_t)(sp_fnv1a(SP_FNV1A_INIT, key, len) % c->nslots);
}

bool
sp_stamp_cache_find(const struct sp_stamp_cache *c, const char *key, struct sp_stamped *out)
{
    if (c == NULL || c->nslots == 0)
        return false;
    size_t klen = strlen(key);
    const struct entry *e = c->slots[slot_of(c, key, klen)];
    if (e == NULL || e->key_len != klen || memcmp(e->data, key, klen) != 0)
        return false;
    const char *tag = e->data + klen + 1;
    out->version = e->version;
    out->tag = e->has_tag ? tag : NULL;
    out->value = tag + e->tag_len + 1;
    out->len = e->value_len;
    return true;
}

bool
sp_stamped_matches(const struct sp_stamped *s, long long version, const char *tag)
{
    if (s->version != version)
        return false;
    if (s->tag == NULL || tag == NULL)
        return s->tag == tag;
    return strcmp(s->tag, tag) == 0;
}

void
sp_stamp_cache_put(struct sp_stamp_cache *c, const char *key, long long version, const char *tag,
                   const char *value, size_t len)
{
    if (c == NULL || c->nslots == 0)
        return;
    size_t klen = strlen(key), tlen = tag != NULL ? strlen(tag) : 0;
    struct entry **slot = &c->slots[slot_of(c, key, klen)];
    if (*slot != NULL)
        c->total -= (*slot)->value_len;
    free(*slot);
    *slot = NULL;
    if (len > c->max_value || len > c->max_total - c->total)
        return;  /* the old entry is gone all the same: it is stale now */
    struct entry *e = malloc(sizeof(*e) + klen + tlen + len + 3);
    if (e == NULL)
        return;  /* not cached this time; the answer is still right */
    e->version = version;
    e->has_tag = tag != NULL;
    e->key_len = klen;
    e->tag_len = tlen;
    e->value_len = len;
    char *p = e->data;
    memcpy(p, key, klen + 1);
    p += klen + 1;
    memcpy(p, tag != NULL ? tag : "", tlen + 1);
    p += tlen + 1;
    memcpy(p, value, len);
    p[len] = '\0';
    *slot = e;
    c->total += len;
}
