/*
 * test_rules: the priority rules engine (src/domain/rules.c) against
 * API.md §5.3: first matching rule by position, every set condition
 * required, save-time pattern validation, the per-worker compile cache
 * (reuse, recompile on a new version, LRU bound), and the limits that keep
 * a catastrophic or broken pattern from hanging or failing a ticket.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/rules.h"
#include "unit.h"

enum { ANY_TIER = -1 };
enum { LOW = 0, NORMAL = 1, HIGH = 2, URGENT = 3 };

static struct sp_rules_cache *cache;

static void
setup(void)
{
    cache = sp_rules_cache_new();
    ck_assert_ptr_nonnull(cache);
}

static void
teardown(void)
{
    sp_rules_cache_free(cache);
}

/* A rule with no condition set. */
static struct sp_rule
rule(long long id, const char *pattern, int priority)
{
    return (struct sp_rule){.id = id,
                            .version = 1,
                            .name = "r",
                            .tier = ANY_TIER,
                            .pattern = pattern,
                            .priority = priority};
}

static struct sp_rule_input
ticket(const char *subject, const char *description)
{
    return (struct sp_rule_input){.category_id = 7,
                                  .tier = SP_TIER_STANDARD,
                                  .subject = subject,
                                  .description = description,
                                  .sentiment = 0.0};
}

static int
first(const struct sp_rule *rules, size_t n, const struct sp_rule_input *in)
{
    struct sp_rules_fault f;
    int i = sp_rules_first_match(cache, rules, n, in, &f);
    ck_assert_msg(f.kind == SP_RULES_FAULT_NONE && f.count == 0, "unexpected fault: %s", f.message);
    return i;
}

START_TEST(first_matching_rule_by_position_wins)
{
    struct sp_rule rules[] = {rule(1, "nothing-like-this", URGENT), rule(2, "refund", HIGH),
                              rule(3, "refund", LOW), rule(4, NULL, NORMAL)};
    struct sp_rule_input in = ticket("Refund please", "I was charged");
    ck_assert_int_eq(first(rules, 4, &in), 1);
    struct sp_rule_input other = ticket("Hello", "a question");
    ck_assert_int_eq(first(rules, 4, &other), 3); /* the catch-all */
}
END_TEST

START_TEST(every_set_condition_must_match)
{
    struct sp_rule r = rule(1, "refund", HIGH);
    r.category_id = 7;
    struct sp_rule_input in = ticket("refund", "now");
    ck_assert_int_eq(first(&r, 1, &in), 0);
    in.category_id = 8; /* pattern matches, category does not */
    ck_assert_int_eq(first(&r, 1, &in), -1);
    in = ticket("hello", "now"); /* category matches, pattern does not */
    ck_assert_int_eq(first(&r, 1, &in), -1);
    r.category_id = 0; /* 0 = any category */
    in = ticket("refund", "now");
    in.category_id = 99;
    ck_assert_int_eq(first(&r, 1, &in), 0);
}
END_TEST

START_TEST(tier_condition_matches_only_that_tier)
{
    struct sp_rule r = rule(1, NULL, URGENT);
    r.tier = SP_TIER_VIP;
    struct sp_rule_input in = ticket("s", "d");
    in.tier = SP_TIER_VIP;
    ck_assert_int_eq(first(&r, 1, &in), 0);
    in.tier = SP_TIER_PREMIUM;
    ck_assert_int_eq(first(&r, 1, &in), -1);
    in.tier = SP_TIER_STANDARD;
    ck_assert_int_eq(first(&r, 1, &in), -1);
    r.tier = ANY_TIER;
    ck_assert_int_eq(first(&r, 1, &in), 0);
}
END_TEST

START_TEST(sentiment_below_is_strict)
{
    struct sp_rule r = rule(1, NULL, HIGH);
    r.has_sentiment_below = true;
    r.sentiment_below = -0.5;
    struct sp_rule_input in = ticket("s", "d");
    in.sentiment = -0.8;
    ck_assert_int_eq(first(&r, 1, &in), 0);
    in.sentiment = -0.5;
    ck_assert_int_eq(first(&r, 1, &in), -1);
    in.sentiment = 0.2;
    ck_assert_int_eq(first(&r, 1, &in), -1);
    in.sentiment = NAN;
    ck_assert_int_eq(first(&r, 1, &in), -1);
    r.has_sentiment_below = false; /* the value alone is not a condition */
    ck_assert_int_eq(first(&r, 1, &in), 0);
}
END_TEST

