/*
 * auth_keys: the verification keyring behind auth.h (internal to
 * src/http/auth*.c): SUPPORT_JWT_KEYS HS256 secrets and RS256/ES256 public
 * keys from a PEM file, each fixed to one algorithm when loaded.
 */
#ifndef SP_AUTH_KEYS_H
#define SP_AUTH_KEYS_H

#include <stddef.h>

#include <jwt.h>

#include "http/auth.h"

/* One verification key. The algorithm is fixed when the key is loaded and
 * is the only one it ever checks: that is the algorithm-confusion guard. */
struct sp_auth_key {
    char *kid;           /* NULL only for public keys without "kid:" */
    char *material;      /* HS256: the secret (wiped on free); else PEM */
    size_t len;
    jwt_alg_t alg;       /* HS256, RS256 or ES256 */
};

struct sp_auth_keys {
    struct sp_auth_key *keys;    /* SUPPORT_JWT_KEYS in order, then the file's keys */
    size_t n;
    char *issuer, *audience;
    long leeway;
};

#endif
