/*
 * test_admin_login_token: the admin login form's CSRF tokens of
 * domain/admin_sessions.h — "<expiry>.<nonce>.<MAC>" signed under a key
 * of the server's, good until the expiry and refused once any part is
 * changed, made up or written another way. Pure: a fixed key, no
 * database.
 */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/hex.h"
#include "domain/admin_sessions.h"
#include "unit.h"

SP_UNIT_ARENA_FIXTURE(4096)

#define NOW 1800000000LL

static const unsigned char KEY[SP_ADMIN_LOGIN_KEY_LEN] = "0123456789abcdef0123456789abcdef";

/* "<body>.<MAC of body>" with the MAC computed here, for bodies the
 * server would never write. */
static const char *
signed_by_hand(const unsigned char *key, const char *body)
{
    char msg[256];
    int n = snprintf(msg, sizeof(msg), "support-admin-login-v1\n%s", body);
    ck_assert(n > 0 && (size_t)n < sizeof(msg));
    unsigned char mac[32];
    unsigned int len = 0;
    ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key, SP_ADMIN_LOGIN_KEY_LEN,
                               (const unsigned char *)msg, (size_t)n, mac, &len));
    char hex[65];
    sp_hex_encode(hex, mac, 32);
    return sp_arena_sprintf(&arena, "%s.%s", body, hex);
}

START_TEST(a_token_is_expiry_nonce_and_the_mac_of_both)
{
    const char *t = sp_admin_login_token(&arena, KEY, NOW);
    ck_assert_uint_eq(strlen(t), 10 + 1 + 32 + 1 + 64);
    ck_assert_int_eq(strncmp(t, "1800003600.", 11), 0);
    ck_assert_uint_eq(strspn(t + 11, sp_hex_lower), 32);
    ck_assert_int_eq(t[43], '.');
    char body[64];
    snprintf(body, sizeof(body), "%.43s", t);
    ck_assert_str_eq(signed_by_hand(KEY, body), t);
    /* a fresh nonce each time */
    ck_assert_str_ne(sp_admin_login_token(&arena, KEY, NOW), t);
}
END_TEST

START_TEST(a_token_is_good_until_its_expiry_under_its_key_only)
{
    const char *t = sp_admin_login_token(&arena, KEY, NOW);
    ck_assert(sp_admin_login_token_ok(KEY, t, NOW));
    ck_assert(sp_admin_login_token_ok(KEY, t, NOW + SP_ADMIN_LOGIN_TTL - 1));
    ck_assert(!sp_admin_login_token_ok(KEY, t, NOW + SP_ADMIN_LOGIN_TTL));
    ck_assert(!sp_admin_login_token_ok(KEY, t, NOW + 10 * SP_ADMIN_LOGIN_TTL));
    unsigned char other[SP_ADMIN_LOGIN_KEY_LEN];
    memcpy(other, KEY, sizeof(other));
    other[31] ^= 1;
    ck_assert(!sp_admin_login_token_ok(other, t, NOW));
}
END_TEST

/* Each character changed to another of its kind (a digit for a digit, a
 * hex digit for a hex digit): refused, wherever it is. */
START_TEST(changing_any_character_is_refused)
{
    const char *t = sp_admin_login_token(&arena, KEY, NOW);
    size_t n = strlen(t);
    for (size_t i = 0; i < n; i++) {
        if (t[i] == '.')
            continue;
        char *c = sp_arena_strdup(&arena, t);
        c[i] = c[i] == '1' ? '2' : '1';
        ck_assert_msg(!sp_admin_login_token_ok(KEY, c, NOW), "changed at %zu: %s", i, c);
    }
}
END_TEST

/* Made-up values, and signed ones not written as the server writes them
 * (the MAC alone would take them). */
START_TEST(anything_but_the_exact_form_is_refused)
{
    const char *nonce = "00112233445566778899aabbccddeeff";
    const char *made_up[] = {
        NULL, "", ".", "..", "forged",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        sp_arena_sprintf(&arena, "1800003600.%s.%s", nonce,
                         "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"),
        signed_by_hand(KEY, sp_arena_sprintf(&arena, "01800003600.%s", nonce)),
        signed_by_hand(KEY, sp_arena_sprintf(&arena, "+1800003600.%s", nonce)),
        signed_by_hand(KEY, sp_arena_sprintf(&arena, " 1800003600.%s", nonce)),
        signed_by_hand(KEY, sp_arena_sprintf(&arena, "1800003600.%.30s", nonce)),
        signed_by_hand(KEY, sp_arena_sprintf(&arena, "1800003600.%sff", nonce)),
        signed_by_hand(KEY, "1800003600.00112233445566778899AABBCCDDEEFF"),
        signed_by_hand(KEY, sp_arena_sprintf(&arena, "18446744073709551617.%s", nonce)),
        signed_by_hand(KEY, sp_arena_sprintf(&arena, "99999999999999999999.%s", nonce)),
        signed_by_hand(KEY, sp_arena_sprintf(&arena, ".%s", nonce)),
    };
    for (size_t i = 0; i < sizeof(made_up) / sizeof(made_up[0]); i++)
        ck_assert_msg(!sp_admin_login_token_ok(KEY, made_up[i], NOW), "taken: %s",
                      made_up[i] ? made_up[i] : "(null)");
    /* the control: the same hand, the server's own form */
    const char *good = signed_by_hand(KEY, sp_arena_sprintf(&arena, "1800003600.%s", nonce));
    ck_assert(sp_admin_login_token_ok(KEY, good, NOW));
    ck_assert(sp_admin_login_token_ok(KEY, signed_by_hand(
                  KEY, sp_arena_sprintf(&arena, "9223372036854775807.%s", nonce)), NOW));
    /* trailing bytes after a good token, upper-case MAC */
    ck_assert(!sp_admin_login_token_ok(KEY, sp_arena_sprintf(&arena, "%s ", good), NOW));
    char *upper = sp_arena_strdup(&arena, good);
    for (char *p = upper + 44; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    ck_assert_str_ne(upper, good);
    ck_assert(!sp_admin_login_token_ok(KEY, upper, NOW));
}
END_TEST

static Suite *
admin_login_token_suite(void)
{
    Suite *s = suite_create("admin_login_token");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, a_token_is_expiry_nonce_and_the_mac_of_both);
    tcase_add_test(tc, a_token_is_good_until_its_expiry_under_its_key_only);
    tcase_add_test(tc, changing_any_character_is_refused);
    tcase_add_test(tc, anything_but_the_exact_form_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(admin_login_token_suite());
}
