/*
 * auth: bearer JWT verification and HS256 minting. See auth.h for the key
 * formats and the algorithm-confusion rules.
 *
 * We parse the header and claims ourselves (strict json-c) and use libjwt
 * only to check the signature with a key our header parse chose; the
 * claims we map are the exact bytes that signature covers. Must not: log,
 * echo tokens or secrets into problems, or keep per-request state.
 */
#include "http/auth.h"

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
#include <openssl/pem.h>

#include "core/arena.h"

#define HS_SECRET_MIN 32             /* RFC 7518 §3.2: key >= hash output */
#define KID_MAX       64
#define PUBFILE_MAX   (1024u * 1024u)
#define PEM_BEGIN     "-----BEGIN PUBLIC KEY-----"
#define PEM_END       "-----END PUBLIC KEY-----"

/* The claim values of API.md §2, indexed by the enums. */
static const char *const role_names[SP_ROLE_MAX] = { NULL, "customer", "support_agent", "support_admin" };
static const char *const tier_names[SP_TIER_MAX] = { "standard", "premium", "vip" };

/* One verification key. The algorithm is fixed when the key is loaded and
 * is the only one it ever checks: that is the algorithm-confusion guard. */
struct key {
    char *kid;           /* NULL only for public keys without "kid:" */
    char *material;      /* HS256: the secret (wiped on free); else PEM */
    size_t len;
    jwt_alg_t alg;       /* HS256, RS256 or ES256 */
};

struct sp_auth_keys {
    struct key *keys;    /* SUPPORT_JWT_KEYS in order, then the file's keys */
    size_t n;
    char *issuer, *audience;
    long leeway;
};

long
sp_auth_keys_leeway(const struct sp_auth_keys *k)
{
    return k->leeway;
}

const char *
sp_role_name(enum sp_role r)
{
    return (r > SP_ROLE_NONE && r < SP_ROLE_MAX) ? role_names[r] : NULL;
}

const char *
sp_tier_name(enum sp_tier t)
{
    return (t >= SP_TIER_STANDARD && t < SP_TIER_MAX) ? tier_names[t] : NULL;
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
sp_tier_parse(const char *s, enum sp_tier *out)
{
    int i = table_find(tier_names, 0, SP_TIER_MAX, s);
    if (i >= 0)
        *out = (enum sp_tier)i;
    return i >= 0;
}

bool
sp_principal_has_role(const struct sp_principal *p, enum sp_role needed)
{
    if (p == NULL || needed <= SP_ROLE_NONE || needed >= SP_ROLE_MAX)
        return false;
    return p->role == needed || (p->role == SP_ROLE_ADMIN && needed == SP_ROLE_AGENT);
}

/* ---- keyring (worker lifetime, plain heap) ---------------------------- */

static char *
xdup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (p == NULL)
        abort();  /* start-up OOM: nothing sensible to do (STYLE.md) */
    return p;
}

static bool
kid_valid(const char *s, size_t n)
{
    if (n == 0 || n > KID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',' || s[i] == ':')
            return false;
    return true;
}

/* Kids are unique across the whole keyring so a kid names one key. */
static bool
add_key(struct sp_auth_keys *k, const char *kid, size_t kidlen, const char *m, size_t len,
        jwt_alg_t alg, const char *setting, char *err, size_t errlen)
{
    for (size_t i = 0; kid != NULL && i < k->n; i++)
        if (k->keys[i].kid && strlen(k->keys[i].kid) == kidlen && memcmp(k->keys[i].kid, kid, kidlen) == 0) {
            snprintf(err, errlen, "%s: kid \"%.*s\" is used twice", setting, (int)kidlen, kid);
            return false;
        }
    struct key *keys = realloc(k->keys, (k->n + 1) * sizeof(*keys));
    if (keys == NULL)
        abort();
    k->keys = keys;
    keys[k->n++] = (struct key){ kid ? xdup(kid, kidlen) : NULL, xdup(m, len), len, alg };
    return true;
}

