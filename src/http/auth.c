/*
 * auth: bearer JWT verification and HS256 minting. See auth.h for the key
 * formats and the algorithm-confusion rules; the keyring is auth_keys.c.
 *
 * We parse the header and claims ourselves (strict json-c) and use libjwt
 * only to check the signature with a key our header parse chose; the
 * claims we map are the exact bytes that signature covers. Must not: log,
 * echo tokens or secrets into problems, or keep per-request state.
 */
#include "http/auth.h"
#include "http/auth_keys.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/arena.h"
#include "core/ascii.h"
#include "core/base64.h"
#include "core/ids.h"
#include "core/json.h"

/* The claim values of API.md §2, indexed by the enums. */
static const char *const role_names[SP_ROLE_MAX] = { NULL, "customer", "support_agent", "support_admin" };


const char *
sp_role_name(enum sp_role r)
{
    return (r > SP_ROLE_NONE && r < SP_ROLE_MAX) ? role_names[r] : NULL;
}

static int
table_find(const char *const *names, int from, int n, const char *s)
{
    for (int i = from; s != NULL && i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

bool
sp_role_parse(const char *s, enum sp_role *out)
{
    int i = table_find(role_names, SP_ROLE_NONE + 1, SP_ROLE_MAX, s);
    if (i >= 0)
        *out = (enum sp_role)i;
    return i >= 0;
}

bool
sp_principal_has_role(const struct sp_principal *p, enum sp_role needed)
{
    if (p == NULL || needed <= SP_ROLE_NONE || needed >= SP_ROLE_MAX)
        return false;
    return p->role == needed || (p->role == SP_ROLE_ADMIN && needed == SP_ROLE_AGENT);
}

/* ---- verification ----------------------------------------------------- */

static enum sp_rc
deny(struct sp_problem *p, const char *detail)
{
    return sp_problem_set(p, SP_UNAUTHORIZED, "unauthorized", "%s", detail);
}

/* Decodes one segment into a JSON object owned by the arena, or NULL.
 * Read as request bodies are (core/json): a member named twice is
 * refused, since json-c keeps the last ({"role":"customer",
 * "role":"support_admin"}) where another reader may keep the first. */
/* RFC 8259 §7: a string holds no raw control character (escaped, it
 * may). json-c takes one, libjwt's reader refuses the token: refused
 * here as malformed, not later as a bad signature. */
static bool
raw_control_in_string(const char *s, size_t n)
{
    bool in = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (in && c == '\\')
            i++;
        else if (c == '"')
            in = !in;
        else if (in && c < 0x20)
            return true;
    }
    return false;
}

static json_object *
segment_json(struct sp_arena *a, const char *s, size_t n)
{
    size_t len;
    char *raw = (char *)sp_b64url_decode(a, s, n, &len);
    if (raw == NULL || len > INT_MAX || raw_control_in_string(raw, len))
        return NULL;
    struct sp_problem p;
    sp_problem_init(&p);
    json_object *o = sp_json_parse(a, raw, len, &p);
    return o != NULL && json_object_is_type(o, json_type_object) ? o : NULL;
}

/* A string member without embedded NULs, or NULL. */
static const char *
get_str(json_object *o, const char *name)
{
    json_object *v;
    if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    const char *s = json_object_get_string(v);
    return strlen(s) == (size_t)json_object_get_string_len(v) ? s : NULL;
}

/* 1 numeric (int or double, RFC 7519 NumericDate), 0 absent, -1 anything else. */
static int
num_claim(json_object *c, const char *name, double *out)
{
    json_object *v;
    if (!json_object_object_get_ex(c, name, &v))
        return 0;
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
        return -1;
    *out = json_object_get_double(v);
    return isfinite(*out) ? 1 : -1;
}

/* What libjwt (jansson underneath) will not read in a token json-c
 * reads: an integer beyond int64 (a 20-digit numeric sub, a far exp) or
 * a string holding a NUL. Said as such, or a token signed with the right
 * key would be refused as a "bad signature" (QA). NULL: readable. */
static const char *
unreadable_value(json_object *o)
{
    switch (json_object_get_type(o)) {
    case json_type_int:
        /* json-c saturates a negative one at INT64_MIN: taken as beyond */
        return (json_object_get_int64(o) == INT64_MAX && json_object_get_uint64(o) > INT64_MAX) ||
                       json_object_get_int64(o) == INT64_MIN
                   ? "a claim's integer is beyond 64 bits (send a long sub as a string)"
                   : NULL;
    case json_type_double:
        return isfinite(json_object_get_double(o)) ? NULL : "a claim's number is out of range";
    case json_type_string:
        return strlen(json_object_get_string(o)) != (size_t)json_object_get_string_len(o)
                   ? "a claim holds a NUL character"
                   : NULL;
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(o); i++) {
            const char *why = unreadable_value(json_object_array_get_idx(o, i));
            if (why != NULL)
                return why;
        }
        return NULL;
    case json_type_object: {
        json_object_object_foreach(o, name, v) {
            (void)name;
            const char *why = unreadable_value(v);
            if (why != NULL)
                return why;
        }
        return NULL;
    }
    default:
        return NULL;
    }
}

