/*
 * test_mail_reply: the new text of a reply (src/core/mail_reply.c): where
 * each client's quoted history starts, what of the reply is kept (inline
 * answers), and the trimming around it.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/mail_reply.h"
#include "unit.h"

SP_UNIT_ARENA_FIXTURE(4096)

static const char *
reply(const char *text)
{
    return sp_mail_reply_text(&arena, text);
}

START_TEST(gmail_attribution_and_quotes_are_cut)
{
    ck_assert_str_eq(reply("Thanks, that fixed it.\n"
                           "\n"
                           "On Mon, 1 Jan 2024 at 10:00, Support <s@x> wrote:\n"
                           "> Please restart the printer.\n"
                           ">\n"
                           "> Regards\n"),
                     "Thanks, that fixed it.");
}
END_TEST

START_TEST(attribution_wrapped_over_two_lines_is_cut)
{
    ck_assert_str_eq(reply("Thanks!\n"
                           "\n"
                           "On Mon, 1 Jan 2024 at 10:00, Support Team of Example Inc <\n"
                           "support@example.com> wrote:\n"
                           "\n"
                           "> old\n"),
                     "Thanks!");
    /* a sentence that starts like one is kept */
    ck_assert_str_eq(reply("On Monday the printer broke.\nIt still is."),
                     "On Monday the printer broke.\nIt still is.");
}
END_TEST

START_TEST(our_marker_is_cut_also_when_quoted)
{
    ck_assert_str_eq(reply("Yes please.\n\n" SP_MAIL_REPLY_MARKER "\nTicket #42 ..."),
                     "Yes please.");
    ck_assert_str_eq(reply("Yes please.\n> " SP_MAIL_REPLY_MARKER "\n> Ticket #42 ...\n"
                           "and more text below\n"),
                     "Yes please.");
}
END_TEST

START_TEST(other_languages_are_cut)
{
    ck_assert_str_eq(reply("Danke.\n\nAm Mo., 1. Jan. 2024 um 10:00 Uhr schrieb Support "
                           "<s@x>:\n> alt\n"),
                     "Danke.");
    ck_assert_str_eq(reply("Merci.\n\nLe lun. 1 janv. 2024 à 10:00, Support <s@x> a écrit :\n"
                           "> ancien\n"),
                     "Merci.");
    ck_assert_str_eq(reply("Merci.\nLe 01/01/2024 à 10:00, Support a écrit\xc2\xa0:\n> x\n"),
                     "Merci.");
    ck_assert_str_eq(reply("Gracias.\nEl lun, 1 ene 2024 a las 10:00, Support (<s@x>) "
                           "escribió:\n> viejo\n"),
                     "Gracias.");
    ck_assert_str_eq(reply("Bedankt.\nOp ma 1 jan. 2024 om 10:00 schreef Support <s@x>:\n> oud\n"),
                     "Bedankt.");
}
END_TEST

START_TEST(outlook_history_is_cut)
{
    ck_assert_str_eq(reply("Done.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\n"),
                     "Done.");
    ck_assert_str_eq(reply("Done.\n\n________________________________\n"
                           "From: Support <s@x>\n"
                           "Sent: Monday, January 1, 2024 10:00 AM\n"
                           "To: Zoe\n"
                           "Subject: RE: printer\n"
                           "\nold text\n"),
                     "Done.");
    ck_assert_str_eq(reply("Done.\nFrom: Support <s@x>\nTo: Zoe\nCc: x\nDate: Mon\n\nold\n"),
                     "Done.");
    /* a "From: " line without a header block after it is text */
    ck_assert_str_eq(reply("From: my other address\nit works\n\n\nnow\n"),
                     "From: my other address\nit works\n\n\nnow");
}
END_TEST

START_TEST(signature_is_cut)
{
    ck_assert_str_eq(reply("Thanks\n-- \nZoe Urban\nACME\n"), "Thanks");
    ck_assert_str_eq(reply("Thanks\n--\nZoe\n"), "Thanks");
    ck_assert_str_eq(reply("Thanks\n--- not a signature\n"), "Thanks\n--- not a signature");
}
END_TEST

START_TEST(inline_answers_are_kept)
{
    const char *t = "> Is the printer on?\n"
                    "Yes.\n"
                    "\n"
                    "> Which model?\n"
                    "LaserJet 4.\n";
    ck_assert_str_eq(reply(t), "> Is the printer on?\nYes.\n\n> Which model?\nLaserJet 4.");
    /* the quotes after the last answer are history */
    ck_assert_str_eq(reply("> q1\nanswer\n\n> rest\n>\n> of it\n"), "> q1\nanswer");
}
END_TEST

START_TEST(only_quoted_text_is_empty)
{
    ck_assert_str_eq(reply("> all\n> quoted\n\n>\n"), "");
    ck_assert_str_eq(reply("\n\n  \n"), "");
    ck_assert_str_eq(reply(""), "");
    ck_assert_str_eq(reply(NULL), "");
    ck_assert_str_eq(reply("On Mon, Support wrote:\n> x\n"), "");
}
END_TEST

START_TEST(blank_lines_around_are_trimmed)
{
    ck_assert_str_eq(reply("\n \n\tHello\n\n  world  \n\n \t\n"), "\tHello\n\n  world  ");
}
END_TEST

START_TEST(crlf_input_is_read)
{
    ck_assert_str_eq(reply("\r\nLine one\r\nLine two\r\n\r\n-- \r\nsig\r\n"),
                     "Line one\nLine two");
    ck_assert_str_eq(reply("Ok\r\nOn Mon, X wrote:\r\n> y\r\n"), "Ok");
}
END_TEST

static Suite *
mail_reply_suite(void)
{
    Suite *s = suite_create("mail_reply");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, gmail_attribution_and_quotes_are_cut);
    tcase_add_test(tc, attribution_wrapped_over_two_lines_is_cut);
    tcase_add_test(tc, our_marker_is_cut_also_when_quoted);
    tcase_add_test(tc, other_languages_are_cut);
    tcase_add_test(tc, outlook_history_is_cut);
    tcase_add_test(tc, signature_is_cut);
    tcase_add_test(tc, inline_answers_are_kept);
    tcase_add_test(tc, only_quoted_text_is_empty);
    tcase_add_test(tc, blank_lines_around_are_trimmed);
    tcase_add_test(tc, crlf_input_is_read);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(mail_reply_suite());
}