START_TEST(pattern_is_case_insensitive_over_subject_and_description)
{
    struct sp_rule r = rule(1, "charge ?back", HIGH);
    struct sp_rule_input in = ticket("CHARGEBACK filed", "details");
    ck_assert_int_eq(first(&r, 1, &in), 0);
    in = ticket("hello", "I will file a Charge Back");
    ck_assert_int_eq(first(&r, 1, &in), 0);
    in = ticket("hello", "nothing here");
    ck_assert_int_eq(first(&r, 1, &in), -1);
    /* subject and description are joined by one newline */
    struct sp_rule joined = rule(2, "^urgent\\nplease$", HIGH);
    in = ticket("Urgent", "Please");
    ck_assert_int_eq(first(&joined, 1, &in), 0);
    in = ticket(NULL, NULL);
    ck_assert_int_eq(first(&r, 1, &in), -1);
}
END_TEST

START_TEST(no_matching_rule_returns_minus_one)
{
    struct sp_rule_input in = ticket("s", "d");
    ck_assert_int_eq(first(NULL, 0, &in), -1);
    struct sp_rule r = rule(1, "zzz", HIGH);
    ck_assert_int_eq(first(&r, 1, &in), -1);
}
END_TEST

START_TEST(invalid_pattern_is_rejected_with_pcre2_message)
{
    char err[200];
    ck_assert(!sp_rules_pattern_valid("(unclosed", err, sizeof(err)));
    ck_assert_msg(strstr(err, "missing closing parenthesis") != NULL, "got: %s", err);
    ck_assert_msg(strstr(err, "offset 9") != NULL, "got: %s", err);
    ck_assert(!sp_rules_pattern_valid("a{2,1}", err, sizeof(err)));
    ck_assert_str_ne(err, "");
    ck_assert(!sp_rules_pattern_valid("caf\xc3", err, sizeof(err))); /* not UTF-8 */
    ck_assert(!sp_rules_pattern_valid("\\C", err, sizeof(err)));
    ck_assert(!sp_rules_pattern_valid(NULL, err, sizeof(err)));
    ck_assert_str_ne(err, "");
    ck_assert(!sp_rules_pattern_valid("(", NULL, 0));
    char tiny[8];
    ck_assert(!sp_rules_pattern_valid("(", tiny, sizeof(tiny)));
    ck_assert_uint_eq(strlen(tiny), sizeof(tiny) - 1);
}
END_TEST

START_TEST(valid_pattern_is_accepted)
{
    char err[200] = "untouched";
    ck_assert(sp_rules_pattern_valid("refund|charge ?back|\\blawyer\\b", err, sizeof(err)));
    ck_assert_str_eq(err, "");
    ck_assert(sp_rules_pattern_valid("", err, sizeof(err)));
    ck_assert(sp_rules_pattern_valid("caf\xc3\xa9", err, sizeof(err)));
}
END_TEST

START_TEST(pattern_length_is_limited_to_1000_characters)
{
    char err[200];
    char *p = malloc(2 * 1001 + 1);
    ck_assert_ptr_nonnull(p);
    memset(p, 'a', 1001);
    p[1001] = '\0';
    ck_assert(!sp_rules_pattern_valid(p, err, sizeof(err)));
    ck_assert_msg(strstr(err, "1000") != NULL, "got: %s", err);
    p[1000] = '\0';
    ck_assert(sp_rules_pattern_valid(p, err, sizeof(err)));
    for (int i = 0; i < 1000; i++) /* 1000 é are 2000 bytes but 1000 characters */
        memcpy(p + 2 * i, "\xc3\xa9", 2);
    p[2000] = '\0';
    ck_assert(sp_rules_pattern_valid(p, err, sizeof(err)));
    free(p);
}
END_TEST

