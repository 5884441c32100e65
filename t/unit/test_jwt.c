/*
 * test_jwt: the bearer-token contract of API.md §2 as implemented by
 * src/http/auth.c. Pure: the clock is injected, keys come from
 * $SP_FIXTURES_DIR/jwt (default t/fixtures). Must not: touch the network
 * or a database.
 */
#include <check.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/problem.h"
#include "http/auth.h"
#include "unit.h"

#define NOW     ((time_t)1767225600)   /* 2026-01-01T00:00:00Z */
#define SECRET1 "k1-test-secret-0123456789abcdefghij"
#define SECRET2 "k2-test-secret-ZYXWVUTSRQPONMLKJIHG"
#define HS_KEYS "k1:" SECRET1 ",k2:" SECRET2

static struct sp_arena arena;
static struct sp_problem prob;
static struct sp_principal who;

/* ---- helpers ----------------------------------------------------------- */

static const char *
fixture(const char *name)
{
    const char *dir = getenv("SP_FIXTURES_DIR");
    return sp_arena_sprintf(&arena, "%s/jwt/%s", dir && *dir ? dir : "t/fixtures", name);
}

static char *
slurp(const char *name)
{
    FILE *f = fopen(fixture(name), "rb");
    ck_assert_msg(f != NULL, "cannot open fixture %s (set SP_FIXTURES_DIR)", name);
    char *buf = sp_arena_alloc(&arena, 16384);
    size_t n = fread(buf, 1, 16383, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static char *
b64url(const void *data, size_t n)
{
    char *out = sp_arena_alloc(&arena, 4 * ((n + 2) / 3) + 1);
    int len = EVP_EncodeBlock((unsigned char *)out, data, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (char *c = out; *c; c++)
        *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    return out;
}

/* Hand-built HS256-signed token: any header, any claims. */
static char *
hand_token(const char *header, const char *claims, const char *secret)
{
    char *input = sp_arena_sprintf(&arena, "%s.%s", b64url(header, strlen(header)),
                                   b64url(claims, strlen(claims)));
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)input, strlen(input),
         mac, &maclen);
    return sp_arena_sprintf(&arena, "%s.%s", input, b64url(mac, maclen));
}

/* RS256/ES256 token signed by libjwt with a fixture private key. */
static char *
pem_token(jwt_alg_t alg, const char *private_pem, const char *kid, const char *claims)
{
    jwt_t *jwt = NULL;
    const char *pem = slurp(private_pem);
    ck_assert_int_eq(jwt_new(&jwt), 0);
    ck_assert_int_eq(jwt_set_alg(jwt, alg, (const unsigned char *)pem, (int)strlen(pem)), 0);
    if (kid != NULL)
        ck_assert_int_eq(jwt_add_header(jwt, "kid", kid), 0);
    ck_assert_int_eq(jwt_add_grants_json(jwt, claims), 0);
    char *enc = jwt_encode_str(jwt);
    ck_assert_ptr_nonnull(enc);
    char *tok = sp_arena_strdup(&arena, enc);
    free(enc);
    jwt_free(jwt);
    return tok;
}

static const char *
claims_ok(const char *extra)
{
    return sp_arena_sprintf(&arena, "{\"sub\":\"1001\",\"role\":\"customer\",\"iat\":%ld,"
                            "\"exp\":%ld%s%s}", (long)NOW, (long)NOW + 3600,
                            extra ? "," : "", extra ? extra : "");
}

static struct sp_auth_keys *
keys(const char *hs, bool pub, const char *iss, const char *aud)
{
    char err[256] = "";
    struct sp_auth_config cfg = { hs, pub ? fixture("public_keys.txt") : NULL, iss, aud, 60 };
    struct sp_auth_keys *k = sp_auth_keys_load(&cfg, err, sizeof(err));
    ck_assert_msg(k != NULL, "keys_load: %s", err);
    return k;
}

static enum sp_rc
verify(const struct sp_auth_keys *k, const char *token, time_t now)
{
    sp_problem_init(&prob);
    return sp_auth_verify(k, &arena, token, now, &who, &prob);
}

#define ck_accepted(k, tok, now) do { enum sp_rc rc_ = verify(k, tok, now); \
    ck_assert_msg(rc_ == SP_OK, "rejected: %s", prob.detail); } while (0)
#define ck_rejected(k, tok, now, why) do { \
    ck_assert_int_eq(verify(k, tok, now), SP_UNAUTHORIZED); \
    ck_assert_str_eq(prob.code, "unauthorized"); \
    ck_assert_str_eq(prob.detail, why); } while (0)

static void
setup(void)
{
    sp_arena_init(&arena, 0);
}

static void
teardown(void)
{
    sp_arena_destroy(&arena);
}

/* ---- HS256 and the keyring -------------------------------------------- */

START_TEST(valid_hs256_is_accepted_with_claims_mapped)
{
    struct sp_auth_keys *k = keys(HS_KEYS, false, NULL, NULL);
    char *tok = sp_auth_mint_hs256(&arena, "k1", SECRET1, "1001", SP_ROLE_AGENT, NOW, 600,
        "{\"tier\":\"vip\",\"email\":\"ann@example.com\",\"name\":\"Ann\",\"phone\":\"+15550100\"}");
    ck_assert_ptr_nonnull(tok);
    ck_accepted(k, tok, NOW + 10);
    ck_assert_str_eq(who.sub, "1001");
    ck_assert_int_eq(who.role, SP_ROLE_AGENT);
    ck_assert_int_eq(who.tier, SP_TIER_VIP);
    ck_assert_str_eq(who.email, "ann@example.com");
    ck_assert_str_eq(who.name, "Ann");
    ck_assert_str_eq(who.phone, "+15550100");
    sp_auth_keys_free(k);
}
END_TEST

