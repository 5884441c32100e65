/*
 * hex: hexadecimal digits. See hex.h.
 * Must not: allocate or depend on the locale (no isxdigit/tolower).
 */
#include "core/hex.h"

const char sp_hex_lower[17] = "0123456789abcdef";
const char sp_hex_upper[17] = "0123456789ABCDEF";

/* Written out in full: a designated initializer would leave the
 * non-digits 0, a digit's value. */
#define NONE16 -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1
const signed char sp_hex_values[256] = {
    NONE16, NONE16, NONE16,                                          /* 0x00-0x2f */
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -1, -1, -1, -1, -1,            /* '0'-'9' */
    -1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1,  /* 'A'-'F' */
    NONE16,                                                          /* 0x50-0x5f */
    -1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1,  /* 'a'-'f' */
    NONE16, NONE16, NONE16, NONE16, NONE16, NONE16, NONE16, NONE16,  /* 0x70-0xef */
    NONE16,                                                          /* 0xf0-0xff */
};

void
sp_hex_encode(char *out, const void *bytes, size_t n)
{
    const unsigned char *p = bytes;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = sp_hex_lower[p[i] >> 4];
        out[2 * i + 1] = sp_hex_lower[p[i] & 15];
    }
    out[2 * n] = '\0';
}
