/*
 * auth_cache: direct-mapped memo of verified tokens. See auth_cache.h.
 */
#include "http/auth_cache.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"

#define SLOTS 256

struct slot {
    bool used;
    unsigned char digest[32];
    struct sp_principal who;   /* name/email/phone: malloc'ed copies */
};

static struct slot slots[SLOTS];

static bool
digest(const char *token, unsigned char out[32])
{
    unsigned int len = 0;
    return EVP_Digest(token, strlen(token), out, &len, EVP_sha256(), NULL) == 1 && len == 32;
}

static void
slot_free(struct slot *s)
{
    free((char *)s->who.name);
    free((char *)s->who.email);
    free((char *)s->who.phone);
    OPENSSL_cleanse(s, sizeof(*s));
}

static const char *
copy(struct sp_arena *a, const char *s)
{
    return s ? sp_arena_strdup(a, s) : NULL;
}

bool
sp_auth_cache_get(const char *token, time_t now, long leeway, struct sp_arena *a,
                  struct sp_principal *out)
{
    unsigned char d[32];
    if (!digest(token, d))
        return false;
    struct slot *s = &slots[d[0]];
    if (!s->used || CRYPTO_memcmp(s->digest, d, sizeof(d)) != 0)
        return false;
    if ((long long)now - leeway >= s->who.exp) {  /* the verifier's own expiry rule */
        slot_free(s);
        return false;
    }
    *out = s->who;
    out->name = copy(a, s->who.name);
    out->email = copy(a, s->who.email);
    out->phone = copy(a, s->who.phone);
    return true;
}

static char *
dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

void
sp_auth_cache_put(const char *token, const struct sp_principal *p)
{
    unsigned char d[32];
    if (!digest(token, d))
        return;
    struct slot *s = &slots[d[0]];
    if (s->used)
        slot_free(s);
    s->who = *p;
    s->who.name = dup_or_null(p->name);
    s->who.email = dup_or_null(p->email);
    s->who.phone = dup_or_null(p->phone);
    if ((p->name && !s->who.name) || (p->email && !s->who.email) || (p->phone && !s->who.phone)) {
        slot_free(s);  /* out of memory: just don't remember */
        return;
    }
    memcpy(s->digest, d, sizeof(d));
    s->used = true;
}

void
sp_auth_cache_clear(void)
{
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].used)
            slot_free(&slots[i]);
}
