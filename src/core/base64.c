/*
 * base64: RFC 4648 base64 and base64url. See base64.h.
 */
#include "core/base64.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char standard[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* n bytes in tab's alphabet into out (room for n / 3 * 4 + 4), padded
 * with '=' or not, and a NUL: the characters written. */
static size_t
encode_into(char *out, const unsigned char *in, size_t n, const char *tab, bool pad)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        if (i + 1 < n || pad)
            out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        if (i + 2 < n || pad)
            out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

void
sp_base64_append(struct sp_buf *out, const void *data, size_t n)
{
    sp_buf_reserve(out, n / 3 * 4 + 4);
    out->len += encode_into(out->data + out->len, data, n, standard, true);
}

char *
sp_b64url_encode(struct sp_arena *a, const void *data, size_t n)
{
    char *out = sp_arena_alloc(a, n / 3 * 4 + 4);
    encode_into(out, data, n, alphabet, false);
    return out;
}

long
sp_b64url_decode_into(const char *s, size_t n, unsigned char *out, size_t size)
{
    if (n == 0 || n % 4 == 1)
        return -1;
    uint32_t acc = 0;   /* only the low `bits` bits matter; wrap-around is fine */
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *v = s[i] != '\0' ? strchr(alphabet, s[i]) : NULL;
        if (v == NULL)
            return -1;
        acc = (acc << 6) | (uint32_t)(v - alphabet);
        if ((bits += 6) >= 8) {
            if (o >= size)
                return -1;
            out[o++] = (unsigned char)(acc >> (bits -= 8));
        }
    }
    return (long)o;
}

unsigned char *
sp_b64url_decode(struct sp_arena *a, const char *s, size_t n, size_t *outlen)
{
    size_t size = n / 4 * 3 + 3;
    unsigned char *out = sp_arena_alloc(a, size + 1);
    long len = sp_b64url_decode_into(s, n, out, size);
    if (len < 0)
        return NULL;
    out[len] = '\0';
    *outlen = (size_t)len;
    return out;
}
