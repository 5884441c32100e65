/*
 * auth_keys: the verification keyring behind auth.h (internal to
 * src/http/auth*.c): SUPPORT_JWT_KEYS HS256 secrets and RS256/ES256 public
 * keys from a PEM file, each fixed to one algorithm when loaded.
 */
#ifndef SP_AUTH_KEYS_H
#define SP_AUTH_KEYS_H

#include <stddef.h>

#include <jwt.h>

#include "core/keyring.h"
#include "http/auth.h"

/* The verification keys, as a kept key ring: each key's name is its kid
 * (NULL only for public keys without "kid:"), its material the HS256
 * secret or the PEM text, and its use the one algorithm (HS256, RS256 or
 * ES256) it ever checks, fixed when it is loaded: that is the
 * algorithm-confusion guard. */
struct sp_auth_keys {
    struct sp_keyring_keys ring;   /* SUPPORT_JWT_KEYS in order, then the file's keys */
    char *issuer, *audience;
    long leeway;
};

#endif
