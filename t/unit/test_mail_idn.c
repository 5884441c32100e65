/*
 * test_mail_idn: an internationalized address's ASCII form, which a mail
 * is sent to, and its canonical form, which addresses are compared in
 * (src/core/mail_idn.c).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/mail_idn.h"
#include "core/mime.h"
#include "unit.h"

SP_UNIT_ARENA_FIXTURE(4096)

START_TEST(an_ascii_address_is_sent_to_as_it_is)
{
    const char *addr = "Bob.Smith+x@Example.COM";
    ck_assert_ptr_eq(sp_mail_addr_ascii(&arena, addr), addr);
    ck_assert_str_eq(sp_mail_addr_ascii(&arena, "a@xn--bcher-kva.example"),
                     "a@xn--bcher-kva.example");
    /* what sp_mail_addr_valid refuses stays refused */
    ck_assert_ptr_null(sp_mail_addr_ascii(&arena, "a b@example.com"));
    ck_assert_ptr_null(sp_mail_addr_ascii(&arena, "nobody"));
    ck_assert_ptr_null(sp_mail_addr_ascii(&arena, NULL));
}
END_TEST

START_TEST(an_idn_domain_is_sent_to_as_its_a_label)
{
    ck_assert_str_eq(sp_mail_addr_ascii(&arena, "juergen@bücher.example"),
                     "juergen@xn--bcher-kva.example");
    /* the local part keeps its case (only its domain is the mail system's) */
    ck_assert_str_eq(sp_mail_addr_ascii(&arena, "Juergen@BÜCHER.Example"),
                     "Juergen@xn--bcher-kva.example");
    /* UTS #46 non-transitional: ß stays ß, it is not "ss" */
    ck_assert_str_eq(sp_mail_addr_ascii(&arena, "info@straße.example"),
                     "info@xn--strae-oqa.example");
    ck_assert_str_eq(sp_mail_addr_ascii(&arena, "x@例え.jp"), "x@xn--r8jz45g.jp");
    const char *out = sp_mail_addr_ascii(&arena, "a@ｂücher．example");   /* fullwidth */
    ck_assert_str_eq(out, "a@xn--bcher-kva.example");
    ck_assert(sp_mail_addr_valid(out));
}
END_TEST

START_TEST(an_address_without_an_ascii_form_is_refused)
{
    /* a non-ASCII local part needs SMTPUTF8 */
    ck_assert_ptr_null(sp_mail_addr_ascii(&arena, "jürgen@bücher.example"));
    ck_assert_ptr_null(sp_mail_addr_ascii(&arena, "jürgen@example.com"));
    /* no IDNA name: a leading hyphen, a bare non-ASCII string */
    ck_assert_ptr_null(sp_mail_addr_ascii(&arena, "a@-bücher.example"));
    ck_assert_ptr_null(sp_mail_addr_ascii(&arena, "bücher.example"));
    /* what the A-label makes too long for a path (254) */
    char long_addr[300];   /* 250 bytes typed, 259 as sent */
    memset(long_addr, 'a', 230);
    strcpy(long_addr + 230, "@ü.bücher.example");
    ck_assert_ptr_null(sp_mail_addr_ascii(&arena, long_addr));
    /* nor one that would break a header */
    ck_assert_ptr_null(sp_mail_addr_ascii(&arena, "a<b@bücher.example"));
}
END_TEST

START_TEST(an_ascii_address_is_compared_lower_cased_as_always)
{
    ck_assert_str_eq(sp_mail_addr_canonical(&arena, " \tAlice@Example.COM\r\n"),
                     "alice@example.com");
    ck_assert_str_eq(sp_mail_addr_canonical(&arena, "A@XN--BCHER-KVA.EXAMPLE"),
                     "a@xn--bcher-kva.example");
    ck_assert_str_eq(sp_mail_addr_canonical(&arena, "not an address"), "not an address");
    ck_assert_ptr_null(sp_mail_addr_canonical(&arena, "  "));
    ck_assert_ptr_null(sp_mail_addr_canonical(&arena, NULL));
}
END_TEST

