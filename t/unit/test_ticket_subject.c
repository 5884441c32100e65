/*
 * test_ticket_subject: a subject is one line of visible plain text
 * (src/domain/ticket_subject.c, docs/API.md §4): blanks around it are
 * trimmed, a blank one is `empty`, controls and line breaks are `invalid`.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "domain/ticket_subject.h"
#include "unit.h"

SP_UNIT_ARENA_FIXTURE(4096)

/* The field error code for s, or NULL when s passes. */
static const char *
refusal(const char *s)
{
    struct sp_problem p;
    sp_problem_init(&p);
    const char *out = sp_ticket_subject(&arena, "subject", s, &p);
    if (out != NULL) {
        ck_assert_uint_eq(p.nerrors, 0);
        return NULL;
    }
    ck_assert_uint_eq(p.nerrors, 1);
    ck_assert_str_eq(p.errors[0].field, "subject");
    return p.errors[0].code;
}

static const char *
kept(const char *s)
{
    struct sp_problem p;
    sp_problem_init(&p);
    const char *out = sp_ticket_subject(&arena, "subject", s, &p);
    ck_assert_msg(out != NULL, "\"%s\" refused: %s", s, p.nerrors ? p.errors[0].code : "?");
    return out;
}

START_TEST(plain_subjects_are_kept_as_they_are)
{
    ck_assert_str_eq(kept("Refund for booking 42"), "Refund for booking 42");
    ck_assert_str_eq(kept("Zürich — ça marche? 日本語"), "Zürich — ça marche? 日本語");
    /* inner blanks stay: only the edges are trimmed */
    ck_assert_str_eq(kept("a  b\u200bc"), "a  b\u200bc");
    ck_assert_str_eq(kept("x"), "x");
}
END_TEST

START_TEST(blanks_around_are_trimmed)
{
    ck_assert_str_eq(kept("  hello  "), "hello");
    ck_assert_str_eq(kept("\u00a0\u3000hello\u2003"), "hello");
    ck_assert_str_eq(kept("\u200b\ufeffhello\u200d\u2060"), "hello");
}
END_TEST

START_TEST(a_subject_with_nothing_visible_is_empty)
{
    static const char *const blank[] = {
        "", " ", "   ", "\u200b\u200b", "\u00a0", "\u3000 \u2009", "\ufeff", "\u2800",
        "\u3164", "\u115f\u1160", "\u00ad", "\u200e\u200f", "\u2061",
        /* the Arabic letter mark, the combining grapheme joiner, a
         * variation selector, tag characters (QA found them kept) */
        "\u061c", "\u034f", "\ufe0f", "\U000E0001\U000E0020", "\U000E0100",
        /* blank as a name is (sp_utf8_blank): Khmer inherent vowels,
         * shorthand format controls, musical format marks */
        "\u17b4\u17b5", "\U0001BCA0", "\U0001D173",
    };
    for (size_t i = 0; i < sizeof(blank) / sizeof(blank[0]); i++) {
        const char *code = refusal(blank[i]);
        ck_assert_msg(code != NULL && strcmp(code, "empty") == 0, "blank #%zu: %s", i,
                      code ? code : "accepted");
    }
}
END_TEST

START_TEST(controls_and_line_breaks_are_invalid)
{
    static const char *const bad[] = {
        "ctl\001", "\033[31mred", "line\r\nX-Injected: 1", "a\nb", "a\rb", "tab\there",
        "del\177", "nel\xc2\x85" "x", "c1\xc2\x9b" "x", "ls\u2028x", "ps\u2029x", " \n ",
        /* QA: a bidi override reversed what staff saw ("Refund exe.txt"
         * and the mail's [ID] tag after it); embeddings and isolates too */
        "Refund \u202etxt.exe", "\u202ehello\u202c", "a\u202ab", "a\u202db", "\u2066x\u2069",
        "x\u2067y", "x\u2068y",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *code = refusal(bad[i]);
        ck_assert_msg(code != NULL && strcmp(code, "invalid") == 0, "bad #%zu: %s", i,
                      code ? code : "accepted");
    }
}
END_TEST

