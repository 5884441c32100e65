/*
 * test_stamp_cache: the per-process cache of rendered representations
 * (src/core/stamp_cache.c).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stamp_cache.h"
#include "unit.h"

START_TEST(a_stored_value_is_found_with_its_stamp)
{
    struct sp_stamp_cache *c = sp_stamp_cache_new(64, 1024, 1 << 20);
    ck_assert_ptr_nonnull(c);
    struct sp_stamped s;
    ck_assert(!sp_stamp_cache_find(c, "T1|cust", &s));
    sp_stamp_cache_put(c, "T1|cust", 7, "refunds", "{\"a\":1}", 7);
    ck_assert(sp_stamp_cache_find(c, "T1|cust", &s));
    ck_assert_int_eq(s.version, 7);
    ck_assert_str_eq(s.tag, "refunds");
    ck_assert_uint_eq(s.len, 7);
    ck_assert_str_eq(s.value, "{\"a\":1}");
    ck_assert(sp_stamped_matches(&s, 7, "refunds"));
    /* another version or tag is another representation */
    ck_assert(!sp_stamped_matches(&s, 8, "refunds"));
    ck_assert(!sp_stamped_matches(&s, 7, "billing"));
    ck_assert(!sp_stamped_matches(&s, 7, NULL));
    /* a key that is a prefix of the stored one is not it */
    ck_assert(!sp_stamp_cache_find(c, "T1|cus", &s));
    sp_stamp_cache_free(c);
}
END_TEST

START_TEST(a_null_tag_differs_from_an_empty_one)
{
    struct sp_stamp_cache *c = sp_stamp_cache_new(8, 1024, 1 << 20);
    struct sp_stamped s;
    sp_stamp_cache_put(c, "k", 1, NULL, "v", 1);
    ck_assert(sp_stamp_cache_find(c, "k", &s));
    ck_assert_ptr_null(s.tag);
    ck_assert(sp_stamped_matches(&s, 1, NULL));
    ck_assert(!sp_stamped_matches(&s, 1, ""));
    sp_stamp_cache_put(c, "k", 1, "", "v", 1);
    ck_assert(sp_stamp_cache_find(c, "k", &s));
    ck_assert(sp_stamped_matches(&s, 1, ""));
    ck_assert(!sp_stamped_matches(&s, 1, NULL));
    sp_stamp_cache_free(c);
}
END_TEST

START_TEST(a_put_replaces_the_entry_of_its_key)
{
    struct sp_stamp_cache *c = sp_stamp_cache_new(8, 1024, 1 << 20);
    struct sp_stamped s;
    sp_stamp_cache_put(c, "k", 1, "a", "old", 3);
    sp_stamp_cache_put(c, "k", 2, "a", "newer", 5);
    ck_assert(sp_stamp_cache_find(c, "k", &s));
    ck_assert_int_eq(s.version, 2);
    ck_assert_str_eq(s.value, "newer");
    sp_stamp_cache_free(c);
}
END_TEST

START_TEST(values_may_hold_nul_bytes_and_are_terminated)
{
    struct sp_stamp_cache *c = sp_stamp_cache_new(8, 1024, 1 << 20);
    struct sp_stamped s;
    sp_stamp_cache_put(c, "k", 1, "a", "x\0y", 3);
    ck_assert(sp_stamp_cache_find(c, "k", &s));
    ck_assert_uint_eq(s.len, 3);
    ck_assert_int_eq(memcmp(s.value, "x\0y", 4), 0);
    sp_stamp_cache_free(c);
}
END_TEST

START_TEST(a_value_over_the_limit_is_not_kept_and_drops_the_old_one)
{
    struct sp_stamp_cache *c = sp_stamp_cache_new(8, 4, 1 << 20);
    struct sp_stamped s;
    sp_stamp_cache_put(c, "k", 1, "a", "four", 4);
    ck_assert(sp_stamp_cache_find(c, "k", &s));
    sp_stamp_cache_put(c, "k", 2, "a", "fives", 5);
    /* the old entry is gone too: it is stale now */
    ck_assert(!sp_stamp_cache_find(c, "k", &s));
    sp_stamp_cache_free(c);
}
END_TEST

