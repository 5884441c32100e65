/*
 * test_auth: bearer JWTs per API.md §2 - what is refused (401 with
 * WWW-Authenticate: Bearer), what is accepted (key rotation, default key)
 * and the role check (403). Forged tokens are built by hand so the server,
 * not a well-behaved minter, decides; a control test proves that the same
 * forging path yields an accepted token when nothing is wrong with it.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROBE "/support/tickets"   /* any customer endpoint */

/* Claims of a valid customer token for sub, at now, with extra members
 * (a JSON fragment starting with ',' or ""). */
static const char *
claims(const char *sub, const char *extra)
{
    long now = (long)time(NULL);
    return sp_t_fmt("{\"sub\":\"%s\",\"role\":\"customer\",\"iat\":%ld,\"exp\":%ld%s}", sub, now,
                    now + 900, extra);
}

static const char *
hs256_header(void)
{
    return sp_t_fmt("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", sp_t_jwt_default_kid());
}

static void
assert_401(const char *token)
{
    struct sp_t_resp *r = sp_t_get(PROBE, token);
    sp_t_assert_problem(r, 401, "unauthorized");
    sp_t_resp_free(r);
}

static void
assert_accepted(const char *token)
{
    struct sp_t_resp *r = sp_t_get(PROBE, token);
    sp_t_assert_json(r, 200);
    (void)sp_t_jarr(r->json, "data");
    sp_t_resp_free(r);
}

START_TEST(no_token_is_401_with_www_authenticate_bearer)
{
    assert_401(NULL);
}
END_TEST

START_TEST(basic_authorization_is_401)
{
    static const char *const hdr[] = {"Authorization: Basic dXNlcjpwYXNz", NULL};
    struct sp_t_resp *r = sp_t_request("GET", PROBE, NULL, NULL, NULL, hdr);
    sp_t_assert_problem(r, 401, "unauthorized");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(malformed_bearer_token_is_401)
{
    assert_401("not-a-jwt");
    assert_401("a.b.c");
}
END_TEST

START_TEST(forged_token_with_right_key_is_accepted)
{
    /* Control: the forging path itself produces valid tokens. */
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    assert_accepted(sp_t_jwt_forge(hs256_header(), claims(u.sub, ""),
                                   sp_t_jwt_secret(sp_t_jwt_default_kid())));
}
END_TEST

START_TEST(expired_token_is_401)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *kid = sp_t_jwt_default_kid();
    /* exp = now - 1 h: far outside the 60 s leeway. */
    assert_401(sp_t_token_raw(kid, sp_t_jwt_secret(kid), u.sub, SP_ROLE_CUSTOMER,
                              time(NULL) - 3660, 60));
}
END_TEST

START_TEST(token_without_exp_is_401)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *payload = sp_t_fmt("{\"sub\":\"%s\",\"role\":\"customer\",\"iat\":%ld}", u.sub,
                                   (long)time(NULL));
    assert_401(sp_t_jwt_forge(hs256_header(), payload, sp_t_jwt_secret(sp_t_jwt_default_kid())));
}
END_TEST

START_TEST(token_not_yet_valid_is_401)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *nbf = sp_t_fmt(",\"nbf\":%ld", (long)time(NULL) + 3600);
    assert_401(sp_t_jwt_forge(hs256_header(), claims(u.sub, nbf),
                              sp_t_jwt_secret(sp_t_jwt_default_kid())));
}
END_TEST

START_TEST(token_signed_with_wrong_secret_is_401)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    assert_401(sp_t_token_raw(sp_t_jwt_default_kid(), "this-is-not-the-secret-of-any-kid-0123",
                              u.sub, SP_ROLE_CUSTOMER, time(NULL), 900));
}
END_TEST

START_TEST(tampered_claims_are_401)
{
    /* A valid customer token whose payload is swapped for another sub. */
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER), v = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *good = sp_t_jwt_forge(hs256_header(), claims(u.sub, ""),
                                      sp_t_jwt_secret(sp_t_jwt_default_kid()));
    const char *other = sp_t_jwt_forge(hs256_header(), claims(v.sub, ""), NULL);
    const char *sig = strrchr(good, '.');
    size_t keep = (size_t)(strrchr(other, '.') - other);
    assert_401(sp_t_fmt("%.*s%s", (int)keep, other, sig));
}
END_TEST