START_TEST(token_without_optional_claims_defaults_to_standard_tier)
{
    struct sp_auth_keys *k = keys(HS_KEYS, false, NULL, NULL);
    ck_accepted(k, hand_token("{\"alg\":\"HS256\"}", claims_ok("\"tier\":\"platinum\""), SECRET1), NOW);
    ck_assert_int_eq(who.role, SP_ROLE_CUSTOMER);
    ck_assert_int_eq(who.tier, SP_TIER_STANDARD);
    ck_assert_ptr_null(who.email);
    ck_assert_ptr_null(who.name);
    sp_auth_keys_free(k);
}
END_TEST

START_TEST(kid_selects_the_second_key)
{
    struct sp_auth_keys *k = keys(HS_KEYS, false, NULL, NULL);
    ck_accepted(k, sp_auth_mint_hs256(&arena, "k2", SECRET2, "7", SP_ROLE_CUSTOMER, NOW, 60, NULL), NOW);
    ck_rejected(k, sp_auth_mint_hs256(&arena, "k1", SECRET2, "7", SP_ROLE_CUSTOMER, NOW, 60, NULL),
                NOW, "bad signature");
    sp_auth_keys_free(k);
}
END_TEST

/* A keys file of one key a line, the newest first (QA: "k1:<secret>\n
 * k2:<secret>" was one key whose secret held the line break and the
 * second key, and every token was 401). */
START_TEST(keys_one_a_line_are_separate_keys)
{
    struct sp_auth_keys *k = keys("k1:" SECRET1 "\nk2:" SECRET2 "\r\n", false, NULL, NULL);
    const char *kids[] = {"k1", "k2", NULL}, *secrets[] = {SECRET1, SECRET2, SECRET1};
    for (int i = 0; i < 3; i++)
        ck_accepted(k, sp_auth_mint_hs256(&arena, kids[i], secrets[i], "7", SP_ROLE_CUSTOMER,
                                          NOW, 60, NULL), NOW);
    sp_auth_keys_free(k);
}
END_TEST

START_TEST(no_kid_uses_the_first_key_only)
{
    struct sp_auth_keys *k = keys(HS_KEYS, false, NULL, NULL);
    ck_accepted(k, sp_auth_mint_hs256(&arena, NULL, SECRET1, "7", SP_ROLE_CUSTOMER, NOW, 60, NULL), NOW);
    ck_rejected(k, sp_auth_mint_hs256(&arena, NULL, SECRET2, "7", SP_ROLE_CUSTOMER, NOW, 60, NULL),
                NOW, "bad signature");
    sp_auth_keys_free(k);
}
END_TEST

START_TEST(unknown_kid_is_rejected)
{
    struct sp_auth_keys *k = keys(HS_KEYS, false, NULL, NULL);
    ck_rejected(k, sp_auth_mint_hs256(&arena, "k9", SECRET1, "7", SP_ROLE_CUSTOMER, NOW, 60, NULL),
                NOW, "unknown key id");
    ck_rejected(k, hand_token("{\"alg\":\"HS256\",\"kid\":7}", claims_ok(NULL), SECRET1),
                NOW, "malformed key id");
    sp_auth_keys_free(k);
}
END_TEST

START_TEST(bad_signature_is_rejected)
{
    struct sp_auth_keys *k = keys(HS_KEYS, false, NULL, NULL);
    char *tok = sp_auth_mint_hs256(&arena, "k1", SECRET1, "7", SP_ROLE_CUSTOMER, NOW, 60, NULL);
    char *sig = strrchr(tok, '.') + 5;
    *sig = *sig == 'A' ? 'B' : 'A';
    ck_rejected(k, tok, NOW, "bad signature");
    ck_rejected(k, sp_auth_mint_hs256(&arena, "k1", "another-secret-of-enough-length-xx", "7",
                                      SP_ROLE_CUSTOMER, NOW, 60, NULL), NOW, "bad signature");
    sp_auth_keys_free(k);
}
END_TEST

START_TEST(admin_implies_agent)
{
    struct sp_auth_keys *k = keys(HS_KEYS, false, NULL, NULL);
    ck_accepted(k, sp_auth_mint_hs256(&arena, "k1", SECRET1, "3001", SP_ROLE_ADMIN, NOW, 60, NULL), NOW);
    ck_assert(sp_principal_has_role(&who, SP_ROLE_ADMIN));
    ck_assert(sp_principal_has_role(&who, SP_ROLE_AGENT));
    ck_assert(!sp_principal_has_role(&who, SP_ROLE_CUSTOMER));
    ck_assert(!sp_principal_has_role(&who, SP_ROLE_NONE));
    struct sp_principal agent = { .role = SP_ROLE_AGENT }, customer = { .role = SP_ROLE_CUSTOMER };
    ck_assert(sp_principal_has_role(&agent, SP_ROLE_AGENT));
    ck_assert(!sp_principal_has_role(&agent, SP_ROLE_ADMIN));
    ck_assert(!sp_principal_has_role(&customer, SP_ROLE_AGENT));
    sp_auth_keys_free(k);
}
END_TEST

START_TEST(role_and_tier_names_round_trip)
{
    for (int r = SP_ROLE_CUSTOMER; r < SP_ROLE_MAX; r++) {
        enum sp_role out = SP_ROLE_NONE;
        ck_assert(sp_role_parse(sp_role_name((enum sp_role)r), &out));
        ck_assert_int_eq(out, r);
    }
    for (int t = 0; t < SP_TIER_MAX; t++) {
        enum sp_tier out = SP_TIER_MAX;
        ck_assert(sp_tier_parse(sp_tier_name((enum sp_tier)t), &out));
        ck_assert_int_eq(out, t);
    }
    enum sp_role r = SP_ROLE_NONE;
    ck_assert(!sp_role_parse("admin", &r));
    ck_assert(!sp_role_parse(NULL, &r));
    ck_assert_ptr_null(sp_role_name(SP_ROLE_NONE));
    ck_assert_str_eq(sp_role_name(SP_ROLE_ADMIN), "support_admin");
}
END_TEST

