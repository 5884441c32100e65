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
    /* a quoted marker takes its block of quotes, and the attribution above */
    ck_assert_str_eq(reply("Yes.\n\n> Hello Zoe,\n>\n> " SP_MAIL_REPLY_MARKER "\n> x\n"), "Yes.");
    ck_assert_str_eq(reply("Yes.\nOn Mon, S wrote:\n> Hi\n> " SP_MAIL_REPLY_MARKER "\nmore\n"),
                     "Yes.");
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
    ck_assert_str_eq(reply("Done.\nFrom: Support <s@x>\nTo: Zoe\nCc: x\nDate: Mon\nSubject: x\n"
                           "\nold\n"),
                     "Done.");
    /* a "From: " line without a header block after it is text */
    ck_assert_str_eq(reply("From: my other address\nit works\n\n\nnow\n"),
                     "From: my other address\nit works\n\n\nnow");
}
END_TEST

START_TEST(signature_is_cut)
{
    ck_assert_str_eq(reply("Thanks\n-- \nZoe Urban\nACME\n"), "Thanks");
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
    /* also below an attribution: the quotes are not all that follows */
    ck_assert_str_eq(reply("On Mon, Support wrote:\n> q1\nanswer\n\n> rest\n"),
                     "On Mon, Support wrote:\n> q1\nanswer\n\n> rest");
}
END_TEST

