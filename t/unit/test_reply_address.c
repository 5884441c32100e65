/*
 * test_reply_address: signed reply subaddresses (src/domain/reply_address.c):
 * the address's form, its verification under every key of the ring in
 * any letter case, and the refusal of altered, foreign and malformed ones.
 */
#include <check.h>
#include <ctype.h>
#include <string.h>

#include "core/keyring.h"
#include "domain/reply_address.h"
#include "unit.h"

SP_UNIT_ARENA_FIXTURE(4096)

#define K1 "k1:first-reply-secret-0123456789abcdef"
#define K2 "k2:second-reply-secret-0123456789abcdef"
#define ID "ABCDEFGHJKMN"

static struct sp_keyring_keys *
keys(const char *spec)
{
    char err[256];
    struct sp_keyring_keys *k = sp_reply_keys_load(spec, NULL, err, sizeof(err));
    ck_assert_msg(k != NULL, "%s", err);
    return k;
}

static bool
names(const struct sp_keyring_keys *k, const char *addr, const char *want)
{
    char id[SP_PUBLIC_ID_LEN + 1] = "";
    bool ok = sp_reply_address_ticket(k, addr, id);
    if (ok)
        ck_assert_str_eq(id, want);
    return ok;
}

START_TEST(address_is_a_signed_subaddress_of_the_from)
{
    struct sp_keyring_keys *k = keys(K1);
    const char *a = sp_reply_address(k, &arena, "support@example.com", ID);
    ck_assert_int_eq(strlen(a), strlen("support+t-" ID "-") + 20 + strlen("@example.com"));
    ck_assert_int_eq(strncmp(a, "support+t-" ID "-", 23), 0);
    ck_assert_str_eq(a + strlen(a) - 12, "@example.com");
    ck_assert(sp_reply_address_looks_signed(a));
    ck_assert(!sp_reply_address_looks_signed("support@example.com"));
    ck_assert(!sp_reply_address_looks_signed("support@x+t-example.com"));
    ck_assert(names(k, a, ID));
    /* The same ticket, the same address; another ticket, another mac. */
    ck_assert_str_eq(a, sp_reply_address(k, &arena, "support@example.com", ID));
    const char *b = sp_reply_address(k, &arena, "support@example.com", "ZBCDEFGHJKMN");
    ck_assert_str_ne(a + 23, b + 23);
    sp_keyring_keys_destroy(k);
}
END_TEST

START_TEST(any_key_of_the_ring_verifies_in_any_case)
{
    struct sp_keyring_keys *old = keys(K1), *ring = keys(K2 "," K1);
    char *a = sp_arena_strdup(&arena, sp_reply_address(old, &arena, "help@example.com", ID));
    ck_assert(names(ring, a, ID));
    for (char *c = a; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    ck_assert(names(ring, a, ID));
    for (char *c = a; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    ck_assert(names(ring, a, ID));
    /* The first key signs. */
    ck_assert(!names(old, sp_reply_address(ring, &arena, "help@example.com", ID), ID));
    sp_keyring_keys_destroy(old);
    sp_keyring_keys_destroy(ring);
}
END_TEST

START_TEST(altered_and_malformed_addresses_are_refused)
{
    struct sp_keyring_keys *k = keys(K1), *other = keys(K2);
    char *a = sp_arena_strdup(&arena, sp_reply_address(k, &arena, "s@example.com", ID));
    ck_assert(!names(other, a, ID));
    ck_assert(!names(NULL, a, ID));
    char *mac_end = strchr(a, '@') - 1;
    *mac_end = *mac_end == '0' ? '1' : '0';
    ck_assert(!names(k, a, ID));
    static const char *const bad[] = {
        "s+t-ABCDEFGHJKMN-0123456789abcdef012@example.com",     /* mac too short */
        "s+t-ABCDEFGHJKMN-0123456789abcdef01234@example.com",   /* too long */
        "s+t-ABCDEFGHJKM-0123456789abcdef01234@example.com",    /* id too short */
        "s+t-1BCDEFGHJKMN-0123456789abcdef0123@example.com",    /* id starts with a digit */
        "s+t-ABCDEFGHJKMN_0123456789abcdef0123@example.com",    /* no dash */
        "s+t-@example.com", "+t-", "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!names(k, bad[i], ID), "%s", bad[i]);
    sp_keyring_keys_destroy(k);
    sp_keyring_keys_destroy(other);
}
END_TEST

/* Found by fuzz_reply_address: the tag after the last '@' is in the
 * domain, so the address does not look signed, and it names no ticket
 * either, however good its mac. */
START_TEST(a_signed_token_in_the_domain_names_no_ticket)
{
    struct sp_keyring_keys *k = keys(K1);
    const char *tag = strstr(sp_reply_address(k, &arena, "support", ID), "+t-");
    ck_assert(names(k, tag, ID));
    static const char *const at[] = {"support@example.com", "s@x@example.com", "@"};
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        const char *addr = sp_arena_sprintf(&arena, "%s%s", at[i], tag);
        ck_assert_msg(!sp_reply_address_looks_signed(addr), "%s", addr);
        ck_assert_msg(!names(k, addr, ID), "%s", addr);
    }
    /* Before a further '@' it is in the local part (a quoted one may hold '@'). */
    ck_assert(names(k, sp_arena_sprintf(&arena, "s%s@x@example.com", tag), ID));
    sp_keyring_keys_destroy(k);
}
END_TEST

START_TEST(ring_setting_is_checked)
{
    char err[256];
    ck_assert_ptr_null(sp_reply_keys_load(NULL, NULL, err, sizeof(err)));
    ck_assert_str_eq(err, "");
    ck_assert_ptr_null(sp_reply_keys_load("", NULL, err, sizeof(err)));
    ck_assert_str_eq(err, "");
    ck_assert_ptr_null(sp_reply_keys_load("k1:short", NULL, err, sizeof(err)));
    ck_assert_str_eq(err, "SUPPORT_MAIL_REPLY_KEYS: the secret of kid \"k1\" is shorter than 32 "
                          "bytes");
    ck_assert_ptr_null(sp_reply_keys_load(K1 "," K1, NULL, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "used twice"));
    /* A From that holds the tag: its signed addresses would hold two. */
    ck_assert_ptr_null(sp_reply_keys_load(K1, "help+T-desk@example.com", err, sizeof(err)));
    ck_assert_str_eq(err, "SUPPORT_MAIL_FROM must not hold \"+t-\": the reply addresses of"
                          " SUPPORT_MAIL_REPLY_KEYS add it");
    struct sp_keyring_keys *k = sp_reply_keys_load(K1, "help+desk@example.com", err, sizeof(err));
    ck_assert_ptr_nonnull(k);
    sp_keyring_keys_destroy(k);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("reply_address");
    TCase *tc = tcase_create("reply_address");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, address_is_a_signed_subaddress_of_the_from);
    tcase_add_test(tc, any_key_of_the_ring_verifies_in_any_case);
    tcase_add_test(tc, altered_and_malformed_addresses_are_refused);
    tcase_add_test(tc, a_signed_token_in_the_domain_names_no_ticket);
    tcase_add_test(tc, ring_setting_is_checked);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
