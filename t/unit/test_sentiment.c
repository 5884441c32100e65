/*
 * test_sentiment: the lexicon scorer (src/domain/sentiment.c) against the
 * model documented in sentiment.h: signs, negation, intensifiers, markup,
 * case, bounds, and any bytes at any length without a crash.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "domain/sentiment.h"
#include "unit.h"

static double
score(const char *s)
{
    return sp_sentiment_score(s, strlen(s));
}

/* A text made of `times` copies of unit, heap-owned by the caller. */
static char *
repeat(const char *unit, size_t times, size_t *len)
{
    size_t ul = strlen(unit);
    char *s = malloc(ul * times + 1);
    ck_assert_ptr_nonnull(s);
    for (size_t i = 0; i < times; i++)
        memcpy(s + i * ul, unit, ul);
    s[ul * times] = '\0';
    *len = ul * times;
    return s;
}

START_TEST(text_without_lexicon_words_scores_zero)
{
    ck_assert_double_eq(score("The order 12345 was shipped to Main Street on Tuesday."), 0.0);
    ck_assert_double_eq(score(""), 0.0);
    ck_assert_double_eq(sp_sentiment_score(NULL, 10), 0.0);
    ck_assert_double_eq(score("!!!! ??? ..."), 0.0);
}
END_TEST

START_TEST(clearly_positive_text_scores_above_0_3)
{
    ck_assert_double_gt(score("Thanks a lot, the agent was helpful and my issue is resolved. "
                              "Great service, I love it!"),
                        0.3);
    ck_assert_double_gt(score("happy"), 0.3);
}
END_TEST

START_TEST(clearly_negative_text_scores_below_minus_0_3)
{
    ck_assert_double_lt(score("This is unacceptable. I was charged twice, the app is broken "
                              "and support is useless. I want a refund or I call my lawyer."),
                        -0.3);
    ck_assert_double_lt(score("worst experience ever, a scam"), -0.3);
}
END_TEST

START_TEST(listed_lexicon_words_score_with_their_sign)
{
    static const char *const pos[] = {"thanks",  "great",     "love",      "happy",     "resolved",
                                      "helpful", "excellent", "wonderful", "appreciate"};
    static const char *const neg[] = {"angry",        "terrible",  "refund",  "broken",
                                      "worst",        "scam",      "fraud",   "disappointed",
                                      "unacceptable", "lawyer",    "furious", "useless",
                                      "cancel",       "abandoned", "wrong",   "abuse"};
    for (size_t i = 0; i < sizeof(pos) / sizeof(pos[0]); i++)
        ck_assert_msg(score(pos[i]) > 0.0, "%s should be positive", pos[i]);
    for (size_t i = 0; i < sizeof(neg) / sizeof(neg[0]); i++)
        ck_assert_msg(score(neg[i]) < 0.0, "%s should be negative", neg[i]);
}
END_TEST

START_TEST(negation_flips_the_following_words)
{
    ck_assert_double_gt(score("happy"), 0.0);
    ck_assert_double_lt(score("not happy"), 0.0);
    ck_assert_double_lt(score("I'm not happy or satisfied"), score("not happy"));
    ck_assert_double_gt(score("not bad"), score("bad"));
    ck_assert_double_gt(score("not bad"), 0.0);
    /* damped: a negated word weighs less than the word itself */
    ck_assert_double_lt(fabs(score("not happy")), fabs(score("happy")));
}
END_TEST

START_TEST(contractions_and_nt_suffix_negate)
{
    ck_assert_double_lt(score("I don't love it"), 0.0);
    ck_assert_double_lt(score("I dont love it"), 0.0);
    ck_assert_double_lt(score("it mustn't be great"), 0.0); /* suffix rule, not the list */
    ck_assert_double_eq(score("I don\xe2\x80\x99t love it"), score("I don't love it"));
    ck_assert_double_eq(score("I don&#39;t love it"), score("I don't love it"));
}
END_TEST

START_TEST(negation_stops_at_punctuation_and_after_three_words)
{
    ck_assert_double_eq(score("not. happy"), score("happy"));
    ck_assert_double_eq(score("no, great"), score("great"));
    ck_assert_double_lt(score("not at all happy"), 0.0);                 /* third word */
    ck_assert_double_eq(score("not that it was happy"), score("happy")); /* fourth */
}
END_TEST

START_TEST(phrases_score_where_their_words_do_not)
{
    ck_assert_double_eq(score("charged"), 0.0);
    ck_assert_double_eq(score("twice"), 0.0);
    ck_assert_double_lt(score("I was charged twice"), -0.3);
    ck_assert_double_lt(score("I want my money back"), 0.0);
    ck_assert_double_gt(score("no worries"), 0.0);
}
END_TEST

START_TEST(negated_expectation_is_a_complaint)
{
    ck_assert_double_eq(score("my parcel arrived"), 0.0);
    ck_assert_double_lt(score("my parcel never arrived"), 0.0);
    ck_assert_double_lt(score("it is not working"), 0.0);
    /* the expectation ends the negation: "refund" is not flipped to positive */
    ck_assert_double_lt(score("I haven't received my refund"), score("I haven't received"));
}
END_TEST

START_TEST(intensifier_increases_magnitude)
{
    ck_assert_double_lt(score("very angry"), score("angry"));
    ck_assert_double_gt(score("very happy"), score("happy"));
    ck_assert_double_gt(score("extremely happy"), score("very happy"));
    ck_assert_double_gt(score("really very happy"), score("very happy"));
    /* it reaches the next two words of the clause only */
    ck_assert_double_eq(score("so I called, angry"), score("angry"));
    ck_assert_double_eq(score("very much the same as happy"), score("happy"));
}
END_TEST

