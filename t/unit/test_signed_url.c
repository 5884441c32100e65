/*
 * test_signed_url: signed attachment URLs and download filenames
 * (src/http/signed_url.c).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/keyring.h"
#include "http/signed_url.h"
#include "unit.h"

#define SECRET_A "0123456789abcdef0123456789abcdef"
#define SECRET_B "fedcba9876543210fedcba9876543210"

static struct sp_arena arena;
static struct sp_keyring_keys *keys;

static void
setup(void)
{
    sp_arena_init(&arena, 4096);
    char err[256];
    keys = sp_url_keys_load("new:" SECRET_B ",old:" SECRET_A, err, sizeof(err));
    ck_assert_msg(keys != NULL, "%s", err);
}

static void
teardown(void)
{
    sp_keyring_keys_destroy(keys);
    sp_arena_destroy(&arena);
}

/* The query of a URL made by sp_signed_url, parsed. */
static struct sp_signed
signed_query(const char *method, const char *id, long long size, long long expires)
{
    const char *url = sp_signed_url(&arena, keys, method, "/x", id, size, expires);
    struct sp_signed s;
    ck_assert(strncmp(url, "/x?kid=new&", 11) == 0);
    ck_assert(sp_signed_parse(strchr(url, '?') + 1, &s));
    return s;
}

START_TEST(a_signed_url_verifies_until_it_expires)
{
    struct sp_signed s = signed_query("PUT", "A1B2C3D4E5F6", 42, 1000);
    ck_assert_int_eq(s.size, 42);
    ck_assert_int_eq(sp_signed_verify(keys, "PUT", "A1B2C3D4E5F6", &s, 1000), SP_SIGNED_OK);
    ck_assert_int_eq(sp_signed_verify(keys, "PUT", "A1B2C3D4E5F6", &s, 1001), SP_SIGNED_EXPIRED);
}
END_TEST

START_TEST(method_id_size_and_expiry_are_bound)
{
    struct sp_signed s = signed_query("PUT", "A1B2C3D4E5F6", 42, 1000);
    ck_assert_int_eq(sp_signed_verify(keys, "GET", "A1B2C3D4E5F6", &s, 0), SP_SIGNED_BAD);
    ck_assert_int_eq(sp_signed_verify(keys, "PUT", "A1B2C3D4E5F7", &s, 0), SP_SIGNED_BAD);
    struct sp_signed t = s;
    t.size = 43;
    ck_assert_int_eq(sp_signed_verify(keys, "PUT", "A1B2C3D4E5F6", &t, 0), SP_SIGNED_BAD);
    t = s;
    t.expires = 999999;
    ck_assert_int_eq(sp_signed_verify(keys, "PUT", "A1B2C3D4E5F6", &t, 0), SP_SIGNED_BAD);
    t = s;
    t.sig[0] = t.sig[0] == 'a' ? 'b' : 'a';
    ck_assert_int_eq(sp_signed_verify(keys, "PUT", "A1B2C3D4E5F6", &t, 0), SP_SIGNED_BAD);
    t = s;
    strcpy(t.kid, "nope");
    ck_assert_int_eq(sp_signed_verify(keys, "PUT", "A1B2C3D4E5F6", &t, 0), SP_SIGNED_BAD);
}
END_TEST

/* A public id is signed over its canonical form (API.md §10): the id in
 * any case verifies, and signs the same URL; another id, or a string that
 * is no public id, does not. */
START_TEST(a_public_id_verifies_in_any_case)
{
    struct sp_signed s = signed_query("GET", "A1B2C3D4E5F6", 42, 1000);
    ck_assert_int_eq(sp_signed_verify(keys, "GET", "a1b2c3d4e5f6", &s, 0), SP_SIGNED_OK);
    ck_assert_int_eq(sp_signed_verify(keys, "GET", "A1b2C3d4E5f6", &s, 0), SP_SIGNED_OK);
    ck_assert_int_eq(sp_signed_verify(keys, "GET", "a1b2c3d4e5f7", &s, 0), SP_SIGNED_BAD);
    ck_assert_int_eq(sp_signed_verify(keys, "GET", "A1B2C3D4E5F6 ", &s, 0), SP_SIGNED_BAD);
    struct sp_signed lower = signed_query("GET", "a1b2c3d4e5f6", 42, 1000);
    ck_assert_str_eq(lower.sig, s.sig);
    /* not a public id (a U, a leading digit): signed and checked as written */
    struct sp_signed u = signed_query("GET", "AUB2C3D4E5F6", 42, 1000);
    ck_assert_int_eq(sp_signed_verify(keys, "GET", "AUB2C3D4E5F6", &u, 0), SP_SIGNED_OK);
    ck_assert_int_eq(sp_signed_verify(keys, "GET", "aub2c3d4e5f6", &u, 0), SP_SIGNED_BAD);
}
END_TEST

