/*
 * test_auth_cache: the per-worker memo of verified tokens
 * (src/http/auth_cache.c).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "http/auth_cache.h"
#include "unit.h"

static struct sp_arena arena;

static void
setup(void)
{
    sp_arena_init(&arena, 4096);
    sp_auth_cache_clear();
}

static void
teardown(void)
{
    sp_auth_cache_clear();
    sp_arena_destroy(&arena);
}

static struct sp_principal
principal(long long exp)
{
    struct sp_principal p;
    memset(&p, 0, sizeof(p));
    strcpy(p.sub, "1001");
    p.role = SP_ROLE_CUSTOMER;
    p.tier = SP_TIER_VIP;
    p.name = "Ann";
    p.email = "ann@example.com";
    p.exp = exp;
    return p;
}

START_TEST(unknown_token_misses)
{
    struct sp_principal out;
    ck_assert(!sp_auth_cache_get("a.b.c", 1000, 60, &arena, &out));
}
END_TEST

START_TEST(remembered_token_returns_the_principal_with_copied_strings)
{
    struct sp_principal in = principal(5000);
    char name[] = "Ann";
    in.name = name;
    sp_auth_cache_put("tok.en.one", &in);
    name[0] = 'X';  /* the cache kept its own copy */
    struct sp_principal out;
    ck_assert(sp_auth_cache_get("tok.en.one", 1000, 60, &arena, &out));
    ck_assert_str_eq(out.sub, "1001");
    ck_assert_int_eq(out.role, SP_ROLE_CUSTOMER);
    ck_assert_int_eq(out.tier, SP_TIER_VIP);
    ck_assert_str_eq(out.name, "Ann");
    ck_assert_str_eq(out.email, "ann@example.com");
    ck_assert_ptr_null(out.phone);
    ck_assert(!sp_auth_cache_get("tok.en.two", 1000, 60, &arena, &out));
}
END_TEST

START_TEST(expired_token_misses_by_the_verifiers_rule)
{
    struct sp_principal in = principal(5000);
    sp_auth_cache_put("tok.en.exp", &in);
    struct sp_principal out;
    ck_assert(sp_auth_cache_get("tok.en.exp", 5059, 60, &arena, &out));   /* within leeway */
    ck_assert(!sp_auth_cache_get("tok.en.exp", 5060, 60, &arena, &out));  /* now - leeway >= exp */
    ck_assert(!sp_auth_cache_get("tok.en.exp", 1000, 60, &arena, &out));  /* and it was dropped */
}
END_TEST

START_TEST(clear_forgets_everything)
{
    struct sp_principal in = principal(5000);
    sp_auth_cache_put("tok.en.c1", &in);
    sp_auth_cache_put("tok.en.c2", &in);
    sp_auth_cache_clear();
    struct sp_principal out;
    ck_assert(!sp_auth_cache_get("tok.en.c1", 1000, 60, &arena, &out));
    ck_assert(!sp_auth_cache_get("tok.en.c2", 1000, 60, &arena, &out));
}
END_TEST

START_TEST(many_tokens_never_answer_for_each_other)
{
    char tok[32];
    for (int i = 0; i < 2000; i++) {
        struct sp_principal in = principal(5000);
        snprintf(in.sub, sizeof(in.sub), "%d", i);
        snprintf(tok, sizeof(tok), "t.%d.x", i);
        sp_auth_cache_put(tok, &in);
    }
    int hits = 0;
    for (int i = 0; i < 2000; i++) {
        struct sp_principal out;
        snprintf(tok, sizeof(tok), "t.%d.x", i);
        if (sp_auth_cache_get(tok, 1000, 60, &arena, &out)) {
            hits++;
            ck_assert_int_eq(atoi(out.sub), i);
        }
    }
    ck_assert_int_gt(hits, 0);
    ck_assert_int_le(hits, 256);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("auth_cache");
    TCase *tc = tcase_create("memo");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, unknown_token_misses);
    tcase_add_test(tc, remembered_token_returns_the_principal_with_copied_strings);
    tcase_add_test(tc, expired_token_misses_by_the_verifiers_rule);
    tcase_add_test(tc, clear_forgets_everything);
    tcase_add_test(tc, many_tokens_never_answer_for_each_other);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