/* Whether sig (the token's decoded signature) is key's HS256 over the
 * signing input (token up to its last dot), compared in constant time.
 * Asked only once libjwt refused the token: to tell a wrong key from a
 * token it could not read (its JSON reader is stricter than ours). */
static bool
hs256_signed_by(const struct sp_keyring_key *key, const char *token, const unsigned char *sig,
                size_t siglen)
{
    const char *dot = strrchr(token, '.');
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    return dot != NULL && key->len <= INT_MAX &&
           HMAC(EVP_sha256(), key->material, (int)key->len, (const unsigned char *)token,
                (size_t)(dot - token), mac, &maclen) != NULL &&
           maclen == siglen && CRYPTO_memcmp(mac, sig, siglen) == 0;
}

/* With a kid: exactly that key, and it must be of the token's algorithm.
 * Without: the first HS key (the default), or every public key of the
 * token's algorithm. A secret never meets an RS/ES token, nor a PEM an
 * HS256 one. */
static enum sp_rc
check_signature(const struct sp_auth_keys *k, const char *token, const unsigned char *sig,
                size_t siglen, jwt_alg_t alg, const char *kid, struct sp_problem *p)
{
    bool tried = false;
    for (size_t i = 0; i < k->ring.n; i++) {
        const struct sp_keyring_key *key = &k->ring.keys[i];
        if (kid != NULL ? key->name == NULL || strcmp(key->name, kid) != 0 : key->use != alg)
            continue;
        if (key->use != alg)
            return deny(p, "key id does not match algorithm");
        tried = true;
        jwt_t *jwt = NULL;
        /* Belt and braces: libjwt must have verified with the algorithm we chose. */
        bool ok = jwt_decode(&jwt, token, (const unsigned char *)key->material, (int)key->len) == 0
                  && jwt_get_alg(jwt) == alg;
        jwt_free(jwt);
        ERR_clear_error();
        if (ok)
            return SP_OK;
        if (alg == JWT_ALG_HS256)
            return deny(p, hs256_signed_by(key, token, sig, siglen)
                               ? "malformed token (signed right, but not JSON the JWT reader takes)"
                               : "bad signature");
    }
    return deny(p, tried ? "bad signature" : kid != NULL ? "unknown key id" : "algorithm not accepted");
}

/* `aud` may be one string or an array of them (RFC 7519 §4.1.3). */
static bool
aud_ok(json_object *c, const char *want)
{
    json_object *v;
    if (!json_object_object_get_ex(c, "aud", &v))
        return false;
    if (json_object_is_type(v, json_type_string))
        return strcmp(json_object_get_string(v), want) == 0;
    for (size_t i = 0; json_object_is_type(v, json_type_array) && i < json_object_array_length(v); i++) {
        json_object *e = json_object_array_get_idx(v, i);
        if (json_object_is_type(e, json_type_string) && strcmp(json_object_get_string(e), want) == 0)
            return true;
    }
    return false;
}

/* `sub` is the user id, "an integer as string or number" (API.md §2), as
 * sp_user_id_valid writes it: customer rows, agents' user_id and every
 * per-user key (rate limits, idempotency) compare it as text, so "007",
 * "+7" or "7 " would be another user than 7 -- or no user at all. */