START_TEST(cache_reuses_a_compiled_pattern_for_the_same_version)
{
    struct sp_rule r = rule(1, "refund", HIGH);
    struct sp_rule_input in = ticket("refund", "x");
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(first(&r, 1, &in), 0);
    ck_assert_uint_eq(sp_rules_cache_compiles(cache), 1);
    ck_assert_uint_eq(sp_rules_cache_size(cache), 1);
}
END_TEST

START_TEST(cache_recompiles_when_the_version_changes)
{
    struct sp_rule r = rule(1, "refund", HIGH);
    struct sp_rule_input in = ticket("refund", "x");
    ck_assert_int_eq(first(&r, 1, &in), 0);
    r.version = 2;
    r.pattern = "lawyer";
    ck_assert_int_eq(first(&r, 1, &in), -1);
    in = ticket("my lawyer", "x");
    ck_assert_int_eq(first(&r, 1, &in), 0);
    ck_assert_uint_eq(sp_rules_cache_compiles(cache), 2);
    ck_assert_uint_eq(sp_rules_cache_size(cache), 1); /* the old version is gone */
}
END_TEST

START_TEST(cache_never_matches_a_stale_pattern_even_without_a_version_bump)
{
    struct sp_rule r = rule(1, "refund", HIGH);
    struct sp_rule_input in = ticket("refund", "x");
    ck_assert_int_eq(first(&r, 1, &in), 0);
    r.pattern = "lawyer";
    ck_assert_int_eq(first(&r, 1, &in), -1);
    ck_assert_uint_eq(sp_rules_cache_compiles(cache), 2);
}
END_TEST

START_TEST(cache_is_bounded_and_evicts_the_least_recently_used)
{
    enum { N = SP_RULES_CACHE_MAX + 44 };
    static struct sp_rule rules[N];
    static char pats[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(pats[i], sizeof(pats[i]), "zz%d", i);
        rules[i] = rule(i, pats[i], LOW);
    }
    struct sp_rule_input in = ticket("s", "d");
    ck_assert_int_eq(first(rules, N, &in), -1);
    ck_assert_uint_eq(sp_rules_cache_compiles(cache), N);
    ck_assert_uint_eq(sp_rules_cache_size(cache), SP_RULES_CACHE_MAX);
    /* rules 0..43 were evicted; 44 is the oldest left, 45 the next */
    ck_assert_int_eq(first(&rules[N - 1], 1, &in), -1);
    ck_assert_uint_eq(sp_rules_cache_compiles(cache), N);
    ck_assert_int_eq(first(&rules[44], 1, &in), -1); /* touch 44 */
    ck_assert_int_eq(first(&rules[0], 1, &in), -1);  /* evicted: compiled again */
    ck_assert_uint_eq(sp_rules_cache_compiles(cache), N + 1);
    ck_assert_int_eq(first(&rules[44], 1, &in), -1); /* kept: used recently */
    ck_assert_uint_eq(sp_rules_cache_compiles(cache), N + 1);
    ck_assert_int_eq(first(&rules[45], 1, &in), -1); /* evicted for rule 0 */
    ck_assert_uint_eq(sp_rules_cache_compiles(cache), N + 2);
    ck_assert_uint_eq(sp_rules_cache_size(cache), SP_RULES_CACHE_MAX);
}
END_TEST