static bool
load_hs(struct sp_auth_keys *k, const char *spec, char *err, size_t errlen)
{
    for (size_t i = 1;; i++) {
        const char *end = strchrnul(spec, ',');
        const char *colon = memchr(spec, ':', (size_t)(end - spec));
        /* Never quote a malformed entry: it may be a bare secret. */
        if (colon == NULL || !kid_valid(spec, (size_t)(colon - spec))) {
            snprintf(err, errlen, "SUPPORT_JWT_KEYS: entry %zu is not kid:secret "
                     "(kid of 1-%d visible characters)", i, KID_MAX);
            return false;
        }
        if (end - colon - 1 < HS_SECRET_MIN) {
            snprintf(err, errlen, "SUPPORT_JWT_KEYS: the secret of kid \"%.*s\" is shorter than "
                     "%d bytes", (int)(colon - spec), spec, HS_SECRET_MIN);
            return false;
        }
        if (!add_key(k, spec, (size_t)(colon - spec), colon + 1, (size_t)(end - colon - 1),
                     JWT_ALG_HS256, "SUPPORT_JWT_KEYS", err, errlen))
            return false;
        if (*end == '\0')
            return true;
        spec = end + 1;
    }
}

/* The key type decides the only algorithm a public key may verify. */
static jwt_alg_t
pem_alg(const char *pem, size_t len, const char **why)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pk = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    int type = pk ? EVP_PKEY_get_base_id(pk) : EVP_PKEY_NONE;
    jwt_alg_t alg = JWT_ALG_INVAL;
    char group[64] = "";

    if (type == EVP_PKEY_RSA && EVP_PKEY_get_bits(pk) >= 2048)
        alg = JWT_ALG_RS256;
    else if (type == EVP_PKEY_EC && EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL) == 1
             && strcmp(group, "prime256v1") == 0)
        alg = JWT_ALG_ES256;
    *why = pk == NULL ? "is not a PEM public key"
         : type == EVP_PKEY_RSA ? "is an RSA key shorter than 2048 bits"
         : type == EVP_PKEY_EC ? "is an EC key not on P-256"
         : "is neither RSA nor EC P-256";
    EVP_PKEY_free(pk);
    BIO_free(bio);
    ERR_clear_error();
    return alg;
}

#define PUBERR(...) (snprintf(err, errlen, "SUPPORT_JWT_PUBLIC_KEYS_FILE: " __VA_ARGS__), false)