/* A mail's subject is cut to a limit; the cut may fall just after a
 * blank, which goes too (it was kept, ending the subject in a space). */
START_TEST(a_subject_cut_to_its_limit_ends_on_a_visible_character)
{
    char text[512], want[200];
    memset(want, 'a', 199);
    want[199] = '\0';
    snprintf(text, sizeof(text), "%s b\u200b", want);
    ck_assert_str_eq(sp_ticket_subject_of_text(&arena, text, 200), want);
    text[201] = '\0';  /* without the zero-width space: 201 characters */
    ck_assert_str_eq(sp_ticket_subject_of_text(&arena, text, 201), text);
    ck_assert_str_eq(sp_ticket_subject_of_text(&arena, text, 0), text);
    ck_assert_str_eq(sp_ticket_subject_of_text(&arena, "x\u200b\u200by", 2), "x");
    ck_assert_str_eq(sp_ticket_subject_of_text(&arena, " \u00e9t\u00e9\r\nz ", 3), "\u00e9t\u00e9");
    /* a mail's bidi controls are dropped, not refused (nobody typed them) */
    ck_assert_str_eq(sp_ticket_subject_of_text(&arena, "Refund \u202etxt.exe\u202c", 0),
                     "Refund txt.exe");
    ck_assert_str_eq(sp_ticket_subject_of_text(&arena, "\u2067\u200fabc\u2069", 0),
                     "abc");
    ck_assert_str_eq(sp_ticket_subject_of_text(&arena, "a\nb", 0), "a b");
    /* a run of controls, with the spaces around it, is one space (QA: a
     * folded "Ada \r\n Lovelace" was "Ada    Lovelace") */
    ck_assert_str_eq(sp_ticket_subject_of_text(&arena, "Ada \r\n\t Lovelace", 0), "Ada Lovelace");
    ck_assert_str_eq(sp_ticket_subject_of_text(&arena, "a\r\n\u2067b  c", 0), "a b  c");
    ck_assert_ptr_null(sp_ticket_subject_of_text(&arena, "\u200b\r\n ", 200));
}
END_TEST

/* The limit is the stored text's: blanks around never count (QA: three
 * characters with spaces around them were refused at a limit of 3). */
START_TEST(a_limit_counts_the_trimmed_characters)
{
    struct sp_problem p;
    sp_problem_init(&p);
    ck_assert_str_eq(sp_ticket_subject_max(&arena, "subject", " \u00a0\u00e9t\u00e9\u200b ", 3,
                                           &p),
                     "\u00e9t\u00e9");
    ck_assert_uint_eq(p.nerrors, 0);
    ck_assert_ptr_null(sp_ticket_subject_max(&arena, "subject", " abcd ", 3, &p));
    ck_assert_uint_eq(p.nerrors, 1);
    ck_assert_str_eq(p.errors[0].code, "too_long");
    ck_assert_str_eq(p.errors[0].message, "must be at most 3 characters");
    /* the rule's own refusals come first, once */
    sp_problem_init(&p);
    ck_assert_ptr_null(sp_ticket_subject_max(&arena, "subject", "a\nbcdef", 3, &p));
    ck_assert_uint_eq(p.nerrors, 1);
    ck_assert_str_eq(p.errors[0].code, "invalid");
}
END_TEST

static Suite *
ticket_subject_suite(void)
{
    Suite *s = suite_create("ticket_subject");
    TCase *tc = tcase_create("subject");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, plain_subjects_are_kept_as_they_are);
    tcase_add_test(tc, blanks_around_are_trimmed);
    tcase_add_test(tc, a_subject_with_nothing_visible_is_empty);
    tcase_add_test(tc, controls_and_line_breaks_are_invalid);
    tcase_add_test(tc, a_subject_cut_to_its_limit_ends_on_a_visible_character);
    tcase_add_test(tc, a_limit_counts_the_trimmed_characters);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(ticket_subject_suite());
}
