/*
 * cursor: base64url keyset tokens. See cursor.h.
 */
#include "http/cursor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const char *
sp_cursor_encode(struct sp_arena *a, const char *kind, long long position)
{
    char raw[96];
    int n = snprintf(raw, sizeof(raw), "c1.%s.%lld", kind, position);
    if (n < 0 || (size_t)n >= sizeof(raw))
        n = 0;
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

bool
sp_cursor_decode(const char *cursor, const char *kind, long long *position)
{
    size_t n = strlen(cursor);
    if (n == 0 || n > 120 || n % 4 == 1)
        return false;
    char raw[96];
    size_t o = 0;
    unsigned v = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        const char *c = strchr(b64url, cursor[i]);
        if (c == NULL || cursor[i] == '\0')
            return false;
        v = (v << 6) | (unsigned)(c - b64url);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= sizeof(raw) - 1)
                return false;
            raw[o++] = (char)((v >> bits) & 0xff);
        }
    }
    raw[o] = '\0';
    if (memchr(raw, '\0', o) != NULL)
        return false;  /* bytes after an embedded NUL would be ignored */
    char prefix[48];
    int plen = snprintf(prefix, sizeof(prefix), "c1.%s.", kind);
    if (plen < 0 || strncmp(raw, prefix, (size_t)plen) != 0)
        return false;
    const char *num = raw + plen;
    if (*num < '1' || *num > '9')
        return false;
    char *end;
    errno = 0;
    long long pos = strtoll(num, &end, 10);
    if (errno != 0 || *end != '\0' || pos <= 0)
        return false;
    *position = pos;
    return true;
}
