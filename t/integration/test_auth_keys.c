/*
 * test_auth_keys: bearer JWTs of an identity provider that signs with
 * private keys (API.md §2), end to end. support-api runs behind nginx with
 * SUPPORT_JWT_PUBLIC_KEYS_FILE (an RSA 2048 key "rsa-1" and an EC P-256 key
 * "ec-1"), SUPPORT_JWT_ISSUER and SUPPORT_JWT_AUDIENCE; RS256 and ES256
 * tokens of the right kid, iss and aud are accepted, and a wrong kid, iss,
 * aud, exp or alg (none, HS256 keyed with the RSA public key, ES256 under
 * an RSA kid) is 401 problem+json with WWW-Authenticate: Bearer. A key
 * file rotated under SIGHUP (rsa-2 in, rsa-1 out) is picked up by every
 * worker, and a token of the dropped key, remembered by every worker's
 * verified-token memo, is refused from then on; a file with a key too weak
 * to trust is refused by the reload, which keeps the running keys.
 *
 * The keys and the tokens come from the openssl command line, not from the
 * server's code: the IdP is an independent minter. The parent process
 * makes the keys and restarts the API with them before the tests, and
 * restarts it with the runner's settings after them (unchecked fixtures:
 * they run whatever the tests did, so later programs meet the usual API;
 * a checked teardown would be skipped by a failed assertion). The tests
 * share those keys and run in order: the last two rewrite the key file.
 */
#include "harness.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#define ISSUER   "https://idp.test"
#define AUDIENCE "support"
#define PROBE    "/support/tickets"   /* a customer endpoint */
#define AGENT_ME "/support/agent/me"  /* an agent endpoint */

/* Set by the parent's fixture before the tests fork, so they see it too. */
static char key_dir[512];

/* ---- the identity provider: keys and files ---------------------------- */

/* A path in key_dir. No arena: the parent's fixtures use it too. */
static const char *
key_path(char *buf, size_t size, const char *name, const char *ext)
{
    ck_assert_msg((size_t)snprintf(buf, size, "%s/%s%s", key_dir, name, ext) < size,
                  "path too long");
    return buf;
}

/* Runs a shell command made of fixed parts and our own paths (no
 * arena: the parent's fixtures use it too). */
static bool __attribute__((format(printf, 1, 2)))
shell(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < sizeof(cmd) && system(cmd) == 0;
}

/* NAME.key (private, for the IdP) and NAME.pub (SubjectPublicKeyInfo PEM,
 * for the server); keygen: the genpkey options of the key type. */
static void
make_key(const char *name, const char *keygen)
{
    char key[640], pub[640];
    key_path(key, sizeof(key), name, ".key");
    key_path(pub, sizeof(pub), name, ".pub");
    ck_assert_msg(shell("openssl genpkey %s -out %s 2>/dev/null", keygen, key),
                  "openssl genpkey %s failed", keygen);
    ck_assert_msg(shell("openssl pkey -in %s -pubout -out %s 2>/dev/null", key, pub),
                  "openssl pkey -pubout failed for %s", name);
}

/* Writes the public keys of names[] (NULL-terminated), each after its
 * "kid: NAME" line, as the server's key file; atomically, as docs/
 * operations.md asks, so a reload never reads half a file. */
static void
write_key_file(const char *const names[])
{
    char path[640], tmp[640], pub[640], line[256];
    key_path(path, sizeof(path), "public_keys", "");
    key_path(tmp, sizeof(tmp), "public_keys", ".new");
    FILE *out = fopen(tmp, "w");
    ck_assert_msg(out != NULL, "cannot write %s: %s", tmp, strerror(errno));
    fputs("# the test IdP's signing keys\n\n", out);
    for (size_t i = 0; names[i] != NULL; i++) {
        FILE *in = fopen(key_path(pub, sizeof(pub), names[i], ".pub"), "r");
        ck_assert_msg(in != NULL, "no public key %s", pub);
        fprintf(out, "kid: %s\n", names[i]);
        while (fgets(line, sizeof(line), in) != NULL)
            fputs(line, out);
        fclose(in);
        fputs("\n", out);
    }
    ck_assert_int_eq(fclose(out), 0);
    ck_assert_msg(rename(tmp, path) == 0, "rename %s: %s", tmp, strerror(errno));
}

