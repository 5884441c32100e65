/*
 * crypto: AES-256-GCM for contact PII under a versioned key ring, the HMAC
 * blind index for lookup by email, and SHA-256/constant-time helpers. See
 * crypto.h for the settings, the text format and the rotation rules.
 * Must not: know about SQL or HTTP, quote key material (or a malformed
 * entry, which may be a bare key) in an error message, or log anything
 * but the version label of a value it could not open.
 */
#include "core/crypto.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "core/arena.h"
#include "core/ascii.h"
#include "core/hex.h"
#include "core/keyring.h"
#include "core/log.h"
#include "core/mail_idn.h"

#define KEY_LEN    32
#define NONCE_LEN  12   /* GCM's native IV size: no GHASH of the IV */
#define TAG_LEN    16
#define LABEL_MAX  16
#define INDEX_INFO "support-pii-blind-index-v1"
#define RING       "SUPPORT_ENCRYPTION_KEYS"
#define INDEX      "SUPPORT_PII_INDEX_KEY"

/* The version labels of values that did not open, already logged
 * (warn_unopened). */
#define SEEN_MAX 16
struct sp_crypto_seen {
    char labels[SEEN_MAX][LABEL_MAX + 1];
    size_t n;
};

struct sp_crypto {
    /* Named by version label, KEY_LEN bytes each; keys[0] encrypts,
     * keys[n - 1] is the oldest. */
    struct sp_keyring_keys ring;
    struct sp_crypto_seen *seen;   /* the one thing a read-only ring writes */
    unsigned char index_key[KEY_LEN];
    EVP_CIPHER *gcm;        /* fetched once per worker, not on every call */
    EVP_MD *sha256;
};

/* ---- encodings ---------------------------------------------------------- */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b64_value(char ch)
{
    const char *p = ch != '\0' ? strchr(B64, ch) : NULL;
    return p != NULL ? (int)(p - B64) : -1;
}

/*
 * Strict, canonical, padded standard base64 into out (room for n / 4 * 3
 * bytes). EVP_DecodeBlock alone skips surrounding whitespace, takes '=' for
 * 'A' anywhere, ignores the unused low bits of the last character (two texts
 * would decode alike, so a tampered byte could go unnoticed) and counts the
 * padding as decoded zero bytes: validate first, then subtract the padding.
 * Returns the true length or -1.
 */
static long
b64_decode(const char *s, size_t n, unsigned char *out)
{
    if (n == 0 || n % 4 != 0 || n > INT_MAX)
        return -1;
    size_t pad = s[n - 1] != '=' ? 0 : s[n - 2] != '=' ? 1 : 2;
    for (size_t i = 0; i < n - pad; i++)
        if (b64_value(s[i]) < 0)
            return -1;
    int last = b64_value(s[n - pad - 1]);
    if ((pad == 1 && (last & 0x3) != 0) || (pad == 2 && (last & 0xf) != 0))
        return -1;
    int len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (len < 0 || (size_t)len != n / 4 * 3)
        return -1;
    return (long)len - (long)pad;
}

char *
sp_crypto_hex(struct sp_arena *a, const unsigned char *p, size_t n)
{
    char *out = sp_arena_alloc(a, 2 * n + 1);
    sp_hex_encode(out, p, n);
    return out;
}

/* ---- the key ring ------------------------------------------------------- */

/* Writes key only on success; the scratch copy is wiped either way. */
static bool
decode_key(const char *s, size_t n, unsigned char key[KEY_LEN])
{
    unsigned char tmp[48];
    long len = n <= 44 ? b64_decode(s, n, tmp) : -1;   /* 44 = padded 32 bytes */
    if (len == KEY_LEN)
        memcpy(key, tmp, KEY_LEN);
    OPENSSL_cleanse(tmp, sizeof(tmp));
    return len == KEY_LEN;
}

/* Labels [A-Za-z0-9_-]{1,16}, unique; whitespace around entries ignored. */
static const struct sp_keyring_rules RING_RULES = {
    .setting = RING, .name_word = "version", .secret_word = "base64key",
    .name_max = LABEL_MAX,
    .name_chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
    .name_chars_text = "characters A-Z a-z 0-9 _ -",
    .flags = SP_KEYRING_TRIM | SP_KEYRING_UNIQUE,
};