START_TEST(catastrophic_pattern_gives_up_without_matching)
{
    struct sp_rule rules[] = {rule(1, "(a+)+$", URGENT), rule(2, NULL, LOW)};
    rules[0].version = 3;
    struct sp_rule_input in =
        ticket("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "bbbbbbb!");
    struct sp_rules_fault f;
    ck_assert_int_eq(sp_rules_first_match(cache, rules, 1, &in, &f), -1);
    ck_assert_int_eq(f.kind, SP_RULES_FAULT_LIMIT);
    ck_assert_int_eq(f.rule_id, 1);
    ck_assert_int_eq(f.rule_version, 3);
    ck_assert_str_ne(f.message, "");
    /* the search goes on past the faulting rule */
    ck_assert_int_eq(sp_rules_first_match(cache, rules, 2, &in, &f), 1);
    ck_assert_uint_eq(f.count, 1);
    /* and the same pattern still matches where it can */
    in = ticket("aaaa", "aaaa");
    ck_assert_int_eq(first(rules, 1, &in), 0);
}
END_TEST

START_TEST(pattern_failing_to_compile_never_matches_and_is_reported)
{
    struct sp_rule rules[] = {rule(5, "(broken", URGENT), rule(6, "broken", HIGH)};
    struct sp_rule_input in = ticket("(broken", "x");
    struct sp_rules_fault f;
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(sp_rules_first_match(cache, rules, 2, &in, &f), 1);
        ck_assert_int_eq(f.kind, SP_RULES_FAULT_COMPILE);
        ck_assert_int_eq(f.rule_id, 5);
        ck_assert_msg(strstr(f.message, "missing closing parenthesis") != NULL, "got: %s",
                      f.message);
    }
    ck_assert_uint_eq(sp_rules_cache_compiles(cache), 2); /* the failure is cached too */
    ck_assert_int_eq(sp_rules_first_match(cache, rules, 2, &in, NULL), 1);
}
END_TEST

START_TEST(pattern_is_not_tried_when_a_cheaper_condition_fails)
{
    struct sp_rule r = rule(1, "refund", HIGH);
    r.category_id = 3;
    struct sp_rule_input in = ticket("refund", "x");
    ck_assert_int_eq(first(&r, 1, &in), -1);
    ck_assert_uint_eq(sp_rules_cache_compiles(cache), 0);
}
END_TEST

START_TEST(utf8_patterns_match_case_insensitively)
{
    struct sp_rule r = rule(1, "caf\xc3\xa9", HIGH);                   /* café */
    struct sp_rule_input in = ticket("Le CAF\xc3\x89 est froid", "x"); /* CAFÉ */
    ck_assert_int_eq(first(&r, 1, &in), 0);
    in = ticket("Le cafe est froid", "x");
    ck_assert_int_eq(first(&r, 1, &in), -1);
    struct sp_rule word = rule(2, "\\b\\w+\xc3\xa9\\b", HIGH); /* \w knows é */
    in = ticket("x", "un \xc3\xa9t\xc3\xa9 chaud");
    ck_assert_int_eq(first(&word, 1, &in), 0);
    /* a subject that is not UTF-8 is still searched */
    struct sp_rule ascii = rule(3, "refund", HIGH);
    in = ticket("\xff\xfe bad bytes \xc3", "refund now");
    ck_assert_int_eq(first(&ascii, 1, &in), 0);
}
END_TEST

static Suite *
rules_suite(void)
{
    Suite *s = suite_create("rules");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, first_matching_rule_by_position_wins);
    tcase_add_test(tc, every_set_condition_must_match);
    tcase_add_test(tc, tier_condition_matches_only_that_tier);
    tcase_add_test(tc, sentiment_below_is_strict);
    tcase_add_test(tc, pattern_is_case_insensitive_over_subject_and_description);
    tcase_add_test(tc, no_matching_rule_returns_minus_one);
    tcase_add_test(tc, invalid_pattern_is_rejected_with_pcre2_message);
    tcase_add_test(tc, valid_pattern_is_accepted);
    tcase_add_test(tc, pattern_length_is_limited_to_1000_characters);
    tcase_add_test(tc, cache_reuses_a_compiled_pattern_for_the_same_version);
    tcase_add_test(tc, cache_recompiles_when_the_version_changes);
    tcase_add_test(tc, cache_never_matches_a_stale_pattern_even_without_a_version_bump);
    tcase_add_test(tc, cache_is_bounded_and_evicts_the_least_recently_used);
    tcase_add_test(tc, catastrophic_pattern_gives_up_without_matching);
    tcase_add_test(tc, pattern_failing_to_compile_never_matches_and_is_reported);
    tcase_add_test(tc, pattern_is_not_tried_when_a_cheaper_condition_fails);
    tcase_add_test(tc, utf8_patterns_match_case_insensitively);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(rules_suite());
}