/* The bytes of the file at path (arena, NUL-terminated) and their count. */
static const char *
slurp(const char *path, size_t *len)
{
    char buf[8192];
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot read %s", path);
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    ck_assert_msg(n > 0 && n < sizeof(buf), "%s is empty or too long", path);
    char *out = (char *)sp_t_repeat(" ", n);
    memcpy(out, buf, n);
    *len = n;
    return out;
}

/* ---- minting: openssl dgst -sha256 -sign ------------------------------ */

/* openssl writes ECDSA signatures as DER; JOSE wants R || S, 32 bytes
 * each for P-256 (RFC 7518 §3.4). */
static size_t
ecdsa_der_to_jose(const unsigned char *der, size_t n, unsigned char out[64])
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)n);
    ck_assert_msg(sig != NULL && p == der + n, "openssl gave no DER ECDSA signature");
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(sig, &r, &s);
    bool ok = BN_bn2binpad(r, out, 32) == 32 && BN_bn2binpad(s, out + 32, 32) == 32;
    ECDSA_SIG_free(sig);
    ck_assert_msg(ok, "ECDSA R or S longer than 32 bytes");
    return 64;
}

/* Unpadded base64url of n bytes (arena). */
static const char *
b64url(const unsigned char *p, size_t n)
{
    char *out = (char *)sp_t_repeat(" ", 4 * ((n + 2) / 3) + 1);
    int len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (char *c = out; *c != '\0'; c++)
        *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    return out;
}

/* A compact JWT with this exact header and payload, signed by the IdP's
 * key `signer` (rsa-*: RSASSA-PKCS1-v1_5, ec-*: ECDSA P-256) whatever the
 * header claims, so a test can lie in the header with a real signature.
 * ec_der: an ECDSA signature left in openssl's DER, as no JWS may be. */
static const char *
sign_jwt(const char *header, const char *payload, const char *signer, bool ec_der)
{
    const char *unsigned_jwt = sp_t_jwt_forge(header, payload, NULL);  /* "h.p." */
    size_t input_len = strlen(unsigned_jwt) - 1;
    const char *stem = sp_t_unique("tok");
    char in[640], sig[640], key[640];
    key_path(in, sizeof(in), stem, ".in");
    key_path(sig, sizeof(sig), stem, ".sig");
    key_path(key, sizeof(key), signer, ".key");
    FILE *f = fopen(in, "wb");
    ck_assert_msg(f != NULL && fwrite(unsigned_jwt, 1, input_len, f) == input_len
                      && fclose(f) == 0, "cannot write %s", in);
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 -sign %s -out %s %s", key, sig, in);
    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);

    size_t n;
    const unsigned char *der = (const unsigned char *)slurp(sig, &n);
    unlink(in);
    unlink(sig);
    bool is_ec = strncmp(signer, "ec-", 3) == 0, jose = is_ec && !ec_der;
    ck_assert_msg(is_ec || n == 256, "an RS256 signature of %zu bytes, want 256", n);
    unsigned char raw[64];
    if (jose)
        n = ecdsa_der_to_jose(der, n, raw);
    return sp_t_fmt("%s%s", unsigned_jwt, b64url(jose ? raw : der, n));
}

static const char *
mint_with(const char *header, const char *payload, const char *signer)
{
    return sign_jwt(header, payload, signer, false);
}