START_TEST(slots_bound_the_entries)
{
    /* one slot: every key evicts the previous one */
    struct sp_stamp_cache *c = sp_stamp_cache_new(1, 64, 1 << 20);
    struct sp_stamped s;
    sp_stamp_cache_put(c, "a", 1, NULL, "1", 1);
    sp_stamp_cache_put(c, "b", 1, NULL, "2", 1);
    ck_assert(!sp_stamp_cache_find(c, "a", &s));
    ck_assert(sp_stamp_cache_find(c, "b", &s));
    sp_stamp_cache_free(c);

    /* many keys in 16 slots: never more than 16 found, the last one always */
    c = sp_stamp_cache_new(16, 64, 1 << 20);
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "key-%d", i);
        sp_stamp_cache_put(c, key, i, NULL, key, strlen(key));
    }
    int found = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "key-%d", i);
        if (sp_stamp_cache_find(c, key, &s)) {
            found++;
            ck_assert_int_eq(s.version, i);
            ck_assert_str_eq(s.value, key);
        }
    }
    ck_assert_int_le(found, 16);
    ck_assert(sp_stamp_cache_find(c, "key-999", &s));
    sp_stamp_cache_free(c);
}
END_TEST

START_TEST(stored_values_stay_within_the_byte_budget)
{
    /* 10 bytes in all: the third 4-byte value does not fit */
    struct sp_stamp_cache *c = sp_stamp_cache_new(64, 8, 10);
    struct sp_stamped s;
    sp_stamp_cache_put(c, "a", 1, NULL, "aaaa", 4);
    sp_stamp_cache_put(c, "b", 1, NULL, "bbbb", 4);
    sp_stamp_cache_put(c, "c", 1, NULL, "cccc", 4);
    ck_assert(sp_stamp_cache_find(c, "a", &s));
    ck_assert(sp_stamp_cache_find(c, "b", &s));
    ck_assert(!sp_stamp_cache_find(c, "c", &s));
    /* replacing a value gives its bytes back first */
    sp_stamp_cache_put(c, "a", 2, NULL, "aaaaaa", 6);
    ck_assert(sp_stamp_cache_find(c, "a", &s));
    ck_assert_int_eq(s.version, 2);
    /* and a value that is dropped gives them back too */
    sp_stamp_cache_put(c, "a", 3, NULL, "too long a value", 16);
    ck_assert(!sp_stamp_cache_find(c, "a", &s));
    sp_stamp_cache_put(c, "c", 1, NULL, "cccc", 4);
    ck_assert(sp_stamp_cache_find(c, "c", &s));
    sp_stamp_cache_free(c);
}
END_TEST

START_TEST(zero_slots_store_nothing)
{
    struct sp_stamp_cache *c = sp_stamp_cache_new(0, 1024, 1 << 20);
    ck_assert_ptr_nonnull(c);
    struct sp_stamped s;
    sp_stamp_cache_put(c, "k", 1, "a", "v", 1);
    ck_assert(!sp_stamp_cache_find(c, "k", &s));
    sp_stamp_cache_free(c);
    sp_stamp_cache_free(NULL);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("stamp_cache");
    TCase *tc = tcase_create("cache");
    tcase_add_test(tc, a_stored_value_is_found_with_its_stamp);
    tcase_add_test(tc, a_null_tag_differs_from_an_empty_one);
    tcase_add_test(tc, a_put_replaces_the_entry_of_its_key);
    tcase_add_test(tc, values_may_hold_nul_bytes_and_are_terminated);
    tcase_add_test(tc, a_value_over_the_limit_is_not_kept_and_drops_the_old_one);
    tcase_add_test(tc, slots_bound_the_entries);
    tcase_add_test(tc, stored_values_stay_within_the_byte_budget);
    tcase_add_test(tc, zero_slots_store_nothing);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
