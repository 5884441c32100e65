/*
 * test_versions: the versions a precondition accepts (src/core/versions.c):
 * any of a set holds (RFC 9110 §13.1.1), none given holds for every
 * version, and the texts the SQL and a 412's detail read.
 */
#include <check.h>
#include <stdbool.h>

#include "core/versions.h"
#include "unit.h"

SP_UNIT_ARENA_FIXTURE(4096)

START_TEST(any_holds_for_every_version)
{
    ck_assert(sp_versions_hold(SP_VERSIONS_ANY, 1));
    ck_assert(sp_versions_hold(SP_VERSIONS_ANY, 99));
    ck_assert_uint_eq(sp_versions_one(&arena, 0).n, 0);
    ck_assert_ptr_null(sp_versions_param(&arena, SP_VERSIONS_ANY));
    ck_assert_str_eq(sp_versions_text(&arena, SP_VERSIONS_ANY), "any");
}
END_TEST

START_TEST(any_listed_version_holds_not_only_the_newest)
{
    struct sp_versions vs = sp_versions_one(&arena, 1);
    vs = sp_versions_add(&arena, vs, 5);
    vs = sp_versions_add(&arena, vs, 1);   /* listed twice: kept once */
    ck_assert_uint_eq(vs.n, 2);
    ck_assert(sp_versions_hold(vs, 1));
    ck_assert(sp_versions_hold(vs, 5));
    ck_assert(!sp_versions_hold(vs, 3));
    ck_assert(!sp_versions_hold(vs, 6));
    ck_assert_str_eq(sp_versions_param(&arena, vs), "{1,5}");
    ck_assert_str_eq(sp_versions_text(&arena, vs), "1 or 5");
    struct sp_versions one = sp_versions_one(&arena, 7);
    ck_assert_str_eq(sp_versions_param(&arena, one), "{7}");
    ck_assert_str_eq(sp_versions_text(&arena, one), "7");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("versions");
    TCase *tc = tcase_create("versions");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, any_holds_for_every_version);
    tcase_add_test(tc, any_listed_version_holds_not_only_the_newest);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