/* Walks the file line by line; see auth.h for the format. */
static bool
parse_pubfile(struct sp_auth_keys *k, const char *buf, size_t n, char *err, size_t errlen)
{
    const char *kid = NULL, *begin = NULL, *why;
    size_t kidlen = 0, before = k->n;
    int line = 0;

    for (const char *s = buf, *next; s < buf + n; s = next) {
        const char *nl = memchr(s, '\n', (size_t)(buf + n - s));
        next = nl ? nl + 1 : buf + n;
        size_t len = (size_t)((nl ? nl : buf + n) - s);
        while (len > 0 && (s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
        line++;
        if (begin != NULL) {
            if (len != strlen(PEM_END) || memcmp(s, PEM_END, len) != 0)
                continue;
            jwt_alg_t alg = pem_alg(begin, (size_t)(next - begin), &why);
            if (alg == JWT_ALG_INVAL)
                return PUBERR("the key ending at line %d %s", line, why);
            if (!add_key(k, kid, kidlen, begin, (size_t)(next - begin), alg,
                         "SUPPORT_JWT_PUBLIC_KEYS_FILE", err, errlen))
                return false;
            begin = kid = NULL;
        } else if (len == strlen(PEM_BEGIN) && memcmp(s, PEM_BEGIN, len) == 0) {
            begin = s;
        } else if (len > 4 && strncasecmp(s, "kid:", 4) == 0 && kid == NULL) {
            for (kid = s + 4, kidlen = len - 4; kidlen > 0 && (*kid == ' ' || *kid == '\t'); kidlen--)
                kid++;
            if (!kid_valid(kid, kidlen))
                return PUBERR("line %d: kid must be 1-%d visible characters", line, KID_MAX);
        } else if (len != 0 && s[0] != '#') {
            return PUBERR("line %d: want \"kid: NAME\" then a PEM public key, a comment or a "
                          "blank line", line);
        }
    }
    if (begin != NULL || kid != NULL)
        return PUBERR("the file ends inside a key or after a kid line");
    return k->n > before ? true : PUBERR("no public keys found");
}

static bool
load_pub(struct sp_auth_keys *k, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return PUBERR("cannot open %s", path);
    char *buf = malloc(PUBFILE_MAX + 1);
    if (buf == NULL)
        abort();
    size_t n = fread(buf, 1, PUBFILE_MAX + 1, f);
    bool ok = !ferror(f) && n <= PUBFILE_MAX;
    fclose(f);
    ok = ok ? parse_pubfile(k, buf, n, err, errlen)
            : PUBERR("cannot read %s or it is over %u bytes", path, PUBFILE_MAX);
    free(buf);
    return ok;
}

struct sp_auth_keys *
sp_auth_keys_load(const struct sp_auth_config *cfg, char *err, size_t errlen)
{
    bool has_hs = cfg->hs_keys && *cfg->hs_keys;
    bool has_pub = cfg->public_keys_file && *cfg->public_keys_file;
    if (!has_hs && !has_pub) {
        snprintf(err, errlen, "no JWT keys: set SUPPORT_JWT_KEYS or SUPPORT_JWT_PUBLIC_KEYS_FILE");
        return NULL;
    }
    if (cfg->leeway_seconds < 0 || cfg->leeway_seconds > 3600) {
        snprintf(err, errlen, "JWT leeway must be 0-3600 seconds");
        return NULL;
    }
    struct sp_auth_keys *k = calloc(1, sizeof(*k));
    if (k == NULL)
        abort();
    k->leeway = cfg->leeway_seconds;
    if (cfg->issuer && *cfg->issuer)
        k->issuer = xdup(cfg->issuer, strlen(cfg->issuer));
    if (cfg->audience && *cfg->audience)
        k->audience = xdup(cfg->audience, strlen(cfg->audience));
    if ((has_hs && !load_hs(k, cfg->hs_keys, err, errlen))
        || (has_pub && !load_pub(k, cfg->public_keys_file, err, errlen))) {
        sp_auth_keys_free(k);
        return NULL;
    }
    return k;
}

void
sp_auth_keys_free(struct sp_auth_keys *k)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < k->n; i++) {
        OPENSSL_cleanse(k->keys[i].material, k->keys[i].len);
        free(k->keys[i].material);
        free(k->keys[i].kid);
    }
    free(k->keys);
    free(k->issuer);
    free(k->audience);
    free(k);
}

/* ---- verification ----------------------------------------------------- */

static enum sp_rc
deny(struct sp_problem *p, const char *detail)
{
    return sp_problem_set(p, SP_UNAUTHORIZED, "unauthorized", "%s", detail);
}

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Strict unpadded base64url (RFC 7515 §2); returns arena bytes or NULL. */
static char *
b64url_decode(struct sp_arena *a, const char *s, size_t n, size_t *outlen)
{
    if (n == 0 || n % 4 == 1)
        return NULL;
    unsigned char *out = sp_arena_alloc(a, n * 3 / 4 + 1);
    uint32_t acc = 0;  /* only the low `bits` bits matter; wrap-around is fine */
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *v = s[i] != '\0' ? strchr(B64URL, s[i]) : NULL;
        if (v == NULL)
            return NULL;
        acc = (acc << 6) | (uint32_t)(v - B64URL);
        if ((bits += 6) >= 8)
            out[o++] = (unsigned char)(acc >> (bits -= 8));
    }
    out[o] = '\0';
    *outlen = o;
    return (char *)out;
}