/* ---- time claims ------------------------------------------------------- */

START_TEST(expired_token_is_rejected_beyond_leeway)
{
    struct sp_auth_keys *k = keys(HS_KEYS, false, NULL, NULL);
    char *tok = sp_auth_mint_hs256(&arena, "k1", SECRET1, "7", SP_ROLE_CUSTOMER, NOW, 60, NULL);
    ck_accepted(k, tok, NOW + 60 + 59);
    ck_rejected(k, tok, NOW + 60 + 60, "token expired");
    ck_rejected(k, tok, NOW + 86400, "token expired");
    sp_auth_keys_free(k);
}
END_TEST

/* A token signed with the right key that libjwt cannot read is refused
 * for what it is, not as a "bad signature" (QA: an IdP's at+jwt tokens
 * sent operators looking for a wrong secret). */
START_TEST(what_libjwt_cannot_read_is_named_not_a_bad_signature)
{
    struct sp_auth_keys *k = keys(HS_KEYS, false, NULL, NULL);
    ck_accepted(k, hand_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims_ok(NULL), SECRET1),
                NOW);
    ck_accepted(k, hand_token("{\"alg\":\"HS256\",\"typ\":\"jwt\"}", claims_ok(NULL), SECRET1),
                NOW);
    static const char *const typs[] = {"\"at+jwt\"", "\"JOSE\"", "7", "null"};
    for (size_t i = 0; i < sizeof(typs) / sizeof(typs[0]); i++)
        ck_rejected(k,
                    hand_token(sp_arena_sprintf(&arena, "{\"alg\":\"HS256\",\"typ\":%s}", typs[i]),
                               claims_ok(NULL), SECRET1),
                    NOW, "unsupported typ: only JWT tokens are read");
    static const char *const big[] = {"\"org\":12345678901234567890",
                                      "\"n\":[1,{\"m\":9223372036854775808}]"};
    for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++)
        ck_rejected(k, hand_token("{\"alg\":\"HS256\"}", claims_ok(big[i]), SECRET1), NOW,
                    "a claim's integer is beyond 64 bits (send a long sub as a string)");
    ck_accepted(k, hand_token("{\"alg\":\"HS256\"}", claims_ok("\"n\":9223372036854775807"),
                              SECRET1),
                NOW);
    ck_rejected(k, hand_token("{\"alg\":\"HS256\"}", claims_ok("\"email\":\"a\\u0000b@x.com\""),
                              SECRET1),
                NOW, "a claim holds a NUL character");
    /* JSON only json-c takes ("-.0"), a raw control character in a
     * string: signed right, so not a bad signature */
    ck_rejected(k, hand_token("{\"alg\":\"HS256\"}", claims_ok("\"nbf\":-.0"), SECRET1), NOW,
                "malformed token (signed right, but not JSON the JWT reader takes)");
    ck_rejected(k, hand_token("{\"alg\":\"HS256\"}", claims_ok("\"x\":\"a\rb\""), SECRET1), NOW,
                "malformed token");
    ck_rejected(k, hand_token("{\"alg\":\"HS256\"}", claims_ok("\"nbf\":-.0"), SECRET2), NOW,
                "bad signature");
    /* a numeric sub of 19 digits still reads */
    ck_accepted(k, hand_token("{\"alg\":\"HS256\"}",
                              sp_arena_sprintf(&arena, "{\"sub\":1234567890123456789,"
                                               "\"role\":\"customer\",\"exp\":%ld}",
                                               (long)NOW + 60),
                              SECRET1),
                NOW);
    sp_auth_keys_free(k);
}
END_TEST

START_TEST(missing_or_non_numeric_exp_is_rejected)
{
    struct sp_auth_keys *k = keys(HS_KEYS, false, NULL, NULL);
    ck_rejected(k, hand_token("{\"alg\":\"HS256\"}", "{\"sub\":\"1\",\"role\":\"customer\"}", SECRET1),
                NOW, "token has no exp");
    ck_rejected(k, hand_token("{\"alg\":\"HS256\"}",
                              "{\"sub\":\"1\",\"role\":\"customer\",\"exp\":\"1999999999\"}", SECRET1),
                NOW, "malformed exp, nbf or iat");
    ck_accepted(k, hand_token("{\"alg\":\"HS256\"}",
                              "{\"sub\":\"1\",\"role\":\"customer\",\"exp\":1999999999.5}", SECRET1), NOW);
    sp_auth_keys_free(k);
}
END_TEST

/* Found by t/fuzz/fuzz_jwt: exp beyond the range of long long made the
 * principal's exp an undefined conversion (UBSan: 1.76723e+206 is
 * outside the range of representable values of type 'long long'). */
START_TEST(far_future_exp_is_accepted_as_never)
{
    struct sp_auth_keys *k = keys(HS_KEYS, false, NULL, NULL);
    ck_accepted(k, hand_token("{\"alg\":\"HS256\"}",
                              "{\"sub\":\"1\",\"role\":\"customer\",\"exp\":1767229E200}", SECRET1),
                NOW);
    ck_assert(who.exp == LLONG_MAX);
    ck_accepted(k, hand_token("{\"alg\":\"HS256\"}",
                              "{\"sub\":\"1\",\"role\":\"customer\",\"exp\":9.3e18}", SECRET1),
                NOW);
    ck_assert(who.exp == LLONG_MAX);
    ck_accepted(k, hand_token("{\"alg\":\"HS256\"}",
                              "{\"sub\":\"1\",\"role\":\"customer\",\"exp\":4102444800}", SECRET1),
                NOW);
    ck_assert(who.exp == 4102444800LL);
    sp_auth_keys_free(k);
}
END_TEST