START_TEST(only_quoted_text_is_empty)
{
    ck_assert_str_eq(reply("> " SP_MAIL_REPLY_MARKER "\n> quoted\n\n>\n"), "");
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

/* QA's data loss: what follows a forward marker is the forwarded mail,
 * content the customer sends us, never history (Gmail, Apple). */
START_TEST(forwarded_mail_is_kept)
{
    const char *gmail = "Please look at the mail from the hotel below...\n"
                        "\n"
                        "---------- Forwarded message ---------\n"
                        "From: Hotel <res@hotel.example>\n"
                        "Date: Mon, 1 Jan 2024 at 10:00\n"
                        "Subject: Cancellation\n"
                        "To: <zoe@example.com>\n"
                        "\n"
                        "Dear guest, your booking HX-99812 was cancelled...";
    ck_assert_str_eq(reply(gmail), gmail);
    const char *apple = "Look:\n"
                        "\n"
                        "Begin forwarded message:\n"
                        "\n"
                        "From: Hotel <res@hotel.example>\n"
                        "Subject: Cancellation\n"
                        "Date: 1 January 2024 at 10:00:00 CET\n"
                        "To: zoe@example.com\n"
                        "\n"
                        "Dear guest, your booking HX-99812 was cancelled...";
    ck_assert_str_eq(reply(apple), apple);
    /* history inside the forwarded mail is part of it */
    const char *nested = "FYI\n"
                         "-------- Forwarded Message --------\n"
                         "Subject: Cancellation\n"
                         "\n"
                         "Sorry.\n"
                         "\n"
                         "On Mon, Zoe <z@x> wrote:\n"
                         "> Is my booking ok?";
    ck_assert_str_eq(reply(nested), nested);
}
END_TEST

/* A cut above a forward drops only what lies between: the signature of
 * the one who forwards, not the forwarded mail. */
START_TEST(cut_above_a_forward_keeps_the_forward)
{
    ck_assert_str_eq(reply("See below\n-- \nZoe\n\n"
                           "---------- Forwarded message ---------\nFrom: Hotel <h@x>\n"
                           "Date: Mon\n\nDear guest\n"),
                     "See below\n\n---------- Forwarded message ---------\nFrom: Hotel <h@x>\n"
                     "Date: Mon\n\nDear guest");
}
END_TEST

/* RFC 3676 §4.3: the separator is "-- " exactly; a bare "--" is text. */
START_TEST(bare_double_dash_is_text)
{
    const char *t = "Steps I took:\n--\nI clicked pay twice.\nThen refund was denied.";
    ck_assert_str_eq(reply(t), t);
}
END_TEST

/* Quoted lines without an attribution above them are the customer's
 * (a pasted log, an error message): they stay. */
START_TEST(quotes_without_attribution_are_kept)
{
    const char *t = "My error output:\n> error 500\n> at checkout";
    ck_assert_str_eq(reply(t), t);
}
END_TEST

/* An attribution-looking line not followed by quoted lines is text. */
START_TEST(attribution_without_quotes_is_text)
{
    const char *t = "Hallo,\nAm Montag schrieb mein Kollege:\nich brauche Hilfe mit Buchung 7.";
    ck_assert_str_eq(reply(t), t);
    const char *en = "Hi,\nOn Monday my colleague wrote:\n\nplease help with booking 7.";
    ck_assert_str_eq(reply(en), en);
}
END_TEST

/* Outlook writes no forward marker: the forwarded mail starts with the
 * header block its replies' history starts with. A reply whose subject
 * says it forwards keeps it (QA: an Outlook forward lost the hotel's
 * mail); another reply still loses its history (outlook_history_is_cut). */
START_TEST(outlook_forward_is_kept_when_the_subject_says_so)
{
    const char *t = "Please see below.\n"
                    "\n"
                    "________________________________\n"
                    "From: Hotel <res@hotel.example>\n"
                    "Sent: Monday, January 1, 2024 10:00 AM\n"
                    "To: Zoe\n"
                    "Subject: Cancellation\n"
                    "\n"
                    "Dear guest, your booking HX-99812 was cancelled...";
    ck_assert_str_eq(sp_mail_reply_cut(&arena, t, SP_MAIL_REPLY_FORWARD), t);
    ck_assert_str_eq(sp_mail_reply_cut(&arena, "FYI\n-----Original Message-----\nFrom: H\n",
                                       SP_MAIL_REPLY_FORWARD),
                     "FYI\n-----Original Message-----\nFrom: H");
    ck_assert_str_eq(sp_mail_reply_cut(&arena, t, SP_MAIL_REPLY), "Please see below.");
    /* the other marks still cut above it */
    ck_assert_str_eq(sp_mail_reply_cut(&arena,
                                       "See\n-- \nZoe\nFrom: H\nSent: Mon\nSubject: S\n\nDear",
                                       SP_MAIL_REPLY_FORWARD),
                     "See\n\nFrom: H\nSent: Mon\nSubject: S\n\nDear");
}
END_TEST

START_TEST(forward_subjects_are_told)
{
    ck_assert(sp_mail_reply_forward_subject("Fwd: Cancellation"));
    ck_assert(sp_mail_reply_forward_subject("  FW: RE: Cancellation"));
    ck_assert(sp_mail_reply_forward_subject("WG: Stornierung"));
    ck_assert(sp_mail_reply_forward_subject("tr:x"));
    ck_assert(!sp_mail_reply_forward_subject("RE: FW: Cancellation [T1]"));
    ck_assert(!sp_mail_reply_forward_subject("Forward: x"));
    ck_assert(!sp_mail_reply_forward_subject("Fwd hotel mail"));
    ck_assert(!sp_mail_reply_forward_subject(""));
    ck_assert(!sp_mail_reply_forward_subject(NULL));
}
END_TEST

/* A new ticket's mail is all the customer's: nothing of it is history
 * we already have. Only the blank lines around it go. */
START_TEST(a_first_mail_is_kept_whole)
{
    const char *t = "Hi\n"
                    "\n"
                    "On Mon, the hotel wrote:\n"
                    "> booking cancelled\n"
                    "-- \n"
                    "Zoe\n"
                    "________________________________\n"
                    "From: Hotel <res@hotel.example>\n"
                    "Sent: Monday\n"
                    "\n"
                    "> " SP_MAIL_REPLY_MARKER;
    ck_assert_str_eq(sp_mail_reply_cut(&arena, t, SP_MAIL_FIRST), t);
    ck_assert_str_eq(sp_mail_reply_cut(&arena, "\n \nHi\n\n", SP_MAIL_FIRST), "Hi");
    ck_assert_str_eq(sp_mail_reply_cut(&arena, NULL, SP_MAIL_FIRST), "");
}
END_TEST

/* The forward markers of other languages and clients. */
START_TEST(forward_markers_of_other_clients_are_kept)
{
    static const char *const markers[] = {
        "-------- Forwarded Message --------", "---------- Weitergeleitete Nachricht ---------",
        "-------- Message transf\xc3\xa9r\xc3\xa9 --------",
        "Anfang der weitergeleiteten Nachricht:",
        "D\xc3\xa9" "but du message r\xc3\xa9" "exp\xc3\xa9" "di\xc3\xa9\xc2\xa0:", NULL};
    for (size_t i = 0; markers[i] != NULL; i++) {
        const char *t = sp_arena_sprintf(&arena, "See\n-- \nZoe\n%s\nFrom: H\nDate: Mon\n\nold",
                                         markers[i]);
        ck_assert_str_eq(reply(t), sp_arena_sprintf(&arena, "See\n\n%s\nFrom: H\nDate: Mon\n\nold",
                                                    markers[i]));
    }
    /* quoted, it is history like the rest of the quote */
    ck_assert_str_eq(reply("Ok\nOn Mon, S wrote:\n> ---------- Forwarded message ---------\n> x\n"),
                     "Ok");
}
END_TEST

/* Outlook's history starts with a header block only: From, then Sent
 * (or Date) and Subject on the lines right after it. A reply's own
 * lines that start "From:" and "Date:" are its text (QA: an itinerary,
 * "From: Berlin / Date: 12 May / To: Paris", lost the rest of the
 * reply). */
START_TEST(a_from_line_of_the_reply_is_not_outlook_history)
{
    const char *trip = "Our trip:\nFrom: Berlin\nDate: 12 May\nTo: Paris\n"
                       "The train was cancelled, please refund it.";
    ck_assert_str_eq(reply(trip), trip);
    const char *sent = "From: my side, the form\nSent: twice, I think.\n\nSubject: refunds";
    ck_assert_str_eq(reply(sent), sent);
    /* the block is cut also without a rule above it, Date as Sent */
    ck_assert_str_eq(reply("Done.\nFrom: Support <s@x>\nDate: Mon\nTo: Zoe\nSubject:\n\nold"),
                     "Done.");
    /* and its fields in another order, Cc among them */
    ck_assert_str_eq(reply("Done.\nFrom: S\nSubject: RE: x\nCc: y\nSent: Mon\n\nold"),
                     "Done.");
    /* a forward's subject: such a block starts the forwarded mail, only such a block */
    ck_assert_str_eq(sp_mail_reply_cut(&arena, trip, SP_MAIL_REPLY_FORWARD), trip);
}
END_TEST

/* The block in the client's language, as the attributions are (QA: a
 * German Outlook's block was kept as the customer's text); its fields all
 * of that language, and a customer's own "Von:" line still text. */
START_TEST(outlook_history_in_other_languages_is_cut)
{
    ck_assert_str_eq(reply("Danke.\n\nVon: Support <s@x>\nGesendet: Montag, 1. Januar 2024\n"
                           "An: Zoe\nBetreff: AW: Erstattung\n\nalt"),
                     "Danke.");
    ck_assert_str_eq(
        reply("Bedankt.\nVan: S\nVerzonden: maandag\nAan: Zoe\nOnderwerp: RE: x\n\nold"),
        "Bedankt.");
    ck_assert_str_eq(reply("Gracias.\nDe: S\nEnviado: lunes\nPara: Zoe\nAsunto: RE: x\n\nold"),
                     "Gracias.");
    ck_assert_str_eq(
        reply("Merci.\nDe : S\nEnvoy\xc3\xa9 : lundi\n\xc3\x80 : Zoe\nObjet : RE: x\n\nold"),
        "Merci.");
    ck_assert_str_eq(reply("Merci.\nDe\xc2\xa0: S\nEnvoy\xc3\xa9\xc2\xa0: lundi\n"
                           "Objet\xc2\xa0: RE: x\n\nold"),
                     "Merci.");
    /* languages mixed are no block; a customer's own lines are text */
    const char *mixed = "Ok\nVon: S\nSent: Mon\nBetreff: x";
    ck_assert_str_eq(reply(mixed), mixed);
    const char *trip = "Unsere Reise:\nVon: Berlin\nNach: Paris\nBitte erstatten.";
    ck_assert_str_eq(reply(trip), trip);
}
END_TEST

/* QA: a reply written below the quoted mail (bottom-posting) bounced as
 * having no text of its own: the quoted marker cut everything after it. */
START_TEST(a_reply_below_the_quoted_mail_is_kept)
{
    const char *quote = "On Mon, 2 Dec 2026 at 10:00, Support <s@x> wrote:\n"
                        "> " SP_MAIL_REPLY_MARKER "\n"
                        "> An agent replied: try again.\n"
                        ">\n"
                        "> -- \n"
                        "> Support\n";
    ck_assert_str_eq(reply(sp_arena_sprintf(&arena, "%s\nIt works now.\nZoe\n", quote)),
                     "It works now.\nZoe");
    /* without the attribution, after blank lines, with CRLF */
    ck_assert_str_eq(reply("\r\n> " SP_MAIL_REPLY_MARKER "\r\n> old\r\n\r\nFine.\r\n"), "Fine.");
    /* its own signature and the rest of our mail quoted after it are cut */
    ck_assert_str_eq(reply(sp_arena_sprintf(&arena, "%s\nThanks.\n-- \nZoe\n", quote)),
                     "Thanks.");
    ck_assert_str_eq(reply("> " SP_MAIL_REPLY_MARKER "\n> Is it on?\nYes.\n> Model?\nLJ4.\n"
                           "> Regards\n> Support\n\n"),
                     "Yes.\n> Model?\nLJ4.");
    /* an attribution in a language we do not know stays, as text in doubt */
    ck_assert_str_eq(reply("Il giorno lun 2 dic 2026, Support ha scritto:\n> "
                           SP_MAIL_REPLY_MARKER "\n> old\n\nGrazie.\n"),
                     "Il giorno lun 2 dic 2026, Support ha scritto:\n\nGrazie.");
    /* below the quote, then a forward: both kept */
    ck_assert_str_eq(reply("> " SP_MAIL_REPLY_MARKER "\n> old\nSee below.\n\n"
                           "---------- Forwarded message ---------\nFrom: a\n\nbooking\n"),
                     "See below.\n\n---------- Forwarded message ---------\nFrom: a\n\nbooking");
    /* only a signature or quotes below: nothing of its own */
    ck_assert_str_eq(reply(sp_arena_sprintf(&arena, "%s\n-- \nZoe\n", quote)), "");
}
END_TEST

/* Top-posting is as before: with text above the quote, what follows the
 * quote (a disclaimer a mail server adds at the bottom) is left out. */
START_TEST(a_reply_above_the_quote_leaves_out_what_follows_it)
{
    ck_assert_str_eq(reply("Fine.\n\nOn Mon, S wrote:\n> " SP_MAIL_REPLY_MARKER "\n> old\n\n"
                           "CONFIDENTIAL: this mail is for its addressee only.\n"),
                     "Fine.");
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
    tcase_add_test(tc, outlook_history_in_other_languages_is_cut);
    tcase_add_test(tc, signature_is_cut);
    tcase_add_test(tc, inline_answers_are_kept);
    tcase_add_test(tc, only_quoted_text_is_empty);
    tcase_add_test(tc, blank_lines_around_are_trimmed);
    tcase_add_test(tc, crlf_input_is_read);
    tcase_add_test(tc, forwarded_mail_is_kept);
    tcase_add_test(tc, cut_above_a_forward_keeps_the_forward);
    tcase_add_test(tc, bare_double_dash_is_text);
    tcase_add_test(tc, quotes_without_attribution_are_kept);
    tcase_add_test(tc, attribution_without_quotes_is_text);
    tcase_add_test(tc, outlook_forward_is_kept_when_the_subject_says_so);
    tcase_add_test(tc, forward_subjects_are_told);
    tcase_add_test(tc, a_first_mail_is_kept_whole);
    tcase_add_test(tc, forward_markers_of_other_clients_are_kept);
    tcase_add_test(tc, a_from_line_of_the_reply_is_not_outlook_history);
    tcase_add_test(tc, a_reply_below_the_quoted_mail_is_kept);
    tcase_add_test(tc, a_reply_above_the_quote_leaves_out_what_follows_it);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(mail_reply_suite());
}
