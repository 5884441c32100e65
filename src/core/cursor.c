/*
 * cursor: sealed base64url keyset tokens. See cursor.h.
 */
#include "core/cursor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/base64.h"
#include "core/crypto.h"

/* The position text's longest (a kind and two int64s) and the sealed
 * token's, in bytes and in base64url characters. */
#define RAW_MAX    128
#define SEALED_MAX (RAW_MAX + SP_CRYPTO_TOKEN_OVERHEAD)
#define TEXT_MAX   ((SEALED_MAX * 4 + 2) / 3)

static struct sp_token_key cursor_key;
static bool keyed;

bool
sp_cursor_set_key(const unsigned char secret[32])
{
    struct sp_token_key k;
    if (!sp_crypto_token_key(secret, &k))
        return false;   /* the key in use, if any, stays */
    cursor_key = k;
    keyed = true;
    explicit_bzero(&k, sizeof(k));
    return true;
}

static const struct sp_token_key *
key(void)
{
    if (!keyed)
        abort(); /* a caller's bug: see sp_cursor_set_key */
    return &cursor_key;
}

/* Parses a decimal int64 that must fill [s, end-of-token). */
static bool
parse_num(const char *s, char stop, long long *out, const char **rest)
{
    if (!((*s >= '0' && *s <= '9') || *s == '-'))
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != stop)
        return false;
    *out = v;
    *rest = end;
    return true;
}

/* Seals the n bytes snprintf wrote into raw[RAW_MAX] for scope, in
 * base64url; n out of range (an error, or a kind too long for raw)
 * encodes as the empty cursor. */
static const char *
encode_printed(struct sp_arena *a, const char *scope, const char *raw, int n)
{
    if (n <= 0 || n >= RAW_MAX)
        return sp_b64url_encode(a, raw, 0);
    unsigned char sealed[SEALED_MAX];
    sp_crypto_token_seal(key(), scope, strlen(scope), raw, (size_t)n, sealed);
    return sp_b64url_encode(a, sealed, (size_t)n + SP_CRYPTO_TOKEN_OVERHEAD);
}

/* Opens cursor for scope into raw[RAW_MAX] and checks it starts
 * "<version>.<kind>.": what follows, or NULL. */
static const char *
decode_payload(const char *cursor, const char *scope, const char *version, const char *kind,
               char *raw)
{
    unsigned char sealed[SEALED_MAX];
    size_t len = strlen(cursor);
    long n = len <= TEXT_MAX ? sp_b64url_decode_into(cursor, len, sealed, sizeof(sealed)) : -1;
    if (n <= SP_CRYPTO_TOKEN_OVERHEAD || n - SP_CRYPTO_TOKEN_OVERHEAD >= RAW_MAX ||
        !sp_crypto_token_open(key(), scope, strlen(scope), sealed, (size_t)n,
                              (unsigned char *)raw))
        return NULL;
    len = (size_t)n - SP_CRYPTO_TOKEN_OVERHEAD;
    raw[len] = '\0';
    char prefix[48];
    int plen = snprintf(prefix, sizeof(prefix), "%s.%s.", version, kind);
    if (memchr(raw, '\0', len) != NULL || plen < 0 || strncmp(raw, prefix, (size_t)plen) != 0)
        return NULL;
    return raw + plen;
}

const char *
sp_cursor_encode(struct sp_arena *a, const char *scope, const char *kind, long long position)
{
    char raw[RAW_MAX];
    int n = snprintf(raw, sizeof(raw), "c1.%s.%lld", kind, position);
    return encode_printed(a, scope, raw, n);
}

bool
sp_cursor_decode(const char *cursor, const char *scope, const char *kind, long long *position)
{
    char raw[RAW_MAX];
    const char *s = decode_payload(cursor, scope, "c1", kind, raw);
    if (s == NULL || s[0] == '0' || s[0] == '-')
        return false;
    const char *rest;
    long long pos;
    if (!parse_num(s, '\0', &pos, &rest) || pos <= 0)
        return false;
    *position = pos;
    return true;
}

const char *
sp_cursor_encode_key(struct sp_arena *a, const char *scope, const char *kind,
                     const struct sp_cursor_key *k)
{
    char raw[RAW_MAX];
    int n = k->has_value
                ? snprintf(raw, sizeof(raw), "c2.%s.%lld.%lld", kind, k->value, k->id)
                : snprintf(raw, sizeof(raw), "c2.%s.n.%lld", kind, k->id);
    return encode_printed(a, scope, raw, n);
}

bool
sp_cursor_decode_key(const char *cursor, const char *scope, const char *kind,
                     struct sp_cursor_key *k)
{
    char raw[RAW_MAX];
    const char *s = decode_payload(cursor, scope, "c2", kind, raw);
    if (s == NULL)
        return false;
    if (s[0] == 'n' && s[1] == '.') {
        k->has_value = false;
        k->value = 0;
        s += 2;
    } else {
        if (!parse_num(s, '.', &k->value, &s))
            return false;
        k->has_value = true;
        s++;
    }
    const char *rest;
    return parse_num(s, '\0', &k->id, &rest) && k->id > 0;
}
