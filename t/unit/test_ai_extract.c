/*
 * test_ai_extract: the extractive answer of local-retrieval
 * (sp_ai_extract, src/domain/ai_query.c) — which units it quotes (the
 * top passage's own first, a table's rows whole), which passage it says
 * it quoted, and how well the quote itself matches the question.
 */
#include <check.h>
#include <string.h>

#include "core/arena.h"
#include "domain/ai_query.h"
#include "domain/ai_retrieval.h"
#include "unit.h"

SP_UNIT_ARENA_FIXTURE(8192)

static struct sp_ai_passage
passage(const char *slug, const char *path, const char *text, double score)
{
    return (struct sp_ai_passage){.slug = slug, .title = slug, .heading_path = path,
                                  .text = text, .score = score};
}

/* QA: "cancellation fee" answered another article's "late checkout fee"
 * sentence with confidence 0.8058: the top article's fee table had rows
 * too short to be sentences, and any passage scoring half the best was
 * quoted from. */
START_TEST(the_top_passages_table_answers_before_a_lower_passages_sentence)
{
    struct sp_ai_passage ps[] = {
        passage("change-a-booking", "Change a booking > Cancellation fee",
                "You can change the dates of a booking online.\n"
                "Notice Fee\nmore than 7 days none\n48 h to 7 days 10 %\nless than 48 h 20 %",
                0.5558),
        passage("late-charge", "Late checkout",
                "We charge a late checkout fee if you leave the room after noon.", 0.3315),
    };
    struct sp_ai_extract x;
    ck_assert(sp_ai_extract(&arena, "cancellation fee", ps, 2, &x));
    ck_assert_str_eq(x.text, "Notice Fee; more than 7 days none; 48 h to 7 days 10 %; "
                             "less than 48 h 20 %");
    ck_assert_uint_eq(x.npassages, 1);
    ck_assert_uint_eq(x.passages[0], 0);
    ck_assert_msg(x.match >= 0.75, "match %f", x.match);   /* the heading holds "cancellation" */
}
END_TEST

/* Another article's sentence answers when it is clearly better and holds
 * more of the question's terms; its passage is then the first source. */
START_TEST(a_clearly_better_lower_sentence_answers_and_is_cited_first)
{
    struct sp_ai_passage ps[] = {
        passage("rooms", "Rooms", "Every room has a safe for your valuables.", 0.6),
        passage("safe-code", "Safe", "To reset the room safe code, hold the lock button for "
                                     "five seconds.", 0.5),
    };
    struct sp_ai_extract x;
    ck_assert(sp_ai_extract(&arena, "reset safe code", ps, 2, &x));
    ck_assert_ptr_nonnull(strstr(x.text, "hold the lock button"));
    ck_assert_uint_eq(x.passages[0], 1);
    /* One holding fewer of the question's words than the top's best is
     * left out, however it scores. */
    ps[1].text = "The safe code is changed at the desk.";
    ck_assert(sp_ai_extract(&arena, "room safe", ps, 2, &x));
    ck_assert_str_eq(x.text, "Every room has a safe for your valuables.");
    ck_assert_uint_eq(x.npassages, 1);
    ck_assert_uint_eq(x.passages[0], 0);
    /* Another passage of the top one's article is the same answer's. */
    ps[1].slug = "rooms";
    ck_assert(sp_ai_extract(&arena, "room safe", ps, 2, &x));
    ck_assert_str_eq(x.text, "Every room has a safe for your valuables. The safe code is changed "
                             "at the desk.");
    ck_assert_uint_eq(x.npassages, 2);
}
END_TEST

/* The match is the quote's own: a sentence holding one word of three
 * is no sure answer, whatever the passage scored. */
START_TEST(the_match_is_the_quoted_sentences_own)
{
    struct sp_ai_passage ps[] = {
        passage("cards", "Payments", "We accept every major card at the front desk.", 0.9),
    };
    struct sp_ai_extract x;
    ck_assert(sp_ai_extract(&arena, "refund card delay", ps, 1, &x));
    ck_assert_msg(x.match < 0.4, "match %f", x.match);
    ps[0].text = "A refund reaches the card after a delay of up to five days.";
    ck_assert(sp_ai_extract(&arena, "refund card delay", ps, 1, &x));
    ck_assert_msg(x.match > 0.75, "match %f", x.match);
}
END_TEST

/* Prose lines are cut into sentences (12 bytes and more), quoted in
 * reading order, a lone short line is no table, and nothing that shares
 * no term is quoted. */
START_TEST(prose_is_quoted_by_sentences_in_reading_order)
{
    struct sp_ai_passage ps[] = {
        passage("refunds", "Refunds",
                "Refunds go back to the card. Banks may take longer.\nOk\n"
                "A partial refund covers the nights you did not stay.\nContact us:\n"
                "Phone\nMail", 0.8),
    };
    struct sp_ai_extract x;
    ck_assert(sp_ai_extract(&arena, "refund card", ps, 1, &x));
    ck_assert_str_eq(x.text, "Refunds go back to the card. A partial refund covers the nights "
                             "you did not stay.");
    ck_assert(!sp_ai_extract(&arena, "wombat", ps, 1, &x));
    ck_assert_ptr_null(x.text);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("ai_extract");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, the_top_passages_table_answers_before_a_lower_passages_sentence);
    tcase_add_test(tc, a_clearly_better_lower_sentence_answers_and_is_cited_first);
    tcase_add_test(tc, the_match_is_the_quoted_sentences_own);
    tcase_add_test(tc, prose_is_quoted_by_sentences_in_reading_order);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