START_TEST(exclamations_and_caps_add_magnitude)
{
    ck_assert_double_lt(score("terrible!!!"), score("terrible"));
    ck_assert_double_gt(score("great!!!"), score("great"));
    ck_assert_double_lt(score("this is TERRIBLE"), score("this is terrible"));
    /* all-caps typing is not shouting */
    ck_assert_double_eq(score("THIS IS TERRIBLE"), score("this is terrible"));
}
END_TEST

START_TEST(case_does_not_matter)
{
    ck_assert_double_eq(score("Great"), score("great"));
    ck_assert_double_eq(score("gReAt"), score("great"));
    ck_assert_double_eq(score("GREAT"), score("great"));
    ck_assert_double_eq(score("Not Happy"), score("not happy"));
}
END_TEST

START_TEST(html_tags_and_entities_are_ignored)
{
    ck_assert_double_eq(score("<b>great</b>"), score("great"));
    ck_assert_double_eq(score("<p class=\"x\">not <i>happy</i></p>"), score("not happy"));
    ck_assert_double_eq(score("<a href=\"https://terrible.example/awful\">link</a>"), 0.0);
    ck_assert_double_eq(score("<!-- scam -->fine"), score("fine"));
    ck_assert_double_eq(score("good &amp; great"), score("good great"));
    /* a '<' that opens no tag is text */
    ck_assert_double_eq(score("2 < 3, great"), score("great"));
    ck_assert_double_eq(score("<b great"), score("great"));
}
END_TEST

START_TEST(worst_word_repeated_stays_within_bounds)
{
    size_t len;
    char *s = repeat("WORST!!! worst, ", 10000, &len);
    double r = sp_sentiment_score(s, len);
    ck_assert(isfinite(r));
    ck_assert_double_ge(r, -1.0);
    ck_assert_double_lt(r, -0.99);
    free(s);
    s = repeat("extremely AMAZING! ", 10000, &len);
    r = sp_sentiment_score(s, len);
    ck_assert_double_le(r, 1.0);
    ck_assert_double_gt(r, 0.99);
    free(s);
}
END_TEST

START_TEST(arbitrary_bytes_do_not_crash)
{
    unsigned char b[4096];
    unsigned x = 12345;
    for (int round = 0; round < 50; round++) {
        for (size_t i = 0; i < sizeof(b); i++) {
            x = x * 1103515245u + 12345u;
            b[i] = (unsigned char)(x >> 16);
        }
        double r = sp_sentiment_score((const char *)b, sizeof(b));
        ck_assert(isfinite(r) && r >= -1.0 && r <= 1.0);
    }
    ck_assert_double_eq(sp_sentiment_score("\xff\xfe\xc3(\xe2\x80", 6), 0.0);
    /* NULs inside len separate words; nothing past len is read */
    ck_assert_double_eq(sp_sentiment_score("great\0awful", 11), score("great awful"));
    ck_assert_double_eq(sp_sentiment_score("great\0awful", 5), score("great"));
    ck_assert_double_eq(sp_sentiment_score("don'", 4), 0.0);
    ck_assert_double_eq(sp_sentiment_score("a&#3", 4), 0.0);
}
END_TEST

START_TEST(words_longer_than_any_entry_never_match)
{
    size_t len;
    char *s = repeat("great", 100, &len);
    ck_assert_double_eq(sp_sentiment_score(s, len), 0.0);
    free(s);
    /* its first 24 bytes end in "n't", the word itself does not */
    ck_assert_double_eq(score("aaaaaaaaaaaaaaaaaaaaan'tzzz happy"), score("happy"));
}
END_TEST

START_TEST(long_inputs_complete_in_one_pass)
{
    size_t len;
    char *s = repeat("The app is broken and I am not happy, very disappointed. ", 360, &len);
    ck_assert_uint_ge(len, 20000);
    ck_assert_double_lt(sp_sentiment_score(s, len), -0.9);
    free(s);
    /* markup that never closes must not rescan the rest of the text */
    s = repeat("<a", 10000, &len);
    ck_assert_double_eq(sp_sentiment_score(s, len), 0.0);
    free(s);
    s = repeat("&abcdefghi", 2000, &len);
    ck_assert_double_eq(sp_sentiment_score(s, len), 0.0);
    free(s);
    s = repeat("x", 20000, &len);
    ck_assert_double_eq(sp_sentiment_score(s, len), 0.0);
    free(s);
}
END_TEST

static Suite *
sentiment_suite(void)
{
    Suite *s = suite_create("sentiment");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, text_without_lexicon_words_scores_zero);
    tcase_add_test(tc, clearly_positive_text_scores_above_0_3);
    tcase_add_test(tc, clearly_negative_text_scores_below_minus_0_3);
    tcase_add_test(tc, listed_lexicon_words_score_with_their_sign);
    tcase_add_test(tc, negation_flips_the_following_words);
    tcase_add_test(tc, contractions_and_nt_suffix_negate);
    tcase_add_test(tc, negation_stops_at_punctuation_and_after_three_words);
    tcase_add_test(tc, phrases_score_where_their_words_do_not);
    tcase_add_test(tc, negated_expectation_is_a_complaint);
    tcase_add_test(tc, intensifier_increases_magnitude);
    tcase_add_test(tc, exclamations_and_caps_add_magnitude);
    tcase_add_test(tc, case_does_not_matter);
    tcase_add_test(tc, html_tags_and_entities_are_ignored);
    tcase_add_test(tc, worst_word_repeated_stays_within_bounds);
    tcase_add_test(tc, arbitrary_bytes_do_not_crash);
    tcase_add_test(tc, words_longer_than_any_entry_never_match);
    tcase_add_test(tc, long_inputs_complete_in_one_pass);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(sentiment_suite());
}