START_TEST(nbf_in_future_is_rejected_but_within_leeway_accepted)
{
    struct sp_auth_keys *k = keys(HS_KEYS, false, NULL, NULL);
    const char *far = sp_arena_sprintf(&arena, "\"nbf\":%ld", (long)NOW + 120);
    const char *near = sp_arena_sprintf(&arena, "\"nbf\":%ld", (long)NOW + 30);
    ck_rejected(k, hand_token("{\"alg\":\"HS256\"}", claims_ok(far), SECRET1), NOW, "token not yet valid");
    ck_accepted(k, hand_token("{\"alg\":\"HS256\"}", claims_ok(near), SECRET1), NOW);
    sp_auth_keys_free(k);
}
END_TEST

START_TEST(iat_in_future_beyond_leeway_is_rejected)
{
    struct sp_auth_keys *k = keys(HS_KEYS, false, NULL, NULL);
    ck_rejected(k, sp_auth_mint_hs256(&arena, "k1", SECRET1, "7", SP_ROLE_CUSTOMER, NOW + 120, 600, NULL),
                NOW, "token issued in the future");
    ck_accepted(k, sp_auth_mint_hs256(&arena, "k1", SECRET1, "7", SP_ROLE_CUSTOMER, NOW + 30, 600, NULL),
                NOW);
    sp_auth_keys_free(k);
}
END_TEST

/* ---- algorithms -------------------------------------------------------- */

START_TEST(alg_none_is_rejected_in_any_case)
{
    struct sp_auth_keys *k = keys(HS_KEYS, true, NULL, NULL);
    const char *c = claims_ok(NULL);
    const char *hdrs[] = { "{\"alg\":\"none\"}", "{\"alg\":\"NONE\"}", "{\"alg\":\"nOnE\",\"kid\":\"k1\"}" };
    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
        char *t = sp_arena_sprintf(&arena, "%s.%s.", b64url(hdrs[i], strlen(hdrs[i])), b64url(c, strlen(c)));
        ck_rejected(k, t, NOW, "unsigned token");
        /* a forged "signature" does not help */
        ck_rejected(k, sp_arena_sprintf(&arena, "%sAAAA", t), NOW, "unsigned token");
    }
    /* alg HS256 with an empty signature is unsigned too */
    char *t = hand_token("{\"alg\":\"HS256\"}", c, SECRET1);
    strrchr(t, '.')[1] = '\0';
    ck_rejected(k, t, NOW, "unsigned token");
    sp_auth_keys_free(k);
}
END_TEST

START_TEST(other_algorithms_are_rejected)
{
    struct sp_auth_keys *k = keys(HS_KEYS, true, NULL, NULL);
    const char *hdrs[] = { "{\"alg\":\"HS512\"}", "{\"alg\":\"hs256\"}", "{\"alg\":\"PS256\"}",
                           "{\"alg\":\"RS384\"}", "{\"alg\":\"ES512\"}", "{\"alg\":\"EdDSA\"}" };
    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++)
        ck_rejected(k, hand_token(hdrs[i], claims_ok(NULL), SECRET1), NOW, "algorithm not accepted");
    ck_rejected(k, hand_token("{\"typ\":\"JWT\"}", claims_ok(NULL), SECRET1), NOW, "token has no alg");
    ck_rejected(k, hand_token("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", claims_ok(NULL), SECRET1),
                NOW, "unsupported critical header");
    sp_auth_keys_free(k);
}
END_TEST

START_TEST(hs256_signed_with_public_key_is_rejected)
{
    /* Classic confusion: the attacker HMACs with the (public) RSA PEM. */
    const char *pem = slurp("rsa_public.pem");
    char *plain = sp_auth_mint_hs256(&arena, NULL, pem, "3001", SP_ROLE_ADMIN, NOW, 600, NULL);
    char *named = sp_auth_mint_hs256(&arena, "rsa-1", pem, "3001", SP_ROLE_ADMIN, NOW, 600, NULL);

    struct sp_auth_keys *only_pub = keys(NULL, true, NULL, NULL);
    ck_rejected(only_pub, plain, NOW, "algorithm not accepted");
    ck_rejected(only_pub, named, NOW, "key id does not match algorithm");
    sp_auth_keys_free(only_pub);

    struct sp_auth_keys *both = keys(HS_KEYS, true, NULL, NULL);
    ck_rejected(both, plain, NOW, "bad signature");
    ck_rejected(both, named, NOW, "key id does not match algorithm");
    sp_auth_keys_free(both);
}
END_TEST

START_TEST(rs_or_es_header_never_meets_a_secret)
{
    struct sp_auth_keys *k = keys(HS_KEYS, true, NULL, NULL);
    /* HMAC-signed but claiming RS256/ES256, with an HS kid or none */
    ck_rejected(k, hand_token("{\"alg\":\"RS256\",\"kid\":\"k1\"}", claims_ok(NULL), SECRET1),
                NOW, "key id does not match algorithm");
    ck_rejected(k, hand_token("{\"alg\":\"RS256\"}", claims_ok(NULL), SECRET1), NOW, "bad signature");
    ck_rejected(k, hand_token("{\"alg\":\"ES256\"}", claims_ok(NULL), SECRET1), NOW, "bad signature");
    struct sp_auth_keys *hs_only = keys(HS_KEYS, false, NULL, NULL);
    ck_rejected(hs_only, hand_token("{\"alg\":\"RS256\"}", claims_ok(NULL), SECRET1),
                NOW, "algorithm not accepted");
    sp_auth_keys_free(hs_only);
    sp_auth_keys_free(k);
}
END_TEST