static void
json_put(void *o)
{
    json_object_put(o);
}

/* Decodes one segment into a JSON object owned by the arena, or NULL. */
static json_object *
segment_json(struct sp_arena *a, const char *s, size_t n)
{
    size_t len;
    char *raw = b64url_decode(a, s, n, &len);
    json_tokener *tok = raw != NULL && len <= INT_MAX ? json_tokener_new() : NULL;
    if (tok == NULL)
        return NULL;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *o = json_tokener_parse_ex(tok, raw, (int)len);
    bool ok = o != NULL && json_tokener_get_error(tok) == json_tokener_success
              && json_tokener_get_parse_end(tok) == len && json_object_is_type(o, json_type_object);
    json_tokener_free(tok);
    if (o != NULL)
        sp_arena_defer(a, json_put, o);
    return ok ? o : NULL;
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

/* With a kid: exactly that key, and it must be of the token's algorithm.
 * Without: the first HS key (the default), or every public key of the
 * token's algorithm. A secret never meets an RS/ES token, nor a PEM an
 * HS256 one. */
static enum sp_rc
check_signature(const struct sp_auth_keys *k, const char *token, jwt_alg_t alg, const char *kid,
                struct sp_problem *p)
{
    bool tried = false;
    for (size_t i = 0; i < k->n; i++) {
        const struct key *key = &k->keys[i];
        if (kid != NULL ? key->kid == NULL || strcmp(key->kid, kid) != 0 : key->alg != alg)
            continue;
        if (key->alg != alg)
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
            break;
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

static bool
sub_copy(json_object *c, char *dst)
{
    json_object *v;
    if (!json_object_object_get_ex(c, "sub", &v))
        return false;
    if (json_object_is_type(v, json_type_int)) {
        int64_t n = json_object_get_int64(v);
        if (n == INT64_MAX || n == INT64_MIN)  /* saturated: not the issuer's number */
            return false;
        snprintf(dst, SP_AUTH_SUB_MAX + 1, "%" PRId64, n);
        return true;
    }
    const char *s = get_str(c, "sub");
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > SP_AUTH_SUB_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return false;
    memcpy(dst, s, n + 1);
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
    out->tier = SP_TIER_STANDARD;
    (void)sp_tier_parse(get_str(c, "tier"), &out->tier);  /* unknown tier -> standard */
    out->name = opt_str(a, c, "name");
    out->email = opt_str(a, c, "email");
    out->phone = opt_str(a, c, "phone");
    out->exp = (long long)exp;
    return SP_OK;
}

enum sp_rc
sp_auth_verify(const struct sp_auth_keys *k, struct sp_arena *a, const char *token,
               time_t now, struct sp_principal *out, struct sp_problem *p)
{
    memset(out, 0, sizeof(*out));
    if (token == NULL || *token == '\0')
        return deny(p, "missing token");
    size_t len = strnlen(token, SP_AUTH_TOKEN_MAX + 1), junk;
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
    if (b64url_decode(a, d2 + 1, (size_t)(token + len - d2 - 1), &junk) == NULL)
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

    /* Fill a copy so a refused token never leaves a half-made principal. */
    struct sp_principal who;
    memset(&who, 0, sizeof(who));
    enum sp_rc rc = check_signature(k, token, alg, kid, p);
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
        || *sub == '\0' || rname == NULL || ttl_seconds <= 0)
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
    for (size_t i = 0; k != NULL && i < k->n; i++)
        if (k->keys[i].alg == JWT_ALG_HS256)
            return sp_auth_mint_hs256(a, k->keys[i].kid, k->keys[i].material, sub, role, now,
                                      ttl_seconds, extra_json);
    return NULL;
}