static const char *
header(const char *alg, const char *kid)
{
    return kid != NULL ? sp_t_fmt("{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", alg, kid)
                       : sp_t_fmt("{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
}

/* Claims of the IdP: sub, role, then iss and aud as JSON values (NULL
 * leaves the claim out), exp = now + ttl and iat now (an hour before exp
 * when ttl is not positive: a token that was valid once). */
static const char *
claims_with(const char *sub, const char *role, const char *iss_json, const char *aud_json,
            long ttl)
{
    long now = (long)time(NULL);
    return sp_t_fmt("{\"sub\":\"%s\",\"role\":\"%s\"%s%s%s%s,\"iat\":%ld,\"exp\":%ld}", sub, role,
                    iss_json ? ",\"iss\":" : "", iss_json ? iss_json : "",
                    aud_json ? ",\"aud\":" : "", aud_json ? aud_json : "",
                    ttl > 0 ? now : now + ttl - 3600, now + ttl);
}

static const char *
claims(const struct sp_t_user *u)
{
    return claims_with(u->sub, sp_role_name(u->role), "\"" ISSUER "\"", "\"" AUDIENCE "\"", 900);
}

/* A good token of u: the alg of signer's key type, its kid. */
static const char *
mint(const struct sp_t_user *u, const char *signer)
{
    const char *alg = strncmp(signer, "ec-", 3) == 0 ? "ES256" : "RS256";
    return mint_with(header(alg, signer), claims(u), signer);
}

/* ---- assertions ----------------------------------------------------------- */

static void
assert_401(const char *token, const char *why)
{
    struct sp_t_resp *r = sp_t_get(PROBE, token);
    ck_assert_msg(r->status == 401, "%s: HTTP %ld, want 401; body: %.300s", why, r->status,
                  r->body);
    sp_t_assert_problem(r, 401, "unauthorized");
    sp_t_resp_free(r);
}

static void
assert_customer_ok(const char *token)
{
    struct sp_t_resp *r = sp_t_get(PROBE, token);
    sp_t_assert_json(r, 200);
    (void)sp_t_jarr(r->json, "data");
    sp_t_resp_free(r);
}

/* GET /support/agent/me as the agent of sub: the row is the token's. */
static void
assert_agent_ok(const char *token, const char *sub)
{
    struct sp_t_resp *r = sp_t_get(AGENT_ME, token);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "user_id"), sub);
    sp_t_resp_free(r);
}

/* ---- accepted ------------------------------------------------------------- */

START_TEST(rs256_token_of_the_key_file_is_accepted)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER), a = sp_t_user_new(SP_ROLE_AGENT);
    assert_customer_ok(mint(&c, "rsa-1"));
    assert_agent_ok(mint(&a, "rsa-1"), a.sub);
}
END_TEST

START_TEST(es256_token_of_the_key_file_is_accepted)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER), a = sp_t_user_new(SP_ROLE_AGENT);
    assert_customer_ok(mint(&c, "ec-1"));
    assert_agent_ok(mint(&a, "ec-1"), a.sub);
}
END_TEST

START_TEST(token_without_kid_is_tried_against_keys_of_its_type)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    assert_customer_ok(mint_with(header("RS256", NULL), claims(&c), "rsa-1"));
    assert_customer_ok(mint_with(header("ES256", NULL), claims(&c), "ec-1"));
}
END_TEST

START_TEST(audience_in_an_array_is_accepted)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *p = claims_with(c.sub, "customer", "\"" ISSUER "\"",
                                "[\"billing\",\"" AUDIENCE "\"]", 900);
    assert_customer_ok(mint_with(header("RS256", "rsa-1"), p, "rsa-1"));
}
END_TEST

/* ---- refused -------------------------------------------------------------- */

START_TEST(unknown_kid_is_401)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    assert_401(mint_with(header("RS256", "rsa-9"), claims(&c), "rsa-1"), "unknown kid");
    /* rsa-2 is not in the file yet (the rotation test adds it). */
    assert_401(mint(&c, "rsa-2"), "kid of a key not in the file");
    /* A key the IdP does not own, under a kid it does: a bad signature. */
    assert_401(mint_with(header("RS256", "rsa-1"), claims(&c), "rsa-2"), "signed by another key");
}
END_TEST

