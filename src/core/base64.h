/*
 * base64: RFC 4648 encodings in one home — the URL-safe alphabet without
 * padding (§5, as JWTs use it, RFC 7515 §2: pagination cursors, JWT
 * segments), strict on input; and the standard padded one (§4) that MIME
 * bodies and encoded words are written in.
 * Must not: know what the bytes mean.
 */
#ifndef SP_BASE64_H
#define SP_BASE64_H

#include <stddef.h>

struct sp_arena;
struct sp_buf;

/* n bytes in standard padded base64 appended to out. */
void sp_base64_append(struct sp_buf *out, const void *data, size_t n);

/* n bytes as base64url, NUL-terminated, arena-owned. */
char *sp_b64url_encode(struct sp_arena *a, const void *data, size_t n);

/* Decodes s[0..n) into out[size]: the byte count, or -1 when s is not
 * strict unpadded base64url (empty, a character outside the alphabet, a
 * NUL, a length of 4k+1) or its bytes do not fit. */
long sp_b64url_decode_into(const char *s, size_t n, unsigned char *out, size_t size);

/* The same into arena bytes (a NUL after them, which *outlen does not
 * count); NULL for what the above refuses. */
unsigned char *sp_b64url_decode(struct sp_arena *a, const char *s, size_t n, size_t *outlen);

#endif