static bool
sub_copy(json_object *c, char *dst)
{
    json_object *v;
    if (!json_object_object_get_ex(c, "sub", &v))
        return false;
    if (json_object_is_type(v, json_type_int)) {
        int64_t n = json_object_get_int64(v);
        if (n <= 0 || n == INT64_MAX)  /* INT64_MAX: saturated, not the issuer's number */
            return false;
        snprintf(dst, SP_AUTH_SUB_MAX + 1, "%" PRId64, n);
        return true;
    }
    const char *s = get_str(c, "sub");
    if (s == NULL || !sp_user_id_valid(s))
        return false;
    memcpy(dst, s, strlen(s) + 1);
    return true;
}

static const char *
opt_str(struct sp_arena *a, json_object *c, const char *name)
{
    const char *s = get_str(c, name);
    return s ? sp_arena_strdup(a, s) : NULL;
}

static enum sp_rc
map_claims(const struct sp_auth_keys *k, struct sp_arena *a, json_object *c, time_t now,
           struct sp_principal *out, struct sp_problem *p)
{
    double exp = 0, nbf = 0, iat = 0, t = (double)now, lw = (double)k->leeway;
    int e = num_claim(c, "exp", &exp), n = num_claim(c, "nbf", &nbf), i = num_claim(c, "iat", &iat);
    if (e <= 0 || n < 0 || i < 0)
        return deny(p, e == 0 ? "token has no exp" : "malformed exp, nbf or iat");
    if (t - lw >= exp)
        return deny(p, "token expired");
    if (n > 0 && t + lw < nbf)
        return deny(p, "token not yet valid");
    if (i > 0 && iat > t + lw)
        return deny(p, "token issued in the future");
    const char *iss = get_str(c, "iss");
    if (k->issuer != NULL && (iss == NULL || strcmp(iss, k->issuer) != 0))
        return deny(p, "wrong issuer");
    if (k->audience != NULL && !aud_ok(c, k->audience))
        return deny(p, "wrong audience");
    if (!sub_copy(c, out->sub))
        return deny(p, "missing or malformed sub");
    const char *role = get_str(c, "role");
    if (role == NULL || !sp_role_parse(role, &out->role))
        return deny(p, role == NULL ? "token has no role" : "unknown role");
    /* In any case ("VIP" from an identity provider's directory). A tier
     * absent or unknown is no claim: the customer's stored tier stands
     * (API.md §2), standard for a customer without one. */
    out->tier = SP_TIER_STANDARD;
    const char *tier = get_str(c, "tier");
    out->tier_claimed =
        tier != NULL && sp_tier_parse(sp_ascii_lower(sp_arena_strdup(a, tier)), &out->tier);
    out->name = opt_str(a, c, "name");
    out->email = opt_str(a, c, "email");
    out->phone = opt_str(a, c, "phone");
    /* A far-future exp (1e300 is a valid NumericDate) does not fit: the
     * conversion would be undefined. It means "never", as LLONG_MAX does. */
    out->exp = exp < 9223372036854775807.0 ? (long long)exp : LLONG_MAX;
    return SP_OK;
}