/* Decodes and appends one entry (its version already checked unique). */
static bool
add_entry(void *ctx, const struct sp_keyring_entry *e, char *err, size_t errlen)
{
    struct sp_crypto *c = ctx;
    unsigned char key[KEY_LEN];
    if (!decode_key(e->secret, e->secret_len, key)) {
        snprintf(err, errlen, RING ": the key of version \"%.*s\" is not standard padded "
                 "base64 of exactly %d bytes", (int)e->name_len, e->name, KEY_LEN);
        return false;
    }
    sp_keyring_keys_add(&c->ring, e->name, e->name_len, key, KEY_LEN);
    OPENSSL_cleanse(key, sizeof(key));
    return true;
}

/* HKDF-SHA256(ikm[0..KEY_LEN), no salt, info) into out[KEY_LEN]. */
static bool
hkdf(const unsigned char *ikm, const char *info, unsigned char out[KEY_LEN])
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, KEY_LEN),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (char *)info, strlen(info)),
        OSSL_PARAM_construct_end(),
    };
    bool ok = kctx != NULL && EVP_KDF_derive(kctx, out, KEY_LEN, params) == 1;
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return ok;
}

/* HKDF from the oldest key with info INDEX_INFO: see crypto.h for why the
 * oldest key and why production should not rely on it. */
static bool
derive_index_key(struct sp_crypto *c)
{
    return hkdf(c->ring.keys[c->ring.n - 1].material, INDEX_INFO, c->index_key);
}

struct sp_crypto *
sp_crypto_new(const char *enc_keys, const char *index_key_b64, char *err, size_t errlen)
{
    if (enc_keys == NULL || *enc_keys == '\0') {
        snprintf(err, errlen, RING " is not set (expected version:base64key,...)");
        return NULL;
    }
    struct sp_crypto *c = calloc(1, sizeof(*c));
    if (c == NULL || (c->seen = calloc(1, sizeof(*c->seen))) == NULL)
        abort();
    if (!sp_keyring_each(&RING_RULES, enc_keys, add_entry, c, err, errlen))
        goto fail;
    const char *ib = index_key_b64 != NULL ? index_key_b64 : "", *ie = ib + strlen(ib);
    sp_ascii_trim(&ib, &ie);
    if (ib < ie) {
        if (!decode_key(ib, (size_t)(ie - ib), c->index_key)) {
            snprintf(err, errlen, INDEX ": not standard padded base64 of exactly %d bytes",
                     KEY_LEN);
            goto fail;
        }
    } else if (!derive_index_key(c)) {
        snprintf(err, errlen, INDEX ": unset, and HKDF from " RING " failed in OpenSSL");
        goto fail;
    }
    c->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (c->gcm == NULL || c->sha256 == NULL) {
        snprintf(err, errlen, RING ": OpenSSL provides no AES-256-GCM or SHA-256");
        goto fail;
    }
    return c;
fail:
    sp_crypto_free(c);
    return NULL;
}

void
sp_crypto_free(struct sp_crypto *c)
{
    if (c == NULL)
        return;
    sp_keyring_keys_free(&c->ring);
    free(c->seen);
    EVP_CIPHER_free(c->gcm);
    EVP_MD_free(c->sha256);
    OPENSSL_cleanse(c, sizeof(*c));
    free(c);
}

/* ---- AES-256-GCM ------------------------------------------------------- */

/* One GCM pass over len bytes under key (KEY_LEN bytes), with aadlen
 * bytes of aad: enc writes the tag, otherwise checks it. The context is
 * freed on every path. */
