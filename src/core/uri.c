/*
 * uri: percent-encoding. See uri.h.
 */
#include "core/uri.h"

#include "core/arena.h"
#include "core/hex.h"

static bool
unreserved(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

char *
sp_uri_encode(struct sp_arena *a, const char *s, size_t n, bool keep_slash)
{
    char *out = sp_arena_alloc(a, 3 * n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (unreserved(ch) || (keep_slash && ch == '/')) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = sp_hex_upper[ch >> 4];
            out[o++] = sp_hex_upper[ch & 15];
        }
    }
    out[o] = '\0';
    return out;
}