START_TEST(an_idn_address_is_compared_folded_with_its_a_label)
{
    const char *forms[] = {
        "jürgen@bücher.example", "JÜRGEN@BÜCHER.EXAMPLE", "  Jürgen@xn--bcher-kva.example ",
        "jürgen@XN--BCHER-KVA.EXAMPLE", "ju\xcc\x88rgen@bu\xcc\x88""cher.example", /* NFD */
    };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
        ck_assert_str_eq(sp_mail_addr_canonical(&arena, forms[i]),
                         "jürgen@xn--bcher-kva.example");
    /* an ASCII local part of an IDN domain: as it is sent to, lower case */
    ck_assert_str_eq(sp_mail_addr_canonical(&arena, "Juergen@Bücher.example"),
                     "juergen@xn--bcher-kva.example");
    /* full case folding: ß is ss, final sigma is sigma */
    ck_assert_str_eq(sp_mail_addr_canonical(&arena, "Straße@example.com"),
                     "strasse@example.com");
    ck_assert_str_eq(sp_mail_addr_canonical(&arena, "ΟΔΟΣ@example.com"),
                     sp_mail_addr_canonical(&arena, "οδος@example.com"));
}
END_TEST

START_TEST(what_cannot_be_canonical_is_compared_as_before)
{
    const char *cases[] = {"JÜRGEN@-bad.example", "J\xffRGEN@bücher.example", "JÜRGEN"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_str_eq(sp_mail_addr_canonical(&arena, cases[i]),
                         sp_mail_addr_ascii_folded(&arena, cases[i]));
    ck_assert_str_eq(sp_mail_addr_ascii_folded(&arena, " JÜRGEN@BÜCHER.EXAMPLE "),
                     "jÜrgen@bÜcher.example");
}
END_TEST

START_TEST(a_domain_is_compared_as_its_a_label)
{
    ck_assert_str_eq(sp_mail_domain_canonical(&arena, "BÜCHER.Example"), "xn--bcher-kva.example");
    ck_assert_str_eq(sp_mail_domain_canonical(&arena, "XN--BCHER-KVA.example"),
                     "xn--bcher-kva.example");
    ck_assert_str_eq(sp_mail_domain_canonical(&arena, "bücher.example."),
                     "xn--bcher-kva.example.");
    ck_assert_str_eq(sp_mail_domain_canonical(&arena, "Mail.Example.COM"), "mail.example.com");
    /* no IDNA name: as written, lower-cased in ASCII alone */
    ck_assert_str_eq(sp_mail_domain_canonical(&arena, "-BÜCHER.example"), "-bÜcher.example");
    ck_assert_str_eq(sp_mail_domain_canonical(&arena, ""), "");
    ck_assert_ptr_null(sp_mail_domain_canonical(&arena, NULL));
}
END_TEST

START_TEST(a_domain_is_written_in_unicode_as_its_u_labels)
{
    const char *forms[] = {"xn--bcher-kva.example", "XN--BCHER-KVA.EXAMPLE", "BÜCHER.Example",
                           "bu\xcc\x88""cher.example" /* NFD */, "bücher.example"};
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
        ck_assert_str_eq(sp_mail_domain_unicode(&arena, forms[i]), "bücher.example");
    ck_assert_str_eq(sp_mail_domain_unicode(&arena, "xn--bcher-kva.xn--p1ai"), "bücher.рф");
    ck_assert_str_eq(sp_mail_domain_unicode(&arena, "xn--strae-oqa.example."), "straße.example.");
    ck_assert_str_eq(sp_mail_domain_unicode(&arena, "Mail.Example.COM"), "mail.example.com");
    /* no IDNA name: a leading hyphen, an A-label that decodes to none */
    ck_assert_ptr_null(sp_mail_domain_unicode(&arena, "-BÜCHER.example"));
    ck_assert_ptr_null(sp_mail_domain_unicode(&arena, "xn--zz.example"));
    ck_assert_ptr_null(sp_mail_domain_unicode(&arena, NULL));
}
END_TEST

/* The forms of addr a lookup tries, as one string ("a|b"), and how many. */
static const char *
lookup_forms(const char *addr, size_t *n)
{
    const char *f[SP_MAIL_ADDR_FORMS];
    *n = sp_mail_addr_lookup_forms(&arena, addr, f);
    const char *out = "";
    for (size_t i = 0; i < *n; i++)
        out = sp_arena_sprintf(&arena, "%s%s%s", out, i ? "|" : "", f[i]);
    return out;
}

/* An index stored before the canonical form is over the address as the
 * customer's token gave it (ASCII-lower-cased): the domain in its
 * Unicode form, or its xn-- form, which for an ASCII local part is the
 * canonical form already. A lookup tries each, once. */
/* QA: "x@example.com." was sent as RCPT TO with the dot (strict relays
 * refuse it) and stored apart from x@example.com, so mail from it was
 * unknown_sender: the root dot is dropped when sending and comparing. */
START_TEST(a_trailing_root_dot_is_dropped)
{
    ck_assert_str_eq(sp_mail_addr_ascii(&arena, "Bob@Example.COM."), "Bob@Example.COM");
    ck_assert_str_eq(sp_mail_addr_ascii(&arena, "jo@bücher.example."),
                     "jo@xn--bcher-kva.example");
    ck_assert_str_eq(sp_mail_addr_canonical(&arena, " Bob@Example.COM. "), "bob@example.com");
    ck_assert_str_eq(sp_mail_addr_canonical(&arena, "JÜRGEN@BÜCHER.example."),
                     "jürgen@xn--bcher-kva.example");
    /* a domain of a dot alone is no domain to drop it from */
    ck_assert_str_eq(sp_mail_addr_canonical(&arena, "bob@."), "bob@.");
}
END_TEST

START_TEST(a_lookup_tries_the_forms_an_older_index_may_be_over)
{
    const struct {
        const char *addr, *forms;
        size_t n;
    } cases[] = {
        /* a bounce names the xn-- form; the contact was stored in Unicode */
        /* (each then the canonical form with a root dot, as stored before
         * the dot was dropped, while there is room) */
        {"Zoe@XN--BCHER-KVA.example",
         "zoe@xn--bcher-kva.example|zoe@bücher.example|zoe@xn--bcher-kva.example.", 3},
        {"zoe@bücher.example",
         "zoe@xn--bcher-kva.example|zoe@bücher.example|zoe@xn--bcher-kva.example.", 3},
        {"zoe@BÜCHER.example",
         "zoe@xn--bcher-kva.example|zoe@bÜcher.example|zoe@bücher.example"
         "|zoe@xn--bcher-kva.example.", 4},
        /* a non-ASCII local part keeps its case in the older forms */
        {"JÜRGEN@BÜCHER.EXAMPLE",
         "jürgen@xn--bcher-kva.example|jÜrgen@bÜcher.example|jÜrgen@bücher.example"
         "|jÜrgen@xn--bcher-kva.example", 4},
        {"jürgen@xn--bcher-kva.example",
         "jürgen@xn--bcher-kva.example|jürgen@bücher.example|jürgen@xn--bcher-kva.example.", 3},
        /* no IDNA domain: the canonical form, or the one it falls back to */
        {" Alice@Example.COM ", "alice@example.com|alice@example.com.", 2},
        {"JÜRGEN@example.com", "jürgen@example.com|jÜrgen@example.com|jürgen@example.com.", 3},
        {"JÜRGEN@-bad.example", "jÜrgen@-bad.example|jÜrgen@-bad.example.", 2},
        /* QA: a trailing root dot: canonical without it, as written too */
        {"Alice@Example.COM.", "alice@example.com|alice@example.com.", 2},
        {"JÜRGEN", "jÜrgen", 1},
        {" ", "", 0},
        {NULL, "", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = 0;
        ck_assert_str_eq(lookup_forms(cases[i].addr, &n), cases[i].forms);
        ck_assert_uint_eq(n, cases[i].n);
    }
}
END_TEST

static Suite *
suite(void)
{
    Suite *s = suite_create("mail_idn");
    TCase *tc = tcase_create("ascii");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, an_ascii_address_is_sent_to_as_it_is);
    tcase_add_test(tc, an_idn_domain_is_sent_to_as_its_a_label);
    tcase_add_test(tc, an_address_without_an_ascii_form_is_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("canonical");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, an_ascii_address_is_compared_lower_cased_as_always);
    tcase_add_test(tc, an_idn_address_is_compared_folded_with_its_a_label);
    tcase_add_test(tc, what_cannot_be_canonical_is_compared_as_before);
    tcase_add_test(tc, a_domain_is_compared_as_its_a_label);
    tcase_add_test(tc, a_domain_is_written_in_unicode_as_its_u_labels);
    tcase_add_test(tc, a_lookup_tries_the_forms_an_older_index_may_be_over);
    tcase_add_test(tc, a_trailing_root_dot_is_dropped);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(suite());
}