static bool
gcm(const EVP_CIPHER *cipher, const unsigned char *key, int enc, const unsigned char *nonce,
    const void *aad, size_t aadlen, const unsigned char *in, size_t len, unsigned char *out,
    unsigned char *tag)
{
    EVP_CIPHER_CTX *ctx = aadlen <= INT_MAX && len <= INT_MAX ? EVP_CIPHER_CTX_new() : NULL;
    int n = 0, fin = 0, junk = 0;
    bool ok = ctx != NULL
        && EVP_CipherInit_ex2(ctx, cipher, key, nonce, enc, NULL) == 1
        && (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1)
        && (aadlen == 0
            || EVP_CipherUpdate(ctx, NULL, &junk, (const unsigned char *)aad, (int)aadlen) == 1)
        && EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1
        && EVP_CipherFinal_ex(ctx, out + n, &fin) == 1
        && (size_t)n + (size_t)fin == len
        && (!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1);
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

/* The aad of a PII value: its text, "" for NULL. */
static size_t
aad_len(const char *aad)
{
    return aad != NULL ? strlen(aad) : 0;
}

const char *
sp_crypto_encrypt(const struct sp_crypto *c, struct sp_arena *a, const char *plaintext,
                  size_t len, const char *aad)
{
    if (len > INT_MAX / 2 || (plaintext == NULL && len > 0))
        return NULL;
    const struct sp_keyring_key *k = &c->ring.keys[0];
    size_t rawlen = NONCE_LEN + len + TAG_LEN;
    unsigned char *raw = sp_arena_alloc(a, rawlen);
    if (RAND_bytes(raw, NONCE_LEN) != 1
        || !gcm(c->gcm, k->material, 1, raw, aad, aad_len(aad),
                (const unsigned char *)plaintext, len, raw + NONCE_LEN, raw + NONCE_LEN + len))
        return NULL;
    size_t llen = strlen(k->name);
    char *out = sp_arena_alloc(a, llen + 1 + 4 * ((rawlen + 2) / 3) + 1);
    memcpy(out, k->name, llen);
    out[llen] = ':';
    EVP_EncodeBlock((unsigned char *)out + llen + 1, raw, (int)rawlen);   /* NUL-terminates */
    return out;
}

/*
 * A value that does not open reads as null to every caller (an agent's
 * view of a contact, the address support-dispatch mails): a warn line,
 * once per version label per ring (a worker's, a job's: per process and
 * reload), makes a node that lacks a key the others encrypt with (a
 * rotation not yet everywhere: docs/operations.md, "Key rotation") or
 * holds another key under the same label show in the log. Only a
 * well-formed label is named, never the value; a ring remembers
 * SEEN_MAX labels (its few, unless stored values were forged). A
 * worker is one thread.
 */
static void
warn_unopened(struct sp_crypto_seen *seen, const char *label, size_t len, bool known)
{
    if (len > LABEL_MAX || strspn(label, RING_RULES.name_chars) < len)
        len = 0;
    for (size_t i = 0; i < seen->n; i++)
        if (strlen(seen->labels[i]) == len && memcmp(seen->labels[i], label, len) == 0)
            return;
    if (seen->n == SEEN_MAX)
        return;
    char *name = seen->labels[seen->n++];
    memcpy(name, label, len);
    name[len] = '\0';
    struct sp_log_line *l = sp_log_begin(SP_LOG_WARN, "pii_decrypt_failed");
    sp_log_str(l, "key_version", len > 0 ? name : NULL);
    sp_log_str(l, "reason", known ? "not_authentic" : "unknown_key");
    sp_log_str(l, "msg", known ? "a sealed value does not open under " RING "'s key of its"
                                 " version (another key under that label, or a changed value):"
                                 " it reads as null"
                               : "a sealed value names a key version " RING " does not hold:"
                                 " it reads as null until that key is added");
    sp_log_end(l);
}

/* The plaintext of a value under k, or NULL. */
static const char *
open_sealed(const struct sp_crypto *c, const struct sp_keyring_key *k, struct sp_arena *a,
            const char *b64, const char *aad)
{
    size_t n = strlen(b64);
    if (n < 4 * ((NONCE_LEN + TAG_LEN + 2) / 3) || n > INT_MAX)
        return NULL;
    unsigned char *raw = sp_arena_alloc(a, n / 4 * 3);
    long rawlen = b64_decode(b64, n, raw);
    if (rawlen < NONCE_LEN + TAG_LEN)
        return NULL;
    size_t len = (size_t)rawlen - NONCE_LEN - TAG_LEN;
    char *out = sp_arena_alloc(a, len + 1);
    if (!gcm(c->gcm, k->material, 0, raw, aad, aad_len(aad), raw + NONCE_LEN, len,
             (unsigned char *)out, raw + NONCE_LEN + len)) {
        OPENSSL_cleanse(out, len);   /* unauthenticated plaintext never escapes */
        return NULL;
    }
    out[len] = '\0';
    return out;
}

const char *
sp_crypto_decrypt(const struct sp_crypto *c, struct sp_arena *a, const char *ciphertext,
                  const char *aad)
{
    if (ciphertext == NULL)
        return NULL;
    const char *colon = strchr(ciphertext, ':');
    size_t llen = colon != NULL ? (size_t)(colon - ciphertext) : 0;
    const struct sp_keyring_key *k = colon != NULL
        ? sp_keyring_keys_find(&c->ring, ciphertext, llen) : NULL;
    const char *out = k != NULL ? open_sealed(c, k, a, colon + 1, aad) : NULL;
    if (out == NULL)
        warn_unopened(c->seen, ciphertext, llen, k != NULL);
    return out;
}

bool
sp_crypto_needs_rotation(const struct sp_crypto *c, const char *ciphertext)
{
    if (ciphertext == NULL)
        return false;
    const char *colon = strchr(ciphertext, ':');
    const char *cur = c->ring.keys[0].name;
    return colon == NULL || (size_t)(colon - ciphertext) != strlen(cur)
        || memcmp(ciphertext, cur, strlen(cur)) != 0;
}

/* ---- hashing ----------------------------------------------------------- */

/* The blind indexes (an email's, a contact's fingerprint) are both the
 * index key's HMAC-SHA256 of their message, in hex; NULL when OpenSSL
 * fails. */
static const char *
index_hex(const struct sp_crypto *c, struct sp_arena *a, const unsigned char *msg, size_t len)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (HMAC(c->sha256, c->index_key, KEY_LEN, msg, len, mac, &maclen) == NULL)
        return NULL;
    return sp_crypto_hex(a, mac, maclen);
}

