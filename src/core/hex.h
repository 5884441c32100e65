/*
 * hex: hexadecimal digits, the one home for writing and reading them:
 * bytes as lower-case hex (MACs, digests, tokens, embedding vectors),
 * the digit strings the percent, quoted-printable and \u00XX escapers
 * index, and a digit's value for the decoders (URLs, mail, bytea).
 * Which case an escape is written in is the caller's business (RFC 3986
 * and RFC 2045 want upper case, JSON and our MACs lower); reading takes
 * either.
 * Must not: allocate, know what the bytes mean (secrets are the caller's
 * to wipe), or depend on the locale.
 */
#ifndef SP_HEX_H
#define SP_HEX_H

#include <stddef.h>

extern const char sp_hex_lower[17];   /* "0123456789abcdef" */
extern const char sp_hex_upper[17];   /* "0123456789ABCDEF" */

/* Every byte's digit value, -1 for a non-digit: a table, one load a byte,
 * because the AI retrieval decodes ~200 KB of bytea hex a question. */
extern const signed char sp_hex_values[256];

/* c's value as a hex digit (either case): 0..15, or -1. */
static inline int
sp_hex_value(unsigned char c)
{
    return sp_hex_values[c];
}

/* n bytes as 2n lower-case digits and a NUL into out (2n + 1 bytes). */
void sp_hex_encode(char *out, const void *bytes, size_t n);

#endif