START_TEST(rs256_and_es256_tokens_are_accepted)
{
    struct sp_auth_keys *k = keys(HS_KEYS, true, NULL, NULL);
    ck_accepted(k, pem_token(JWT_ALG_RS256, "rsa_private.pem", "rsa-1", claims_ok(NULL)), NOW);
    ck_assert_str_eq(who.sub, "1001");
    ck_accepted(k, pem_token(JWT_ALG_ES256, "ec_private.pem", "ec-1", claims_ok("\"tier\":\"premium\"")), NOW);
    ck_assert_int_eq(who.tier, SP_TIER_PREMIUM);
    /* without kid every key of the matching type is tried */
    ck_accepted(k, pem_token(JWT_ALG_RS256, "rsa_private.pem", NULL, claims_ok(NULL)), NOW);
    ck_accepted(k, pem_token(JWT_ALG_ES256, "ec_private.pem", NULL, claims_ok(NULL)), NOW);
    /* the kid must name a key of the token's type */
    ck_rejected(k, pem_token(JWT_ALG_ES256, "ec_private.pem", "rsa-1", claims_ok(NULL)),
                NOW, "key id does not match algorithm");
    ck_rejected(k, pem_token(JWT_ALG_ES256, "ec_private.pem", "k1", claims_ok(NULL)),
                NOW, "key id does not match algorithm");
    /* claims are checked for public-key tokens too */
    ck_rejected(k, pem_token(JWT_ALG_RS256, "rsa_private.pem", "rsa-1", claims_ok(NULL)),
                NOW + 7200, "token expired");
    sp_auth_keys_free(k);
}
END_TEST

START_TEST(tampered_rs256_claims_are_rejected)
{
    struct sp_auth_keys *k = keys(NULL, true, NULL, NULL);
    char *tok = pem_token(JWT_ALG_RS256, "rsa_private.pem", "rsa-1", claims_ok(NULL));
    const char *forged = "{\"sub\":\"1001\",\"role\":\"support_admin\",\"exp\":1999999999}";
    char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
    *d1 = '\0';
    ck_rejected(k, sp_arena_sprintf(&arena, "%s.%s%s", tok, b64url(forged, strlen(forged)), d2),
                NOW, "bad signature");
    sp_auth_keys_free(k);
}
END_TEST

/* ---- issuer, audience, subject, role ------------------------------------ */

START_TEST(wrong_issuer_or_audience_is_rejected_when_configured)
{
    struct sp_auth_keys *k = keys(HS_KEYS, false, "https://id.example", "support");
    const char *h = "{\"alg\":\"HS256\"}";
    ck_accepted(k, hand_token(h, claims_ok("\"iss\":\"https://id.example\",\"aud\":\"support\""), SECRET1), NOW);
    ck_accepted(k, hand_token(h, claims_ok("\"iss\":\"https://id.example\",\"aud\":[\"x\",\"support\"]"),
                              SECRET1), NOW);
    ck_rejected(k, hand_token(h, claims_ok("\"iss\":\"https://evil.example\",\"aud\":\"support\""), SECRET1),
                NOW, "wrong issuer");
    ck_rejected(k, hand_token(h, claims_ok("\"aud\":\"support\""), SECRET1), NOW, "wrong issuer");
    ck_rejected(k, hand_token(h, claims_ok("\"iss\":\"https://id.example\",\"aud\":\"billing\""), SECRET1),
                NOW, "wrong audience");
    ck_rejected(k, hand_token(h, claims_ok("\"iss\":\"https://id.example\",\"aud\":[\"billing\",7]"),
                              SECRET1), NOW, "wrong audience");
    ck_rejected(k, hand_token(h, claims_ok("\"iss\":\"https://id.example\""), SECRET1), NOW, "wrong audience");
    sp_auth_keys_free(k);

    struct sp_auth_keys *open = keys(HS_KEYS, false, NULL, NULL);
    ck_accepted(open, hand_token(h, claims_ok("\"iss\":\"anyone\",\"aud\":\"anything\""), SECRET1), NOW);
    sp_auth_keys_free(open);
}
END_TEST

START_TEST(missing_or_unknown_role_is_rejected)
{
    struct sp_auth_keys *k = keys(HS_KEYS, false, NULL, NULL);
    const char *h = "{\"alg\":\"HS256\"}";
    ck_rejected(k, hand_token(h, "{\"sub\":\"1\",\"exp\":1999999999}", SECRET1), NOW, "token has no role");
    ck_rejected(k, hand_token(h, "{\"sub\":\"1\",\"role\":\"superuser\",\"exp\":1999999999}", SECRET1),
                NOW, "unknown role");
    ck_assert_str_eq(who.sub, "");  /* a refused token leaves no half-made principal */
    ck_assert_int_eq(who.role, SP_ROLE_NONE);
    ck_rejected(k, hand_token(h, "{\"sub\":\"1\",\"role\":\"admin\",\"exp\":1999999999}", SECRET1),
                NOW, "unknown role");
    ck_rejected(k, hand_token(h, "{\"sub\":\"1\",\"role\":[\"customer\"],\"exp\":1999999999}", SECRET1),
                NOW, "token has no role");
    sp_auth_keys_free(k);
}
END_TEST

START_TEST(integer_sub_is_accepted_as_text)
{
    struct sp_auth_keys *k = keys(HS_KEYS, false, NULL, NULL);
    ck_accepted(k, sp_auth_mint_hs256(&arena, "k1", SECRET1, "9", SP_ROLE_CUSTOMER, NOW, 60,
                                      "{\"sub\":1001}"), NOW);
    ck_assert_str_eq(who.sub, "1001");
    sp_auth_keys_free(k);
}
END_TEST

