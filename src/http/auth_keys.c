/*
 * auth_keys: loading and freeing the keyring (see auth_keys.h, auth.h).
 * Worker lifetime, plain heap; HS256 secrets are wiped on free.
 * Must not: log or echo key material into error messages.
 */
#include "http/auth_keys.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/fd.h"
#include "core/keyring.h"

#define HS_SECRET_MIN 32             /* RFC 7518 §3.2: key >= hash output */
#define KID_MAX       64
#define PUBFILE_MAX   (1024u * 1024u)
#define PEM_BEGIN     "-----BEGIN PUBLIC KEY-----"
#define PEM_END       "-----END PUBLIC KEY-----"

long
sp_auth_keys_leeway(const struct sp_auth_keys *k)
{
    return k->leeway;
}

static char *
xdup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (p == NULL)
        abort();  /* start-up OOM: nothing sensible to do (STYLE.md) */
    return p;
}

/* Kids are 1-64 visible characters, but ',' and ':'; entries are not
 * trimmed. Unique across the whole ring: add_key checks, after the secret. */
static const struct sp_keyring_rules HS_RULES = {
    .setting = "SUPPORT_JWT_KEYS", .name_word = "kid", .secret_word = "secret",
    .name_max = KID_MAX, .name_chars = NULL, .name_chars_text = "visible characters",
};

static bool
kid_valid(const char *s, size_t n)
{
    return sp_keyring_name_ok(&HS_RULES, s, n);
}

/* Kids are unique across the whole keyring so a kid names one key. */
static bool
add_key(struct sp_auth_keys *k, const char *kid, size_t kidlen, const char *m, size_t len,
        jwt_alg_t alg, const char *setting, char *err, size_t errlen)
{
    if (kid != NULL && sp_keyring_keys_find(&k->ring, kid, kidlen) != NULL) {
        snprintf(err, errlen, "%s: kid \"%.*s\" is used twice", setting, (int)kidlen, kid);
        return false;
    }
    sp_keyring_keys_add(&k->ring, kid, kidlen, m, len)->use = alg;
    return true;
}

/* One SUPPORT_JWT_KEYS entry: the secret's length, then kid uniqueness. */
static bool
add_hs(void *ctx, const struct sp_keyring_entry *e, char *err, size_t errlen)
{
    return sp_keyring_secret_min(&HS_RULES, e, HS_SECRET_MIN, err, errlen) &&
           add_key(ctx, e->name, e->name_len, e->secret, e->secret_len, JWT_ALG_HS256,
                   HS_RULES.setting, err, errlen);
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
    size_t kidlen = 0, before = k->ring.n;
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
    return k->ring.n > before ? true : PUBERR("no public keys found");
}

static bool
load_pub(struct sp_auth_keys *k, const char *path, char *err, size_t errlen)
{
    char *buf;
    size_t n;
    enum sp_fd_read rc = sp_fd_read_file(path, PUBFILE_MAX, &buf, &n);
    if (rc == SP_FD_READ_UNOPENED)
        return PUBERR("cannot open %s", path);
    if (rc != SP_FD_READ_OK)
        return PUBERR("cannot read %s or it is over %u bytes", path, PUBFILE_MAX);
    bool ok = parse_pubfile(k, buf, n, err, errlen);
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
    if ((has_hs && !sp_keyring_each(&HS_RULES, cfg->hs_keys, add_hs, k, err, errlen))
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
    sp_keyring_keys_free(&k->ring);
    free(k->issuer);
    free(k->audience);
    free(k);
}