/* The index of an address form (NULL: blank, no index). */
static const char *
email_hex(const struct sp_crypto *c, struct sp_arena *a, const char *form)
{
    return form != NULL ? index_hex(c, a, (const unsigned char *)form, strlen(form)) : NULL;
}

const char *
sp_crypto_email_index(const struct sp_crypto *c, struct sp_arena *a, const char *email)
{
    return email_hex(c, a, sp_mail_addr_canonical(a, email));
}

const char *
sp_crypto_email_index_legacy(const struct sp_crypto *c, struct sp_arena *a, const char *email)
{
    return email_hex(c, a, sp_mail_addr_ascii_folded(a, email));
}

_Static_assert(SP_CRYPTO_EMAIL_INDEXES == SP_MAIL_ADDR_FORMS, "an index for each form");

size_t
sp_crypto_email_indexes(const struct sp_crypto *c, struct sp_arena *a, const char *email,
                        const char *out[SP_CRYPTO_EMAIL_INDEXES])
{
    const char *forms[SP_MAIL_ADDR_FORMS];
    size_t n = sp_mail_addr_lookup_forms(a, email, forms);
    for (size_t i = 0; i < n; i++)
        if ((out[i] = email_hex(c, a, forms[i])) == NULL)
            return 0;
    return n;
}

const char *
sp_crypto_fingerprint(const struct sp_crypto *c, struct sp_arena *a, const char *const *values,
                      size_t n)
{
    /* label NUL, then per value: '1' value NUL, or '0' for an absent one */
    size_t label_len = strlen(c->ring.keys[0].name) + 1, len = label_len;
    for (size_t i = 0; i < n; i++)
        len += 1 + (values[i] != NULL ? strlen(values[i]) + 1 : 0);
    unsigned char *msg = sp_arena_alloc(a, len), *p = msg;
    memcpy(p, c->ring.keys[0].name, label_len);
    p += label_len;
    for (size_t i = 0; i < n; i++) {
        *p++ = values[i] != NULL ? '1' : '0';
        if (values[i] != NULL) {
            size_t l = strlen(values[i]) + 1;
            memcpy(p, values[i], l);
            p += l;
        }
    }
    return index_hex(c, a, msg, len);
}

bool
sp_crypto_derive_key(const struct sp_crypto *c, const char *purpose, unsigned char out[32])
{
    return purpose != NULL && *purpose != '\0' && hkdf(c->index_key, purpose, out);
}