START_TEST(wrong_or_missing_issuer_is_401)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *aud = "\"" AUDIENCE "\"";
    assert_401(mint_with(header("RS256", "rsa-1"),
                         claims_with(c.sub, "customer", "\"https://evil.test\"", aud, 900),
                         "rsa-1"), "wrong iss");
    assert_401(mint_with(header("ES256", "ec-1"),
                         claims_with(c.sub, "customer", NULL, aud, 900), "ec-1"), "no iss");
}
END_TEST

START_TEST(wrong_or_missing_audience_is_401)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *iss = "\"" ISSUER "\"";
    assert_401(mint_with(header("RS256", "rsa-1"),
                         claims_with(c.sub, "customer", iss, "\"billing\"", 900), "rsa-1"),
               "wrong aud");
    assert_401(mint_with(header("ES256", "ec-1"),
                         claims_with(c.sub, "customer", iss, "[\"billing\",\"chat\"]", 900),
                         "ec-1"), "aud array without ours");
    assert_401(mint_with(header("RS256", "rsa-1"), claims_with(c.sub, "customer", iss, NULL, 900),
                         "rsa-1"), "no aud");
}
END_TEST

START_TEST(expired_token_is_401)
{
    /* exp an hour ago: far outside the 60 s leeway. */
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *p = claims_with(c.sub, "customer", "\"" ISSUER "\"", "\"" AUDIENCE "\"", -3600);
    assert_401(mint_with(header("RS256", "rsa-1"), p, "rsa-1"), "expired RS256");
    assert_401(mint_with(header("ES256", "ec-1"), p, "ec-1"), "expired ES256");
}
END_TEST

START_TEST(alg_none_is_401)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    assert_401(sp_t_jwt_forge(header("none", "rsa-1"), claims(&c), NULL), "alg none with kid");
    assert_401(sp_t_jwt_forge(header("none", NULL), claims(&c), NULL), "alg none");
    /* A real RS256 signature does not make "none" acceptable either. */
    const char *good = mint(&c, "rsa-1");
    const char *none = sp_t_jwt_forge(header("none", "rsa-1"), claims(&c), NULL);
    assert_401(sp_t_fmt("%s%s", none, strrchr(good, '.') + 1), "alg none with a signature");
}
END_TEST

START_TEST(hs256_keyed_with_the_rsa_public_key_is_401)
{
    /* The classic algorithm confusion: the public key (as published, the
     * PEM text) used as an HMAC secret, under the RSA key's kid and under
     * none; the server must never treat a public key as a shared secret. */
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    char pub[640];
    size_t len;
    const char *pem = slurp(key_path(pub, sizeof(pub), "rsa-1", ".pub"), &len);
    const char *pem_trimmed = sp_t_fmt("%.*s", (int)len - 1, pem);  /* no final newline */
    assert_401(sp_t_jwt_forge(header("HS256", "rsa-1"), claims(&c), pem), "HS256 under rsa-1");
    assert_401(sp_t_jwt_forge(header("HS256", NULL), claims(&c), pem), "HS256 without kid");
    assert_401(sp_t_jwt_forge(header("HS256", "rsa-1"), claims(&c), pem_trimmed),
               "HS256 keyed with the PEM without its final newline");
}
END_TEST

START_TEST(header_alg_other_than_the_kids_key_type_is_401)
{
    /* Real signatures of the other key type, under a kid of this type. */
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    assert_401(mint_with(header("ES256", "rsa-1"), claims(&c), "ec-1"), "ES256 under rsa-1");
    assert_401(mint_with(header("RS256", "ec-1"), claims(&c), "rsa-1"), "RS256 under ec-1");
    /* The algorithms the key file never verifies. */
    assert_401(mint_with(header("RS512", "rsa-1"), claims(&c), "rsa-1"), "RS512");
    assert_401(mint_with(header("PS256", "rsa-1"), claims(&c), "rsa-1"), "PS256");
}
END_TEST

