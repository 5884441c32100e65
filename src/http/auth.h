/*
 * auth: who is calling. Verifies the bearer JWT of API.md §2 against a
 * keyring built once per worker (at start-up and on SIGHUP) and maps its
 * claims to a principal (user id, role, tier, contact). Also mints HS256
 * tokens for scripts/support-token, tests and benches.
 *
 * Must not: touch the database, decide what a role may do beyond "admin
 * implies agent" (that is the route table's job), log anything, or ever
 * put a token or a secret into a message, a log line or a problem detail.
 *
 * Keys:
 *   SUPPORT_JWT_KEYS  "kid1:secret1,kid2:secret2" - HS256 only. The token's
 *       `kid` header picks the key (unknown kid -> 401); a token without
 *       `kid` uses the first key. A secret is taken literally (no base64),
 *       runs to the next ',' and must be at least 32 bytes (RFC 7518 §3.2).
 *   SUPPORT_JWT_PUBLIC_KEYS_FILE  a text file of one or more PEM public keys
 *       (SubjectPublicKeyInfo, "-----BEGIN PUBLIC KEY-----"), each optionally
 *       preceded by a line "kid: NAME". Blank lines and lines starting with
 *       '#' are ignored; anything else is an error. The key type decides the
 *       one algorithm it verifies: RSA (>= 2048 bits) -> RS256, EC P-256 ->
 *       ES256. A token with `kid` must name a key of its algorithm's type;
 *       a token without `kid` is tried against every key of that type, in
 *       file order. A kid (1-64 visible ASCII, no ',' or ':') must be
 *       unique across both settings. Example:
 *           kid: idp-2026-01
 *           -----BEGIN PUBLIC KEY-----
 *           MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA...
 *           -----END PUBLIC KEY-----
 *
 * Algorithm confusion: the algorithm is read from the token header and
 * checked BEFORE verification; HS256 tokens are only ever checked against
 * SUPPORT_JWT_KEYS secrets, RS256/ES256 tokens only against public keys of
 * the matching type. `none` and every other algorithm are rejected.
 */
#ifndef SP_AUTH_H
#define SP_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/ids.h"
#include "core/problem.h"
#include "core/tier.h"

struct sp_arena;

enum sp_role { SP_ROLE_NONE = 0, SP_ROLE_CUSTOMER, SP_ROLE_AGENT, SP_ROLE_ADMIN, SP_ROLE_MAX };

/* Claim values: "customer", "support_agent", "support_admin"; NULL for
 * SP_ROLE_NONE or out of range. */
const char *sp_role_name(enum sp_role r);
/* Exact claim values only (see sp_role_name); false leaves *out alone. */
bool sp_role_parse(const char *s, enum sp_role *out);

#define SP_AUTH_SUB_MAX   SP_USER_ID_MAX
#define SP_AUTH_TOKEN_MAX 8192   /* longer bearer tokens are rejected unread */

struct sp_principal {
    char sub[SP_AUTH_SUB_MAX + 1]; /* user id as text: `sub` may be a JSON string or integer */
    enum sp_role role;
    enum sp_tier tier;                /* standard when not tier_claimed */
    bool tier_claimed;                /* the token named a tier we know */
    const char *name, *email, *phone; /* arena-owned or NULL */
    long long exp;                    /* the token's exp (seconds), for caches */
};

/* Admin implies agent; SP_ROLE_NONE is never satisfied nor needed. */
bool sp_principal_has_role(const struct sp_principal *p, enum sp_role needed);

struct sp_auth_keys; /* opaque, worker-lifetime keyring */

struct sp_auth_config {
    const char *hs_keys;          /* SUPPORT_JWT_KEYS or NULL */
    const char *public_keys_file; /* SUPPORT_JWT_PUBLIC_KEYS_FILE or NULL */
    const char *issuer, *audience;/* checked when non-NULL and non-empty */
    long leeway_seconds;          /* 60 per API.md; 0..3600 */
};

/* Builds the keyring; at least one key source must be set. Returns a
 * heap object the caller frees with sp_auth_keys_free, or NULL with a
 * message naming the bad setting (never a secret) in err. */
struct sp_auth_keys *sp_auth_keys_load(const struct sp_auth_config *cfg, char *err, size_t errlen);
/* Wipes secrets and frees; NULL is fine. */
void sp_auth_keys_free(struct sp_auth_keys *k);
long sp_auth_keys_leeway(const struct sp_auth_keys *k);

/* Verifies a compact JWT at time `now`. On success fills *out (strings in
 * a) and returns SP_OK. On failure returns SP_UNAUTHORIZED with p->code
 * "unauthorized" and a short detail ("token expired", "bad signature", ...)
 * that never echoes the token. */
enum sp_rc sp_auth_verify(const struct sp_auth_keys *k, struct sp_arena *a, const char *token,
                          time_t now, struct sp_principal *out, struct sp_problem *p);

/* Mints an HS256 token with `kid` in the header (when non-NULL), claims
 * sub, role, iat = now, exp = now + ttl_seconds (ttl must be > 0), then the
 * members of extra_json (a JSON object text, may be NULL), which override.
 * Returns an arena-owned string, or NULL on bad arguments. */
char *sp_auth_mint_hs256(struct sp_arena *a, const char *kid, const char *secret, const char *sub,
                         enum sp_role role, time_t now, long ttl_seconds, const char *extra_json);
/* The same with the keyring's default (first) HS256 key and its kid, so a
 * caller never handles the secret. NULL when the keyring has no HS key. */
char *sp_auth_mint_default(const struct sp_auth_keys *k, struct sp_arena *a, const char *sub,
                           enum sp_role role, time_t now, long ttl_seconds, const char *extra_json);

#endif