START_TEST(an_older_key_still_verifies_after_rotation)
{
    char err[256];
    struct sp_keyring_keys *before = sp_url_keys_load("old:" SECRET_A, err, sizeof(err));
    ck_assert(before != NULL);
    const char *url = sp_signed_url(&arena, before, "GET", "/x", "A1B2C3D4E5F6", 7, 50);
    struct sp_signed s;
    ck_assert(sp_signed_parse(strchr(url, '?') + 1, &s));
    ck_assert_str_eq(s.kid, "old");
    ck_assert_int_eq(sp_signed_verify(keys, "GET", "A1B2C3D4E5F6", &s, 10), SP_SIGNED_OK);
    sp_keyring_keys_destroy(before);
}
END_TEST

START_TEST(malformed_queries_are_refused)
{
    static const char *const bad[] = {
        "", "kid=a", "kid=a&expires=1&size=1",
        "kid=a&expires=1&size=1&sig=00",
        "kid=a&expires=01&size=1&sig=" SECRET_A SECRET_A,
        "kid=a&expires=1&size=-1&sig=" SECRET_A SECRET_A,
        "kid=a&kid=b&expires=1&size=1&sig=" SECRET_A SECRET_A,
        "kid=a&expires=1&size=1&sig=" SECRET_A SECRET_A "&x=1",
        "kid=a%20&expires=1&size=1&sig=" SECRET_A SECRET_A,
        "kid=a&expires=1&size=1&sig=" SECRET_A SECRET_A "&",
        "kid=a&expires=1&size=1&sig=0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
    };
    struct sp_signed s;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!sp_signed_parse(bad[i], &s), "accepted %s", bad[i]);
    ck_assert(sp_signed_parse("sig=" SECRET_A SECRET_A "&size=1&expires=2&kid=k", &s));
}
END_TEST

START_TEST(keyrings_refuse_short_secrets_and_repeated_kids)
{
    char err[256];
    ck_assert(sp_url_keys_load("a:short", err, sizeof(err)) == NULL);
    ck_assert(strstr(err, "short") == NULL || strstr(err, "shorter") != NULL);
    ck_assert(sp_url_keys_load("a:" SECRET_A ",a:" SECRET_B, err, sizeof(err)) == NULL);
    ck_assert(sp_url_keys_load(SECRET_A, err, sizeof(err)) == NULL);
    ck_assert(strstr(err, SECRET_A) == NULL);
    ck_assert(sp_url_keys_load("", err, sizeof(err)) == NULL);
    ck_assert_str_eq(err, "SUPPORT_ATTACHMENT_KEYS is not set");
    /* the exact texts; a repeated kid is named before a short secret, and
     * entries are not trimmed */
    ck_assert(sp_url_keys_load("a:short", err, sizeof(err)) == NULL);
    ck_assert_str_eq(err, "SUPPORT_ATTACHMENT_KEYS: the secret of kid \"a\" is shorter than 32 bytes");
    ck_assert(sp_url_keys_load("a:" SECRET_A ",a:short", err, sizeof(err)) == NULL);
    ck_assert_str_eq(err, "SUPPORT_ATTACHMENT_KEYS: kid \"a\" is used twice");
    ck_assert(sp_url_keys_load("a:" SECRET_A ", b:" SECRET_B, err, sizeof(err)) == NULL);
    ck_assert_str_eq(err, "SUPPORT_ATTACHMENT_KEYS: entry 2 is not kid:secret "
                          "(kid of 1-64 of A-Z a-z 0-9 - _ .)");
    struct sp_keyring_keys *k = sp_url_keys_load("a:" SECRET_A ",b:" SECRET_B, err, sizeof(err));
    ck_assert_ptr_nonnull(k);
    sp_keyring_keys_destroy(k);
}
END_TEST

START_TEST(content_disposition_encodes_any_name)
{
    ck_assert_str_eq(sp_content_disposition(&arena, "receipt.pdf"),
                     "attachment; filename=\"receipt.pdf\"; filename*=UTF-8''receipt.pdf");
    ck_assert_str_eq(sp_content_disposition(&arena, "Überweisung \"1\".png"),
                     "attachment; filename=\"_berweisung _1_.png\"; "
                     "filename*=UTF-8''%C3%9Cberweisung%20%221%22.png");
    ck_assert_str_eq(sp_content_disposition(&arena, "a;b\\c\r\n"),
                     "attachment; filename=\"a;b_c__\"; filename*=UTF-8''a%3Bb%5Cc%0D%0A");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("signed_url");
    TCase *tc = tcase_create("signed_url");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, a_signed_url_verifies_until_it_expires);
    tcase_add_test(tc, method_id_size_and_expiry_are_bound);
    tcase_add_test(tc, a_public_id_verifies_in_any_case);
    tcase_add_test(tc, an_older_key_still_verifies_after_rotation);
    tcase_add_test(tc, malformed_queries_are_refused);
    tcase_add_test(tc, keyrings_refuse_short_secrets_and_repeated_kids);
    tcase_add_test(tc, content_disposition_encodes_any_name);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