START_TEST(es256_signature_in_der_form_is_401)
{
    /* RFC 7518 §3.4: R || S, 64 bytes. The same signature as ASN.1 DER
     * (what openssl and many HSMs emit) is malformed, not "close enough". */
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    assert_401(sign_jwt(header("ES256", "ec-1"), claims(&c), "ec-1", true), "DER ES256");
    assert_401(sign_jwt(header("ES256", NULL), claims(&c), "ec-1", true), "DER ES256, no kid");
}
END_TEST

/* ---- rotation --------------------------------------------------------------- */

/* Polls (up to 10 s) until token gets want on GET path. */
static bool
eventually(const char *path, const char *token, long want)
{
    for (int attempt = 0; attempt < 100; attempt++) {
        struct sp_t_resp *r = sp_t_get(path, token);
        long got = r->status;
        sp_t_resp_free(r);
        if (got == want)
            return true;
        usleep(100 * 1000);
    }
    return false;
}

/* Until none of the workers of before[] is the master's child any more
 * (retired after a reload), up to 10 s. */
static bool
workers_gone(pid_t master, const pid_t *before, size_t n)
{
    for (int attempt = 0; attempt < 200; attempt++) {
        pid_t now[64];
        size_t m = sp_t_children(master, now, 64);
        bool gone = true;
        for (size_t i = 0; gone && i < m; i++)
            gone = !sp_t_pid_in(now[i], before, n);
        if (gone)
            return true;
        usleep(50 * 1000);
    }
    return false;
}

START_TEST(sighup_picks_up_a_rotated_key_file)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER), a = sp_t_user_new(SP_ROLE_AGENT);
    const char *old = mint(&c, "rsa-1"), *next = mint(&c, "rsa-2"), *ec = mint(&a, "ec-1");
    /* Every worker verifies the old token and remembers it (auth_cache). */
    for (int i = 0; i < 16; i++)
        assert_customer_ok(old);
    assert_401(next, "rsa-2 before the rotation");

    pid_t master = sp_t_master_pid("support-api"), before[64];
    size_t n = sp_t_children(master, before, 64);
    ck_assert_uint_gt(n, 0);
    static const char *const rotated[] = {"rsa-2", "ec-1", NULL};
    write_key_file(rotated);
    sp_t_stackctl("signal-api HUP");

    ck_assert_msg(eventually(PROBE, next, 200), "a token of rsa-2 is refused 10 s after SIGHUP");
    /* The master spawns each new worker before it retires the old one: a
     * request may still meet an old worker until they are all gone. */
    ck_assert_msg(workers_gone(master, before, n), "old workers still run 10 s after SIGHUP");
    for (int i = 0; i < 16; i++) {
        assert_401(old, "rsa-1 after it left the key file");
        assert_customer_ok(next);
    }
    assert_agent_ok(ec, a.sub);  /* the key that stayed still verifies */
}
END_TEST

START_TEST(bad_key_file_on_sighup_keeps_the_running_keys)
{
    /* After the rotation: rsa-2 and ec-1 verify. A file with a key too
     * weak to trust is refused as a whole, and the workers stay. */
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *token = mint(&c, "rsa-2");
    assert_customer_ok(token);
    make_key("rsa-weak", "-algorithm RSA -pkeyopt rsa_keygen_bits:1024");
    pid_t master = sp_t_master_pid("support-api"), before[64], after[64];
    size_t n = sp_t_children(master, before, 64);
    long offset = sp_t_api_log_size();
    static const char *const weak[] = {"rsa-2", "rsa-weak", "ec-1", NULL};
    write_key_file(weak);
    sp_t_stackctl("signal-api HUP");

    ck_assert_msg(*sp_t_api_log_line(offset, "\"event\":\"reload_failed\"") != '\0',
                  "no reload_failed logged 10 s after SIGHUP with a weak key");
    ck_assert_msg(*sp_t_api_log_line(offset, "SUPPORT_JWT_PUBLIC_KEYS_FILE: the key ending at"
                                             " line") != '\0',
                  "the refused reload does not name SUPPORT_JWT_PUBLIC_KEYS_FILE");
    /* No worker was forked (one retiring may have left meanwhile). */
    size_t m = sp_t_children(master, after, 64);
    ck_assert_uint_gt(m, 0);
    for (size_t i = 0; i < m; i++)
        ck_assert_msg(sp_t_pid_in(after[i], before, n), "a refused reload replaced a worker");
    for (int i = 0; i < 8; i++)
        assert_customer_ok(token);
    assert_401(mint(&c, "rsa-1"), "rsa-1 after a refused reload");
}
END_TEST

