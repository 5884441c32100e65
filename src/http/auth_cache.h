/*
 * auth_cache: a per-worker memo of verified bearer tokens. Verifying a JWT
 * (base64, two JSON parses, libjwt, HMAC or RSA/ECDSA) costs tens of
 * microseconds on every request of a client that sends the same token
 * again and again; the memo maps the token's SHA-256 to the principal it
 * proved, until the token expires. Cleared whenever the keys are
 * reloaded, so a removed key stops working at once.
 * Must not: store tokens themselves, or outlive the keyring it was
 * filled under.
 */
#ifndef SP_AUTH_CACHE_H
#define SP_AUTH_CACHE_H

#include <stdbool.h>
#include <time.h>

#include "http/auth.h"

struct sp_arena;

/* True and *out filled (strings copied to the arena) when the token was
 * verified before and is still valid at now (with the same leeway). */
bool sp_auth_cache_get(const char *token, time_t now, long leeway, struct sp_arena *a,
                       struct sp_principal *out);
void sp_auth_cache_put(const char *token, const struct sp_principal *p);
void sp_auth_cache_clear(void);

#endif