START_TEST(alg_none_token_is_401)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    assert_401(sp_t_jwt_forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", claims(u.sub, ""), NULL));
    assert_401(sp_t_jwt_forge(sp_t_fmt("{\"alg\":\"none\",\"kid\":\"%s\"}",
                                       sp_t_jwt_default_kid()),
                              claims(u.sub, ""), NULL));
    /* "None" with a valid-looking HMAC attached must not slip through either. */
    assert_401(sp_t_jwt_forge("{\"alg\":\"None\",\"typ\":\"JWT\"}", claims(u.sub, ""),
                              sp_t_jwt_secret(sp_t_jwt_default_kid())));
}
END_TEST

START_TEST(hmac_under_rs256_header_is_401)
{
    /* Algorithm confusion: an HMAC signature presented as RS256. */
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *hdr = sp_t_fmt("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
                               sp_t_jwt_default_kid());
    assert_401(sp_t_jwt_forge(hdr, claims(u.sub, ""), sp_t_jwt_secret(sp_t_jwt_default_kid())));
}
END_TEST

START_TEST(unknown_kid_is_401)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    assert_401(sp_t_token_raw("no-such-kid", sp_t_jwt_secret(sp_t_jwt_default_kid()), u.sub,
                              SP_ROLE_CUSTOMER, time(NULL), 900));
}
END_TEST

START_TEST(token_signed_with_second_key_is_accepted)
{
    const char *secret = sp_t_jwt_secret("old");
    ck_assert_msg(secret != NULL, "SP_TEST_JWT_KEYS must hold a second key with kid \"old\"");
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    assert_accepted(sp_t_token_raw("old", secret, u.sub, SP_ROLE_CUSTOMER, time(NULL), 900));
}
END_TEST

START_TEST(second_key_secret_under_first_kid_is_401)
{
    /* The kid picks the key: a secret is not valid under another kid. */
    const char *secret = sp_t_jwt_secret("old");
    ck_assert_msg(secret != NULL, "SP_TEST_JWT_KEYS must hold a second key with kid \"old\"");
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    assert_401(sp_t_token_raw(sp_t_jwt_default_kid(), secret, u.sub, SP_ROLE_CUSTOMER,
                              time(NULL), 900));
}
END_TEST

START_TEST(token_without_kid_uses_first_key)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    assert_accepted(sp_t_token_raw(NULL, sp_t_jwt_secret(sp_t_jwt_default_kid()), u.sub,
                                   SP_ROLE_CUSTOMER, time(NULL), 900));
}
END_TEST

START_TEST(agent_token_creating_ticket_is_403)
{
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r = sp_t_post_json("/support/tickets", agent.token,
                                         "{\"subject\":\"hello\",\"description\":\"world\"}");
    sp_t_assert_problem(r, 403, "forbidden");
    sp_t_resp_free(r);
}
END_TEST

static Suite *
auth_suite(void)
{
    Suite *s = suite_create("auth");
    TCase *tc = sp_t_tcase(s, "refused");
    tcase_add_test(tc, no_token_is_401_with_www_authenticate_bearer);
    tcase_add_test(tc, basic_authorization_is_401);
    tcase_add_test(tc, malformed_bearer_token_is_401);
    tcase_add_test(tc, expired_token_is_401);
    tcase_add_test(tc, token_without_exp_is_401);
    tcase_add_test(tc, token_not_yet_valid_is_401);
    tcase_add_test(tc, token_signed_with_wrong_secret_is_401);
    tcase_add_test(tc, tampered_claims_are_401);
    tcase_add_test(tc, alg_none_token_is_401);
    tcase_add_test(tc, hmac_under_rs256_header_is_401);
    tcase_add_test(tc, unknown_kid_is_401);
    tcase_add_test(tc, second_key_secret_under_first_kid_is_401);
    tc = sp_t_tcase(s, "accepted");
    tcase_add_test(tc, forged_token_with_right_key_is_accepted);
    tcase_add_test(tc, token_signed_with_second_key_is_accepted);
    tcase_add_test(tc, token_without_kid_uses_first_key);
    tc = sp_t_tcase(s, "roles");
    tcase_add_test(tc, agent_token_creating_ticket_is_403);
    return s;
}

int
main(void)
{
    return sp_t_run(auth_suite());
}
