/*
 * cursor: base64url keyset tokens. See cursor.h.
 */
#include "core/cursor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const char *
encode(struct sp_arena *a, const char *raw, int n)
{
    char *out = sp_arena_alloc(a, (size_t)n * 4 / 3 + 4);
    size_t o = 0;
    for (int i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)raw[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)raw[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)raw[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = b64url[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = b64url[v & 63];
    }
    out[o] = '\0';
    return out;
}

/* Decodes into raw (NUL-terminated); false for anything malformed,
 * including embedded NULs (bytes after one would be ignored). */
static bool
decode(const char *cursor, char *raw, size_t size)
{
    size_t n = strlen(cursor);
    if (n == 0 || n > 160 || n % 4 == 1)
        return false;
    size_t o = 0;
    unsigned v = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        const char *c = strchr(b64url, cursor[i]);
        if (c == NULL)
            return false;
        v = (v << 6) | (unsigned)(c - b64url);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= size - 1)
                return false;
            raw[o++] = (char)((v >> bits) & 0xff);
        }
    }
    raw[o] = '\0';
    return memchr(raw, '\0', o) == NULL;
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

/* Encodes the n bytes snprintf wrote into raw[size]; n out of range
 * (an error, or a kind too long for raw) encodes as the empty cursor. */
static const char *
encode_printed(struct sp_arena *a, const char *raw, size_t size, int n)
{
    return encode(a, raw, n > 0 && (size_t)n < size ? n : 0);
}

/* Decodes cursor into raw[size] and checks it starts "<version>.<kind>.":
 * what follows, or NULL. */
static const char *
decode_payload(const char *cursor, const char *version, const char *kind, char *raw,
               size_t size)
{
    char prefix[48];
    if (!decode(cursor, raw, size))
        return NULL;
    int plen = snprintf(prefix, sizeof(prefix), "%s.%s.", version, kind);
    if (plen < 0 || strncmp(raw, prefix, (size_t)plen) != 0)
        return NULL;
    return raw + plen;
}

const char *
sp_cursor_encode(struct sp_arena *a, const char *kind, long long position)
{
    char raw[96];
    return encode_printed(a, raw, sizeof(raw),
                          snprintf(raw, sizeof(raw), "c1.%s.%lld", kind, position));
}

bool
sp_cursor_decode(const char *cursor, const char *kind, long long *position)
{
    char raw[128];
    const char *s = decode_payload(cursor, "c1", kind, raw, sizeof(raw));
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
sp_cursor_encode_key(struct sp_arena *a, const char *kind, const struct sp_cursor_key *k)
{
    char raw[128];
    int n = k->has_value
                ? snprintf(raw, sizeof(raw), "c2.%s.%lld.%lld", kind, k->value, k->id)
                : snprintf(raw, sizeof(raw), "c2.%s.n.%lld", kind, k->id);
    return encode_printed(a, raw, sizeof(raw), n);
}

bool
sp_cursor_decode_key(const char *cursor, const char *kind, struct sp_cursor_key *k)
{
    char raw[128];
    const char *s = decode_payload(cursor, "c2", kind, raw, sizeof(raw));
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
