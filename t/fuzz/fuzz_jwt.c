/*
 * fuzz_jwt: libFuzzer target for bearer tokens: sp_auth_verify against a
 * keyring of two HS256 secrets (k1 the default, k2) and the RS256/ES256
 * test public keys (t/fixtures/jwt), with issuer and audience checks on.
 * The first input byte picks a mode:
 *   even: the rest is the token as sent;
 *   odd:  the rest is "<header JSON>\n<claims JSON>", which this target
 *         encodes and signs with HS256 (bit 1: k2's secret, else k1's),
 *         so the fuzzer reaches the header and claims checks.
 * Aborts unless: a refusal is 401 "unauthorized" with a detail from the
 * fixed list (never text of the token) and an empty principal; an
 * accepted token carries an HMAC-SHA256 of one of the HS secrets (no
 * algorithm confusion, no unsigned token) and maps to a sane principal.
 * Build: scripts/dev fuzz jwt (replayed by `make check` as t/fuzz/fuzz_jwt).
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/base64.h"
#include "http/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW     ((time_t)1767225600)   /* 2026-01-01T00:00:00Z */
#define SECRET1 "k1-test-secret-0123456789abcdefghij"
#define SECRET2 "k2-test-secret-ZYXWVUTSRQPONMLKJIHG"
#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static const char *const details[] = {
    "algorithm not accepted", "key id does not match algorithm", "malformed key id",
    "malformed token", "missing or malformed sub", "missing token", "token expired",
    "token issued in the future", "token not yet valid", "token too long",
    "unsupported critical header", "wrong audience", "wrong issuer", "token has no alg",
    "unsigned token", "token has no exp", "malformed exp, nbf or iat", "token has no role",
    "unknown role", "bad signature", "unknown key id",
    "unsupported typ: only JWT tokens are read",
    "a claim's integer is beyond 64 bits (send a long sub as a string)",
    "a claim holds a NUL character", "a claim's number is out of range",
    "malformed token (signed right, but not JSON the JWT reader takes)",
};

static struct sp_auth_keys *keys;

static struct sp_auth_keys *
keyring(void)
{
    if (keys == NULL) {
        char err[256] = "";
        struct sp_auth_config cfg = {"k1:" SECRET1 ",k2:" SECRET2,
                                     SP_SRCDIR "/t/fixtures/jwt/public_keys.txt",
                                     "https://auth.example", "support", 60};
        keys = sp_auth_keys_load(&cfg, err, sizeof(err));
        if (keys == NULL)
            abort();
    }
    return keys;
}

static char *
b64url(struct sp_arena *a, const unsigned char *s, size_t n)
{
    return sp_b64url_encode(a, s, n);
}

/* The signature's bytes, whatever its spare bits (the decoder ignores
 * them); 0 for anything that is not base64url. */
static size_t
b64url_bytes(const char *s, unsigned char *out, size_t cap)
{
    long n = sp_b64url_decode_into(s, strlen(s), out, cap);
    return n > 0 ? (size_t)n : 0;
}

/* True when the token's signature is HMAC-SHA256 of its signing input
 * under one of the two secrets. */
static bool
hs256_signed(const char *token)
{
    const char *dot = strrchr(token, '.');
    unsigned char sig[64], mac[EVP_MAX_MD_SIZE];
    unsigned maclen;
    if (dot == NULL || b64url_bytes(dot + 1, sig, sizeof(sig)) != 32)
        return false;
    const char *secrets[] = {SECRET1, SECRET2};
    for (int i = 0; i < 2; i++) {
        HMAC(EVP_sha256(), secrets[i], (int)strlen(secrets[i]), (const unsigned char *)token,
             (size_t)(dot - token), mac, &maclen);
        if (maclen == 32 && memcmp(mac, sig, 32) == 0)
            return true;
    }
    return false;
}

static char *
signed_token(struct sp_arena *a, const char *text, bool second_key)
{
    const char *nl = strchr(text, '\n');
    if (nl == NULL)
        nl = text + strlen(text);
    char *input = sp_arena_sprintf(
        a, "%s.%s", b64url(a, (const unsigned char *)text, (size_t)(nl - text)),
        *nl ? b64url(a, (const unsigned char *)nl + 1, strlen(nl + 1)) : "");
    const char *secret = second_key ? SECRET2 : SECRET1;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)input, strlen(input), mac,
         &maclen);
    return sp_arena_sprintf(a, "%s.%s", input, b64url(a, mac, maclen));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_arena a;
    struct sp_problem p;
    struct sp_principal who;

    if (size == 0)
        return 0;
    sp_arena_init(&a, 4096);
    char *text = sp_arena_strndup(&a, (const char *)data + 1, size - 1);
    const char *token = data[0] & 1 ? signed_token(&a, text, data[0] & 2) : text;
    sp_problem_init(&p);
    memset(&who, 0x5a, sizeof(who));
    enum sp_rc rc = sp_auth_verify(keyring(), &a, token, NOW, &who, &p);
    if (rc == SP_OK) {
        CHECK(hs256_signed(token));
        CHECK(who.role == SP_ROLE_CUSTOMER || who.role == SP_ROLE_AGENT ||
              who.role == SP_ROLE_ADMIN);
        CHECK(who.tier < SP_TIER_MAX);
        size_t n = strnlen(who.sub, sizeof(who.sub));
        CHECK(n >= 1 && n <= SP_AUTH_SUB_MAX);
        for (size_t i = 0; i < n; i++)
            CHECK(who.sub[i] >= 0x20 && who.sub[i] <= 0x7e);
        CHECK(who.exp >= NOW - 60);
    } else {
        CHECK(rc == SP_UNAUTHORIZED && p.rc == SP_UNAUTHORIZED);
        CHECK(p.code != NULL && strcmp(p.code, "unauthorized") == 0);
        bool known = false;
        for (size_t i = 0; i < sizeof(details) / sizeof(details[0]); i++)
            known = known || strcmp(p.detail, details[i]) == 0;
        CHECK(known);
        CHECK(who.role == SP_ROLE_NONE && who.sub[0] == '\0' && who.name == NULL);
        /* signed here with the default key under a plain HS256 header:
         * whatever is refused, it is never called a bad signature (what
         * libjwt cannot read is named as such) */
        const char *nl = strchr(text, '\n');
        size_t hlen = nl != NULL ? (size_t)(nl - text) : strlen(text);
        if ((data[0] & 3) == 1 && hlen == strlen("{\"alg\":\"HS256\"}") &&
            memcmp(text, "{\"alg\":\"HS256\"}", hlen) == 0)
            CHECK(strcmp(p.detail, "bad signature") != 0);
    }
    sp_arena_destroy(&a);
    return 0;
}