void
sp_crypto_index_key_b64(const struct sp_crypto *c, char out[SP_CRYPTO_INDEX_KEY_B64])
{
    _Static_assert(SP_CRYPTO_INDEX_KEY_B64 == 4 * ((KEY_LEN + 2) / 3) + 1, "padded base64");
    EVP_EncodeBlock((unsigned char *)out, c->index_key, KEY_LEN);   /* NUL-terminates */
}

/* ---- sealed tokens ------------------------------------------------------- */

bool
sp_crypto_token_key(const unsigned char secret[32], struct sp_token_key *out)
{
    return hkdf(secret, "support-token-enc-v1", out->enc) &&
           hkdf(secret, "support-token-nonce-v1", out->nonce);
}

/* The synthetic nonce: HMAC-SHA256 under the nonce key over the aad's
 * length, the aad and the message, cut to NONCE_LEN. */
static void
token_nonce(const struct sp_token_key *k, const void *aad, size_t aadlen, const void *msg,
            size_t len, unsigned char nonce[NONCE_LEN])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    uint64_t prefix = aadlen;
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = hmac != NULL ? EVP_MAC_CTX_new(hmac) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    size_t outl = 0;
    bool ok = ctx != NULL && EVP_MAC_init(ctx, k->nonce, KEY_LEN, params) == 1 &&
              EVP_MAC_update(ctx, (const unsigned char *)&prefix, sizeof(prefix)) == 1 &&
              EVP_MAC_update(ctx, aad, aadlen) == 1 && EVP_MAC_update(ctx, msg, len) == 1 &&
              EVP_MAC_final(ctx, mac, &outl, sizeof(mac)) == 1 && outl == 32;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(hmac);
    if (!ok)
        abort(); /* nothing could be sealed: no answer is better than a reused nonce */
    memcpy(nonce, mac, NONCE_LEN);
    OPENSSL_cleanse(mac, sizeof(mac));
}

void
sp_crypto_token_seal(const struct sp_token_key *k, const void *aad, size_t aadlen,
                     const void *msg, size_t len, unsigned char *out)
{
    token_nonce(k, aad, aadlen, msg, len, out);
    if (!gcm(EVP_aes_256_gcm(), k->enc, 1, out, aad, aadlen, msg, len, out + NONCE_LEN,
             out + NONCE_LEN + len))
        abort();
}

bool
sp_crypto_token_open(const struct sp_token_key *k, const void *aad, size_t aadlen,
                     const unsigned char *in, size_t inlen, unsigned char *out)
{
    if (inlen < SP_CRYPTO_TOKEN_OVERHEAD)
        return false;
    size_t len = inlen - SP_CRYPTO_TOKEN_OVERHEAD;
    unsigned char tag[TAG_LEN];
    memcpy(tag, in + NONCE_LEN + len, TAG_LEN);
    if (gcm(EVP_aes_256_gcm(), k->enc, 0, in, aad, aadlen, in + NONCE_LEN, len, out, tag))
        return true;
    OPENSSL_cleanse(out, len);   /* unauthenticated plaintext never escapes */
    return false;
}

bool
sp_crypto_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    return alen == blen && (alen == 0 || CRYPTO_memcmp(a, b, alen) == 0);
}

void
sp_crypto_hmac_hex(const void *key, size_t keylen, const void *msg, size_t n, char *out,
                   size_t hex_digits)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (hex_digits > 64 || hex_digits % 2 != 0 || keylen > INT_MAX ||
        HMAC(EVP_sha256(), key, (int)keylen, msg, n, mac, &len) == NULL || len != 32)
        abort();
    sp_hex_encode(out, mac, hex_digits / 2);
    OPENSSL_cleanse(mac, sizeof(mac));
}

const char *
sp_crypto_sha256_hex(struct sp_arena *a, const void *data, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1)
        return NULL;
    return sp_crypto_hex(a, md, mdlen);
}

bool
sp_crypto_sha256_fd(int fd, char out[65])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        abort();
    static unsigned char buf[64 * 1024];
    bool ok = true;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ok = false;
            break;
        }
        if (n == 0)
            break;
        if (EVP_DigestUpdate(md, buf, (size_t)n) != 1)
            abort();
    }
    unsigned char d[32];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(md, d, &len) != 1 || len != 32)
        abort();
    EVP_MD_CTX_free(md);
    sp_hex_encode(out, d, sizeof(d));
    return ok;
}