START_TEST(bad_sub_is_rejected)
{
    struct sp_auth_keys *k = keys(HS_KEYS, false, NULL, NULL);
    const char *h = "{\"alg\":\"HS256\"}";
    const char *bad[] = {
        "{\"role\":\"customer\",\"exp\":1999999999}",
        "{\"sub\":\"\",\"role\":\"customer\",\"exp\":1999999999}",
        "{\"sub\":1001.5,\"role\":\"customer\",\"exp\":1999999999}",
        "{\"sub\":\"a\\nb\",\"role\":\"customer\",\"exp\":1999999999}",
        "{\"sub\":\"\\u00e9\",\"role\":\"customer\",\"exp\":1999999999}",
        "{\"sub\":\"12345678901234567890123456789012345678901234567890123456789012345\","
        "\"role\":\"customer\",\"exp\":1999999999}",
        /* API.md §2: an integer; as text it must be the one way the number
         * is written, or it would be another user to every per-user key */
        "{\"sub\":\"abc\",\"role\":\"customer\",\"exp\":1999999999}",
        "{\"sub\":\"007\",\"role\":\"customer\",\"exp\":1999999999}",
        "{\"sub\":\"0\",\"role\":\"customer\",\"exp\":1999999999}",
        "{\"sub\":\"-7\",\"role\":\"customer\",\"exp\":1999999999}",
        "{\"sub\":\"+7\",\"role\":\"customer\",\"exp\":1999999999}",
        "{\"sub\":\" 7\",\"role\":\"customer\",\"exp\":1999999999}",
        "{\"sub\":\"7 \",\"role\":\"customer\",\"exp\":1999999999}",
        "{\"sub\":\"7.5\",\"role\":\"customer\",\"exp\":1999999999}",
        "{\"sub\":0,\"role\":\"customer\",\"exp\":1999999999}",
        "{\"sub\":-7,\"role\":\"customer\",\"exp\":1999999999}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_rejected(k, hand_token(h, bad[i], SECRET1), NOW, "missing or malformed sub");
    /* libjwt's own parser refuses these before our claim checks run */
    ck_assert_int_eq(verify(k, hand_token(h, "{\"sub\":\"a\\u0000b\",\"role\":\"customer\","
                                            "\"exp\":1999999999}", SECRET1), NOW), SP_UNAUTHORIZED);
    ck_assert_int_eq(verify(k, hand_token(h, "{\"sub\":99999999999999999999999,\"role\":\"customer\","
                                            "\"exp\":1999999999}", SECRET1), NOW), SP_UNAUTHORIZED);
    ck_accepted(k, hand_token(h, "{\"sub\":\"1234567890123456789012345678901234567890123456789012345678901234\","
                                 "\"role\":\"customer\",\"exp\":1999999999}", SECRET1), NOW);
    ck_assert_uint_eq(strlen(who.sub), 64);
    /* nor does the minter write one */
    ck_assert_ptr_null(sp_auth_mint_hs256(&arena, "k1", SECRET1, "abc", SP_ROLE_CUSTOMER, NOW, 60,
                                          NULL));
    ck_assert_ptr_null(sp_auth_mint_hs256(&arena, "k1", SECRET1, "07", SP_ROLE_CUSTOMER, NOW, 60,
                                          NULL));
    sp_auth_keys_free(k);
}
END_TEST

/* json-c keeps the last of a repeated member: a payload naming "role"
 * twice would be a support_admin to us and a customer to a reader that
 * keeps the first. Refused, as request bodies are (core/json). */
START_TEST(a_claim_or_header_named_twice_is_rejected)
{
    struct sp_auth_keys *k = keys(HS_KEYS, false, NULL, NULL);
    const char *h = "{\"alg\":\"HS256\"}";
    ck_rejected(k, hand_token(h, "{\"sub\":\"7001\",\"role\":\"customer\","
                                 "\"role\":\"support_admin\",\"exp\":1999999999}", SECRET1),
                NOW, "malformed token");
    ck_assert_int_eq(who.role, SP_ROLE_NONE);
    ck_rejected(k, hand_token(h, "{\"sub\":\"7001\",\"sub\":\"7002\",\"role\":\"customer\","
                                 "\"exp\":1999999999}", SECRET1),
                NOW, "malformed token");
    ck_rejected(k, hand_token(h, "{\"sub\":\"7001\",\"role\":\"customer\",\"exp\":1999999999,"
                                 "\"x\":{\"a\":1,\"a\":2}}", SECRET1),
                NOW, "malformed token");
    ck_rejected(k, hand_token("{\"alg\":\"HS256\",\"alg\":\"HS256\"}",
                              "{\"sub\":\"7001\",\"role\":\"customer\",\"exp\":1999999999}",
                              SECRET1),
                NOW, "malformed token");
    /* the same claims, each once, pass */
    ck_accepted(k, hand_token(h, "{\"sub\":\"7001\",\"role\":\"support_admin\","
                                 "\"exp\":1999999999}", SECRET1), NOW);
    ck_assert_int_eq(who.role, SP_ROLE_ADMIN);
    sp_auth_keys_free(k);
}
END_TEST

/* ---- malformed input ---------------------------------------------------- */

START_TEST(malformed_tokens_are_rejected)
{
    struct sp_auth_keys *k = keys(HS_KEYS, true, NULL, NULL);
    char *good = sp_auth_mint_hs256(&arena, "k1", SECRET1, "7", SP_ROLE_CUSTOMER, NOW, 60, NULL);
    char *two = sp_arena_strdup(&arena, good);
    *strrchr(two, '.') = '\0';
    ck_rejected(k, two, NOW, "malformed token");
    ck_rejected(k, sp_arena_sprintf(&arena, "%s.xyz", good), NOW, "malformed token");
    ck_rejected(k, "!!!.@@@.###", NOW, "malformed token");
    ck_rejected(k, "..", NOW, "malformed token");
    ck_rejected(k, "abc", NOW, "malformed token");
    ck_rejected(k, "", NOW, "missing token");
    ck_rejected(k, NULL, NOW, "missing token");
    ck_rejected(k, sp_arena_sprintf(&arena, "%s=", good), NOW, "malformed token");      /* padding */
    ck_rejected(k, sp_arena_sprintf(&arena, "=%s", good), NOW, "malformed token");
    /* segments that are base64 but not a JSON object */
    const char *h = "{\"alg\":\"HS256\"}";
    ck_rejected(k, hand_token("[1,2]", claims_ok(NULL), SECRET1), NOW, "malformed token");
    ck_rejected(k, hand_token(h, "not json", SECRET1), NOW, "malformed token");
    ck_rejected(k, hand_token(h, "{\"sub\":\"1\",}", SECRET1), NOW, "malformed token");
    ck_rejected(k, hand_token(h, "{\"sub\":\"1\"} trailing", SECRET1), NOW, "malformed token");
    ck_rejected(k, hand_token(h, "{\"sub\":\"\xff\"}", SECRET1), NOW, "malformed token");
    /* huge */
    size_t n = SP_AUTH_TOKEN_MAX + 100;
    char *huge = sp_arena_alloc(&arena, n + 1);
    memset(huge, 'A', n);
    huge[n] = '\0';
    huge[10] = huge[20] = '.';
    ck_rejected(k, huge, NOW, "token too long");
    char *pad = sp_arena_sprintf(&arena, "\"pad\":\"%0*d\"", SP_AUTH_TOKEN_MAX, 0);
    ck_rejected(k, hand_token(h, claims_ok(pad), SECRET1), NOW, "token too long");
    /* details never echo the token */
    ck_rejected(k, two, NOW, "malformed token");
    ck_assert_ptr_null(strstr(prob.detail, two));
    sp_auth_keys_free(k);
}
END_TEST

/* ---- configuration ------------------------------------------------------ */

static void
load_fails(const char *hs, const char *file, const char *want_in_err)
{
    char err[256] = "";
    struct sp_auth_config cfg = { hs, file, NULL, NULL, 60 };
    struct sp_auth_keys *k = sp_auth_keys_load(&cfg, err, sizeof(err));
    sp_auth_keys_free(k);
    ck_assert_msg(k == NULL, "load of %s accepted", hs ? hs : file);
    ck_assert_msg(strstr(err, want_in_err) != NULL, "error \"%s\" lacks \"%s\"", err, want_in_err);
    ck_assert_msg(strstr(err, "supersecret") == NULL, "error leaks the secret: %s", err);
}

static void
remove_file(void *path)
{
    unlink(path);
}

/* The public half of a freshly generated key, as PEM (takes pk). */
static const char *
pub_pem_of(EVP_PKEY *pk)
{
    ck_assert_ptr_nonnull(pk);
    BIO *b = BIO_new(BIO_s_mem());
    ck_assert_int_eq(PEM_write_bio_PUBKEY(b, pk), 1);
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    char *out = sp_arena_strndup(&arena, data, (size_t)n);
    BIO_free(b);
    EVP_PKEY_free(pk);
    return out;
}

static const char *
write_tmp(const char *text)
{
    char *path = sp_arena_strdup(&arena, "/tmp/test_jwt_keys_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    sp_arena_defer(&arena, remove_file, path);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

START_TEST(bad_configuration_names_the_setting_not_the_secret)
{
    load_fails(NULL, NULL, "SUPPORT_JWT_KEYS");
    load_fails("", "", "SUPPORT_JWT_PUBLIC_KEYS_FILE");
    load_fails("supersecret-without-a-kid-0123456789abcdef", NULL, "SUPPORT_JWT_KEYS: entry 1");
    load_fails("k1:supersecret", NULL, "shorter than 32 bytes");
    load_fails("k1:" SECRET1 ",k1:" SECRET2, NULL, "kid \"k1\" is used twice");
    load_fails("k1:" SECRET1 ",", NULL, "entry 2");
    load_fails(":supersecret-0123456789abcdefghijklmnop", NULL, "entry 1");
    /* entries are not trimmed; a short secret is named before a repeated kid */
    load_fails(" k1:" SECRET1, NULL,
               "SUPPORT_JWT_KEYS: entry 1 is not kid:secret (kid of 1-64 visible characters)");
    load_fails("k1:" SECRET1 "\tk2:" SECRET2, NULL,
               "SUPPORT_JWT_KEYS: the secret of kid \"k1\" holds a control character");
    load_fails("k1:" SECRET1 ",k1:supersecret", NULL,
               "SUPPORT_JWT_KEYS: the secret of kid \"k1\" is shorter than 32 bytes");
    load_fails(NULL, "/nonexistent/keys.txt", "SUPPORT_JWT_PUBLIC_KEYS_FILE: cannot open");
    load_fails(NULL, write_tmp("# only a comment\n"), "no public keys");
    load_fails(NULL, write_tmp("hello\n"), "line 1");
    load_fails(NULL, write_tmp(pub_pem_of(EVP_RSA_gen(1024))), "RSA key shorter than 2048 bits");
    load_fails(NULL, write_tmp(pub_pem_of(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"))),
               "EC key not on P-256");
    load_fails(NULL, write_tmp(pub_pem_of(EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"))),
               "neither RSA nor EC P-256");
    load_fails(NULL, write_tmp("kid: a\nkid: b\n"), "line 2");
    load_fails(NULL, write_tmp("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
               "is not a PEM public key");
    load_fails(NULL, write_tmp("-----BEGIN PUBLIC KEY-----\nAAAA\n"), "ends inside a key");
    load_fails(NULL, write_tmp(sp_arena_sprintf(&arena, "kid: x\n%skid: x\n%s", slurp("rsa_public.pem"),
                                                slurp("ec_public.pem"))), "kid \"x\" is used twice");
    load_fails(NULL, write_tmp(slurp("rsa_private.pem")), "line 1");
    char err[256];
    struct sp_auth_config cfg = { HS_KEYS, NULL, NULL, NULL, -1 };
    ck_assert_ptr_null(sp_auth_keys_load(&cfg, err, sizeof(err)));
}
END_TEST

START_TEST(public_keys_file_accepts_crlf_comments_and_unnamed_keys)
{
    const char *rsa = slurp("rsa_public.pem");
    char *crlf = sp_arena_alloc(&arena, 2 * strlen(rsa) + 64), *o = crlf;
    o += sprintf(o, "# rotated 2026-01\r\n\r\n");
    for (const char *c = rsa; *c; c++) {
        if (*c == '\n')
            *o++ = '\r';
        *o++ = *c;
    }
    *o = '\0';
    char err[256] = "";
    struct sp_auth_config cfg = { NULL, write_tmp(crlf), NULL, NULL, 60 };
    struct sp_auth_keys *k = sp_auth_keys_load(&cfg, err, sizeof(err));
    ck_assert_msg(k != NULL, "%s", err);
    ck_accepted(k, pem_token(JWT_ALG_RS256, "rsa_private.pem", NULL, claims_ok(NULL)), NOW);
    ck_rejected(k, pem_token(JWT_ALG_RS256, "rsa_private.pem", "rsa-1", claims_ok(NULL)), NOW,
                "unknown key id");
    sp_auth_keys_free(k);
}
END_TEST

START_TEST(mint_default_uses_the_first_key_and_its_kid)
{
    struct sp_auth_keys *k = keys(HS_KEYS, true, NULL, NULL);
    char *tok = sp_auth_mint_default(k, &arena, "2001", SP_ROLE_AGENT, NOW, 60, "{\"tier\":\"vip\"}");
    ck_assert_ptr_nonnull(tok);
    ck_accepted(k, tok, NOW);
    ck_assert_str_eq(who.sub, "2001");
    ck_assert_int_eq(who.tier, SP_TIER_VIP);
    ck_assert_ptr_null(sp_auth_mint_default(k, &arena, "2001", SP_ROLE_NONE, NOW, 60, NULL));
    ck_assert_ptr_null(sp_auth_mint_default(k, &arena, "2001", SP_ROLE_AGENT, NOW, 0, NULL));
    ck_assert_ptr_null(sp_auth_mint_default(k, &arena, "2001", SP_ROLE_AGENT, NOW, 60, "{not json"));
    sp_auth_keys_free(k);
    struct sp_auth_keys *pub = keys(NULL, true, NULL, NULL);
    ck_assert_ptr_null(sp_auth_mint_default(pub, &arena, "2001", SP_ROLE_AGENT, NOW, 60, NULL));
    sp_auth_keys_free(pub);
}
END_TEST

static Suite *
jwt_suite(void)
{
    Suite *s = suite_create("jwt");
    TCase *tc = tcase_create("auth");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, valid_hs256_is_accepted_with_claims_mapped);
    tcase_add_test(tc, token_without_optional_claims_defaults_to_standard_tier);
    tcase_add_test(tc, kid_selects_the_second_key);
    tcase_add_test(tc, keys_one_a_line_are_separate_keys);
    tcase_add_test(tc, no_kid_uses_the_first_key_only);
    tcase_add_test(tc, unknown_kid_is_rejected);
    tcase_add_test(tc, bad_signature_is_rejected);
    tcase_add_test(tc, admin_implies_agent);
    tcase_add_test(tc, role_and_tier_names_round_trip);
    tcase_add_test(tc, expired_token_is_rejected_beyond_leeway);
    tcase_add_test(tc, missing_or_non_numeric_exp_is_rejected);
    tcase_add_test(tc, far_future_exp_is_accepted_as_never);
    tcase_add_test(tc, nbf_in_future_is_rejected_but_within_leeway_accepted);
    tcase_add_test(tc, iat_in_future_beyond_leeway_is_rejected);
    tcase_add_test(tc, alg_none_is_rejected_in_any_case);
    tcase_add_test(tc, other_algorithms_are_rejected);
    tcase_add_test(tc, hs256_signed_with_public_key_is_rejected);
    tcase_add_test(tc, rs_or_es_header_never_meets_a_secret);
    tcase_add_test(tc, rs256_and_es256_tokens_are_accepted);
    tcase_add_test(tc, tampered_rs256_claims_are_rejected);
    tcase_add_test(tc, wrong_issuer_or_audience_is_rejected_when_configured);
    tcase_add_test(tc, missing_or_unknown_role_is_rejected);
    tcase_add_test(tc, integer_sub_is_accepted_as_text);
    tcase_add_test(tc, bad_sub_is_rejected);
    tcase_add_test(tc, malformed_tokens_are_rejected);
    tcase_add_test(tc, a_claim_or_header_named_twice_is_rejected);
    tcase_add_test(tc, bad_configuration_names_the_setting_not_the_secret);
    tcase_add_test(tc, public_keys_file_accepts_crlf_comments_and_unnamed_keys);
    tcase_add_test(tc, mint_default_uses_the_first_key_and_its_kid);
    tcase_add_test(tc, what_libjwt_cannot_read_is_named_not_a_bad_signature);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(jwt_suite());
}
