/*
 * test_ai_synonyms: the AI retrieval's query expansion
 * (src/domain/ai_synonyms.c) — rings expand each member to the others,
 * one-way entries only forwards, words match by their embed term (plural,
 * -ed/-ing), a synonym the question already has is left out, the cap
 * holds, and a question with no entry is left alone.
 */
#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "core/arena.h"
#include "domain/ai_synonyms.h"
#include "unit.h"

static struct sp_arena arena;

static bool
has(const struct sp_ai_synonym *s, size_t n, const char *word, const char *synonym)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].word, word) == 0 && strcmp(s[i].synonym, synonym) == 0)
            return true;
    return false;
}

static bool
has_synonym(const struct sp_ai_synonym *s, size_t n, const char *synonym)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].synonym, synonym) == 0)
            return true;
    return false;
}

START_TEST(a_ring_expands_every_member_plurals_included)
{
    sp_arena_init(&arena, 4096);
    struct sp_ai_synonym s[SP_AI_SYNONYMS_MAX];
    size_t n = sp_ai_synonyms("Can I bring my dogs?", s);
    ck_assert(has(s, n, "dog", "pet"));
    ck_assert(has(s, n, "dog", "animal"));
    ck_assert(!has_synonym(s, n, "dog"));
    n = sp_ai_synonyms("How do I upload pictures of my place?", s);
    ck_assert(has(s, n, "picture", "photo"));
    /* ... and back: "photo" is a member of the same ring. */
    n = sp_ai_synonyms("Which photo is the cover?", s);
    ck_assert(has(s, n, "photo", "picture"));
    sp_arena_destroy(&arena);
}
END_TEST

START_TEST(one_way_entries_do_not_expand_back)
{
    sp_arena_init(&arena, 4096);
    struct sp_ai_synonym s[SP_AI_SYNONYMS_MAX];
    size_t n = sp_ai_synonyms("When do I get paid?", s);
    ck_assert(has(s, n, "paid", "payout"));
    n = sp_ai_synonyms("When is the payout sent?", s);
    ck_assert(!has_synonym(s, n, "paid"));
    ck_assert(has(s, n, "payout", "earnings"));
    sp_arena_destroy(&arena);
}
END_TEST

START_TEST(synonyms_the_question_has_are_left_out)
{
    sp_arena_init(&arena, 4096);
    struct sp_ai_synonym s[SP_AI_SYNONYMS_MAX];
    size_t n = sp_ai_synonyms("photo or picture?", s);
    ck_assert(!has_synonym(s, n, "photo"));
    ck_assert(!has_synonym(s, n, "picture"));
    ck_assert(has_synonym(s, n, "image"));
    for (size_t i = 0; i < n; i++)   /* each synonym once */
        for (size_t j = i + 1; j < n; j++)
            ck_assert_str_ne(s[i].synonym, s[j].synonym);
    sp_arena_destroy(&arena);
}
END_TEST

START_TEST(no_entry_no_expansion_and_the_cap_holds)
{
    sp_arena_init(&arena, 65536);
    struct sp_ai_synonym s[SP_AI_SYNONYMS_MAX];
    const char *q = "Does the zumwalt support fleems?";
    ck_assert_uint_eq(sp_ai_synonyms(q, s), 0);
    ck_assert_ptr_eq(sp_ai_expand(&arena, q), q);
    ck_assert_uint_eq(sp_ai_synonyms("", s), 0);
    ck_assert_uint_eq(sp_ai_synonyms("how do I", s), 0);
    const char *many = "dog photo host guest apartment booking refund receipt fee tax email "
                       "account delete review wifi passport wheelchair charger";
    ck_assert_uint_eq(sp_ai_synonyms(many, s), SP_AI_SYNONYMS_MAX);
    const char *e = sp_ai_expand(&arena, "Can I bring my dog?");
    ck_assert_ptr_nonnull(strstr(e, "Can I bring my dog? (also: pet animal"));
    ck_assert_int_eq(e[strlen(e) - 1], ')');
    sp_arena_destroy(&arena);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("ai_synonyms");
    TCase *tc = tcase_create("ai_synonyms");
    tcase_add_test(tc, a_ring_expands_every_member_plurals_included);
    tcase_add_test(tc, one_way_entries_do_not_expand_back);
    tcase_add_test(tc, synonyms_the_question_has_are_left_out);
    tcase_add_test(tc, no_entry_no_expansion_and_the_cap_holds);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