/* ---- fixtures (in the parent, around the test case) ------------------------ */

static bool
stackctl(const char *args)
{
    const char *ctl = getenv("SP_TEST_STACKCTL");
    return ctl != NULL && shell("%s %s >/dev/null 2>&1", ctl, args);
}

static void
idp_up(void)
{
    const char *base = getenv("SP_TEST_STACK_DIR");
    snprintf(key_dir, sizeof(key_dir), "%s/auth-keys.XXXXXX", base != NULL ? base : "/tmp");
    ck_assert_msg(mkdtemp(key_dir) != NULL, "mkdtemp %s: %s", key_dir, strerror(errno));
    make_key("rsa-1", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048");
    make_key("rsa-2", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048");
    make_key("ec-1", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256");
    static const char *const first[] = {"rsa-1", "ec-1", NULL};
    write_key_file(first);
    /* The HS256 keys of the runner stay: only these settings are added. */
    char args[1024], file[640];
    snprintf(args, sizeof(args),
             "restart-api-with SUPPORT_JWT_PUBLIC_KEYS_FILE=%s SUPPORT_JWT_ISSUER=" ISSUER
             " SUPPORT_JWT_AUDIENCE=" AUDIENCE, key_path(file, sizeof(file), "public_keys", ""));
    if (!stackctl(args)) {
        (void)stackctl("restart-api");
        ck_abort_msg("support-api did not start with the public keys file");
    }
}

/* Whatever the tests did: the runner's settings again, and no key files. */
static void
idp_down(void)
{
    (void)stackctl("restart-api");
    if (key_dir[0] != '\0')
        (void)shell("rm -rf %s", key_dir);
}

static Suite *
auth_keys_suite(void)
{
    Suite *s = suite_create("auth_keys");
    TCase *tc = sp_t_tcase(s, "public_keys");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, idp_up, idp_down);
    tcase_add_test(tc, rs256_token_of_the_key_file_is_accepted);
    tcase_add_test(tc, es256_token_of_the_key_file_is_accepted);
    tcase_add_test(tc, token_without_kid_is_tried_against_keys_of_its_type);
    tcase_add_test(tc, audience_in_an_array_is_accepted);
    tcase_add_test(tc, unknown_kid_is_401);
    tcase_add_test(tc, wrong_or_missing_issuer_is_401);
    tcase_add_test(tc, wrong_or_missing_audience_is_401);
    tcase_add_test(tc, expired_token_is_401);
    tcase_add_test(tc, alg_none_is_401);
    tcase_add_test(tc, hs256_keyed_with_the_rsa_public_key_is_401);
    tcase_add_test(tc, header_alg_other_than_the_kids_key_type_is_401);
    tcase_add_test(tc, es256_signature_in_der_form_is_401);
    /* Last: they change the key file, in this order. */
    tcase_add_test(tc, sighup_picks_up_a_rotated_key_file);
    tcase_add_test(tc, bad_key_file_on_sighup_keeps_the_running_keys);
    return s;
}

int
main(void)
{
    return sp_t_run(auth_keys_suite());
}
