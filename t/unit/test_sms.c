/*
 * test_sms: the short text of an SMS or a push (src/core/sms.c): one
 * paid segment, "..." for an SMS, a link's line never cut.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/sms.h"
#include "unit.h"

SP_UNIT_ARENA_FIXTURE(65536)

static const char *
repeat(const char *word, int n)
{
    const char *s = "";
    for (int i = 0; i < n; i++)
        s = sp_arena_sprintf(&arena, "%s%s", s, word);
    return s;
}

START_TEST(gsm_text_is_counted_in_septets)
{
    bool gsm;
    ck_assert_uint_eq(sp_sms_units("Hello Jürgen, 5 €", &gsm), 18);
    ck_assert(gsm);
    ck_assert_uint_eq(sp_sms_units("a[b]", &gsm), 6);
    ck_assert(gsm);
    /* "…" and "ë" are not GSM: the text is UCS-2, counted in UTF-16 units */
    ck_assert_uint_eq(sp_sms_units("Zoë…", &gsm), 4);
    ck_assert(!gsm);
    ck_assert_uint_eq(sp_sms_units("ok \xf0\x9f\x98\x80", &gsm), 5);
    ck_assert(!gsm);
}
END_TEST

/* QA: a cut text ended in "…" (U+2026, not GSM), so the whole SMS went
 * UCS-2: a 157-character text was 3 paid segments. */
START_TEST(a_cut_sms_ends_in_three_dots_and_stays_one_segment)
{
    const char *text = sp_sms_text(&arena, repeat("Lorem ipsum dolor sit amet. ", 40), NULL, true);
    bool gsm;
    size_t n = strlen(text);
    ck_assert_msg(sp_sms_units(text, &gsm) <= SP_SMS_GSM_MAX && gsm, "%s", text);
    ck_assert_msg(n > 3 && strcmp(text + n - 3, "...") == 0, "%s", text);
    ck_assert(strstr(text, "\xe2\x80\xa6") == NULL);
    /* extension characters count two */
    text = sp_sms_text(&arena, repeat("[a] ", 60), NULL, true);
    ck_assert_msg(sp_sms_units(text, &gsm) <= SP_SMS_GSM_MAX && gsm, "%s", text);
    /* a text that fits is one line, uncut */
    ck_assert_str_eq(sp_sms_text(&arena, "Hello,\n\nyour ticket  is open.", NULL, true),
                     "Hello, your ticket is open.");
    /* UCS-2 text: two segments at most */
    text = sp_sms_text(&arena, repeat("Zoë schreibt. ", 30), NULL, true);
    ck_assert_msg(sp_sms_units(text, &gsm) <= SP_SMS_UCS2_MAX && !gsm, "%s", text);
    /* a push keeps its "…" and 160 characters */
    text = sp_sms_text(&arena, repeat("Lorem ipsum dolor sit amet. ", 40), NULL, false);
    n = strlen(text);
    ck_assert_msg(strcmp(text + n - 3, "\xe2\x80\xa6") == 0, "%s", text);
}
END_TEST

/* QA: with SUPPORT_PORTAL_URL the ticket.received SMS ended with a
 * dangling "View it and add to it:…": the link was cut. */
START_TEST(the_link_is_never_cut)
{
    const char *url = "https://help.example.com/tickets/ABCDEFGHJKLM";
    const char *body = sp_arena_sprintf(
        &arena, "Hello Ann,\n\nwe have received your request \"%s\": it is ticket ABCDEFGHJKLM.\n"
                "View it and add to it: %s\n",
        repeat("My parcel never came ", 8), url);
    const char *text = sp_sms_text(&arena, body, url, true);
    bool gsm;
    ck_assert_msg(sp_sms_units(text, &gsm) <= SP_SMS_GSM_MAX, "%s", text);
    const char *tail = sp_arena_sprintf(&arena, "... View it and add to it: %s", url);
    ck_assert_msg(strlen(text) > strlen(tail) &&
                      strcmp(text + strlen(text) - strlen(tail), tail) == 0, "%s", text);
    ck_assert(strncmp(text, "Hello Ann, we have received", 27) == 0);
    /* a link too long to leave room for words: label and link go together */
    const char *huge = sp_arena_sprintf(&arena, "https://help.example.com/%s", repeat("x", 140));
    body = sp_arena_sprintf(&arena, "%s\nView it: %s\n", repeat("Lorem ipsum. ", 20), huge);
    text = sp_sms_text(&arena, body, huge, true);
    ck_assert_msg(strstr(text, "View it") == NULL && strstr(text, "https") == NULL, "%s", text);
    ck_assert_msg(sp_sms_units(text, &gsm) <= SP_SMS_GSM_MAX, "%s", text);
    /* short enough: as it is, link and all */
    ck_assert_str_eq(sp_sms_text(&arena, "Hi.\nView it: https://x.example/1\n",
                                 "https://x.example/1", true),
                     "Hi. View it: https://x.example/1");
}
END_TEST

static Suite *
suite(void)
{
    Suite *s = suite_create("sms");
    TCase *tc = tcase_create("sms");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, gsm_text_is_counted_in_septets);
    tcase_add_test(tc, a_cut_sms_ends_in_three_dots_and_stays_one_segment);
    tcase_add_test(tc, the_link_is_never_cut);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(suite());
}