enum sp_rc
sp_auth_verify(const struct sp_auth_keys *k, struct sp_arena *a, const char *token,
               time_t now, struct sp_principal *out, struct sp_problem *p)
{
    memset(out, 0, sizeof(*out));
    if (token == NULL || *token == '\0')
        return deny(p, "missing token");
    size_t len = strnlen(token, SP_AUTH_TOKEN_MAX + 1), siglen;
    if (len > SP_AUTH_TOKEN_MAX)
        return deny(p, "token too long");
    const char *d1 = memchr(token, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', (size_t)(token + len - d1 - 1)) : NULL;
    if (d2 == NULL || memchr(d2 + 1, '.', (size_t)(token + len - d2 - 1)) != NULL)
        return deny(p, "malformed token");
    json_object *hdr = segment_json(a, token, (size_t)(d1 - token));
    json_object *claims = segment_json(a, d1 + 1, (size_t)(d2 - d1 - 1));
    if (hdr == NULL || claims == NULL)
        return deny(p, "malformed token");

    const char *algs = get_str(hdr, "alg");
    if (algs == NULL || strcasecmp(algs, "none") == 0 || d2[1] == '\0')
        return deny(p, algs == NULL ? "token has no alg" : "unsigned token");
    const unsigned char *sig =
        sp_b64url_decode(a, d2 + 1, (size_t)(token + len - d2 - 1), &siglen);
    if (sig == NULL)
        return deny(p, "malformed token");
    jwt_alg_t alg = strcmp(algs, "HS256") == 0 ? JWT_ALG_HS256
                  : strcmp(algs, "RS256") == 0 ? JWT_ALG_RS256
                  : strcmp(algs, "ES256") == 0 ? JWT_ALG_ES256 : JWT_ALG_INVAL;
    if (alg == JWT_ALG_INVAL)
        return deny(p, "algorithm not accepted");
    if (json_object_object_get_ex(hdr, "crit", NULL))
        return deny(p, "unsupported critical header");  /* RFC 7515 §4.1.11 */
    const char *kid = NULL;
    if (json_object_object_get_ex(hdr, "kid", NULL) && (kid = get_str(hdr, "kid")) == NULL)
        return deny(p, "malformed key id");
    /* libjwt reads typ JWT only (RFC 9068's at+jwt included): said so */
    const char *typ = get_str(hdr, "typ");
    if (json_object_object_get_ex(hdr, "typ", NULL) && (typ == NULL || strcasecmp(typ, "JWT") != 0))
        return deny(p, "unsupported typ: only JWT tokens are read");
    const char *unreadable = unreadable_value(claims);
    if (unreadable != NULL)
        return deny(p, unreadable);

    /* Fill a copy so a refused token never leaves a half-made principal. */
    struct sp_principal who;
    memset(&who, 0, sizeof(who));
    enum sp_rc rc = check_signature(k, token, sig, siglen, alg, kid, p);
    if (rc == SP_OK && (rc = map_claims(k, a, claims, now, &who, p)) == SP_OK)
        *out = who;
    return rc;
}

/* ---- minting ---------------------------------------------------------- */

char *
sp_auth_mint_hs256(struct sp_arena *a, const char *kid, const char *secret, const char *sub,
                   enum sp_role role, time_t now, long ttl_seconds, const char *extra_json)
{
    const char *rname = sp_role_name(role);
    if (secret == NULL || *secret == '\0' || strlen(secret) > INT_MAX || sub == NULL
        || !sp_user_id_valid(sub) || rname == NULL || ttl_seconds <= 0)
        return NULL;
    jwt_t *jwt = NULL;
    char *enc = NULL, *res = NULL;
    if (jwt_new(&jwt) != 0)
        return NULL;
    if (jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)secret, (int)strlen(secret)) == 0
        && (kid == NULL || jwt_add_header(jwt, "kid", kid) == 0)
        && jwt_add_grant(jwt, "sub", sub) == 0
        && jwt_add_grant(jwt, "role", rname) == 0
        && jwt_add_grant_int(jwt, "iat", (long)now) == 0
        && jwt_add_grant_int(jwt, "exp", (long)now + ttl_seconds) == 0
        && (extra_json == NULL || jwt_add_grants_json(jwt, extra_json) == 0)
        && (enc = jwt_encode_str(jwt)) != NULL)
        res = sp_arena_strdup(a, enc);
    free(enc);
    jwt_free(jwt);
    ERR_clear_error();
    return res;
}

char *
sp_auth_mint_default(const struct sp_auth_keys *k, struct sp_arena *a, const char *sub,
                     enum sp_role role, time_t now, long ttl_seconds, const char *extra_json)
{
    for (size_t i = 0; k != NULL && i < k->ring.n; i++) {
        const struct sp_keyring_key *key = &k->ring.keys[i];
        if (key->use == JWT_ALG_HS256)
            return sp_auth_mint_hs256(a, key->name, (const char *)key->material, sub, role, now,
                                      ttl_seconds, extra_json);
    }
    return NULL;
}
