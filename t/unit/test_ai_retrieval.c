/*
 * test_ai_retrieval: the pure part of retrieval (src/domain/ai_retrieval.c)
 * — sp_ai_on_topic, whether a passage holds what a question is about: a
 * missing rare word sinks it, missing everyday ones matter little. The
 * weights are the idf retrieval gives among 44 chunks: ln(1 + (N − n +
 * ½)/(n + ½)), 4.50 for a word in none, 3.40 in one, 2.89 in two, 0.18
 * in forty.
 */
#include <check.h>
#include <stdint.h>

#include "domain/ai_retrieval.h"
#include "unit.h"

#define IDF_NONE 4.50
#define IDF_ONE 3.40
#define IDF_TWO 2.89
#define IDF_FORTY 0.18

/* "How long does a zebra live?" against "Walrus care: a walrus lives
 * about 40 years": the passage holds "live" (bit 0) and misses "zebra",
 * in no chunk: it is scaled by the share it holds, under a half. */
START_TEST(a_passage_missing_the_rarest_word_is_scaled_by_the_share_it_holds)
{
    const double idf[] = {IDF_ONE, IDF_NONE};
    double f = sp_ai_on_topic(idf, 2, 1u << 0, 0);
    ck_assert_double_eq_tol(f, IDF_ONE / (IDF_ONE + IDF_NONE), 1e-9);
    ck_assert_double_lt(f, 0.5);
}
END_TEST

/* "How long does a walrus live?": it holds both; and a word the passage
 * lacks that is commoner than one it holds costs nothing here (the
 * coverage counts it, ai_query.c). */
START_TEST(a_passage_holding_the_rarest_word_is_on_topic)
{
    const double walrus[] = {IDF_ONE, IDF_TWO};
    ck_assert_double_eq(sp_ai_on_topic(walrus, 2, 3, 0), 1);
    const double refund[] = {IDF_FORTY, IDF_ONE};   /* "refund" missed, "walrus" held */
    ck_assert_double_eq(sp_ai_on_topic(refund, 2, 1u << 1, 0), 1);
}
END_TEST

/* "What do walruses eat?" against the article "Walrus": "eat" is in no
 * chunk and missed, but the heading path holds "walrus" — the passage
 * is titled with what the question asks about. */
START_TEST(a_heading_with_a_word_of_the_question_is_on_topic)
{
    const double idf[] = {IDF_NONE, IDF_TWO};
    ck_assert_double_eq(sp_ai_on_topic(idf, 2, 1u << 1, 1u << 1), 1);
    /* The heading's bits count only for the question's lexemes. */
    ck_assert_double_lt(sp_ai_on_topic(idf, 2, 1u << 1, 1u << 2), 1);
}
END_TEST

/* Several words in no chunk are all the rarest: holding one of them is
 * enough; holding many others keeps a passage that misses them all well
 * up, as the share it holds. */
START_TEST(ties_for_the_rarest_and_long_questions)
{
    const double tie[] = {IDF_NONE, IDF_NONE, IDF_ONE};
    ck_assert_double_eq(sp_ai_on_topic(tie, 3, 1u << 1, 0), 1);
    ck_assert_double_lt(sp_ai_on_topic(tie, 3, 1u << 2, 0), 0.3);
    const double many[] = {IDF_TWO, IDF_TWO, IDF_TWO, IDF_TWO, IDF_ONE};
    ck_assert_double_eq_tol(sp_ai_on_topic(many, 5, 0xf, 0), 4 * IDF_TWO / (4 * IDF_TWO + IDF_ONE),
                            1e-9);
}
END_TEST

/* No lexeme, or weights of 0 (a word in every chunk): nothing to scale
 * by. The 64th lexeme is a bit like the others. */
START_TEST(edges)
{
    ck_assert_double_eq(sp_ai_on_topic(NULL, 0, 0, 0), 1);
    const double zero[] = {0, 0};
    ck_assert_double_eq(sp_ai_on_topic(zero, 2, 0, 0), 1);
    double idf[64];
    for (size_t i = 0; i < 64; i++)
        idf[i] = i == 63 ? IDF_NONE : IDF_ONE;
    ck_assert_double_eq(sp_ai_on_topic(idf, 64, (uint64_t)1 << 63, 0), 1);
    ck_assert_double_lt(sp_ai_on_topic(idf, 64, ~((uint64_t)1 << 63), 0), 1);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("ai_retrieval");
    TCase *tc = tcase_create("on_topic");
    tcase_add_test(tc, a_passage_missing_the_rarest_word_is_scaled_by_the_share_it_holds);
    tcase_add_test(tc, a_passage_holding_the_rarest_word_is_on_topic);
    tcase_add_test(tc, a_heading_with_a_word_of_the_question_is_on_topic);
    tcase_add_test(tc, ties_for_the_rarest_and_long_questions);
    tcase_add_test(tc, edges);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
