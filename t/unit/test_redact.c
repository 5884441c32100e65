/*
 * test_redact: PII out of AI questions (src/core/redact.c) — e-mail
 * addresses, card numbers and phone numbers in their usual spellings,
 * and what must stay (dates, short numbers, prices, versions).
 */
#include <check.h>
#include <string.h>

#include "core/arena.h"
#include "core/redact.h"
#include "unit.h"

SP_UNIT_ARENA_FIXTURE(4096)

static const char *
redact(const char *s, size_t expect_count)
{
    size_t n;
    const char *out = sp_redact(&arena, s, strlen(s), &n);
    ck_assert_msg(n == expect_count, "%s -> %s: %zu replaced", s, out, n);
    return out;
}

START_TEST(emails_are_redacted)
{
    ck_assert_str_eq(redact("mail jane.doe+tag@mail.example.co.uk now", 1), "mail [email] now");
    ck_assert_str_eq(redact("<a@b.io>, (x_y@z.org).", 2), "<[email]>, ([email]).");
    /* Not addresses: no domain, one label, a numeric TLD. */
    ck_assert_str_eq(redact("@user a@b user@localhost me@1.2", 0),
                     "@user a@b user@localhost me@1.2");
}
END_TEST

START_TEST(card_numbers_are_redacted)
{
    ck_assert_str_eq(redact("card 4111 1111 1111 1111 expired", 1), "card [card] expired");
    ck_assert_str_eq(redact("4111-1111-1111-1111", 1), "[card]");
    ck_assert_str_eq(redact("pan:5500005555555559.", 1), "pan:[card].");
    /* A card and a phone back to back: one run too long for either. */
    ck_assert_str_eq(redact("4111 1111 1111 1111 555 123 4567!", 1), "[number]!");
}
END_TEST

START_TEST(phone_numbers_are_redacted)
{
    ck_assert_str_eq(redact("call +44 20 7946 0958 today", 1), "call [phone] today");
    ck_assert_str_eq(redact("(555) 123-4567", 1), "[phone]");
    ck_assert_str_eq(redact("555.123.4567 or +1-555-0100", 2), "[phone] or [phone]");
}
END_TEST

START_TEST(ordinary_numbers_stay)
{
    const char *s = "On 2024-05-01 I paid 129.99 for order 12345 (v2.4.1), room 12";
    ck_assert_str_eq(redact(s, 0), s);
    ck_assert_str_eq(redact("abc5551234567", 0), "abc5551234567");
    ck_assert_str_eq(redact("5551234567abc", 1), "[phone]abc");
    ck_assert_str_eq(redact("", 0), "");
}
END_TEST

/* Unicode spaces and dashes between the groups of a number, full-width
 * digits, and '/' or '_' as group separators hide nothing (API.md §9). */
START_TEST(unicode_and_other_separators_do_not_hide_numbers)
{
    static const char *const cards[] = {
        "4111\u00a01111\u00a01111\u00a01111",           /* no-break space */
        "4111\u20071111\u20071111\u20071111",           /* figure space */
        "4111\u202f1111\u202f1111\u202f1111",           /* narrow no-break space */
        "4111\u20101111\u20101111\u20101111",           /* hyphen */
        "4111\u20111111\u20111111\u20111111",           /* non-breaking hyphen */
        "4111\u20121111\u20121111\u20121111",           /* figure dash */
        "4111\u20131111\u20131111\u20131111",           /* en dash */
        "4111\u20141111\u20141111\u20141111",           /* em dash */
        "4111\u30001111\u30001111\u30001111",           /* ideographic space */
        "\uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 1111 1111", /* full-width */
        "4111/1111/1111/1111", "4111_1111_1111_1111",
        "4111\u200b1111\u200b1111\u200b1111",           /* zero-width space */
        "4111\u2060\u00a01111\u00ad1111\ufeff-1111",   /* word joiner, soft hyphen, BOM */
        "4111\u00a0\u00a01111\u2013\u20131111 \u00a01111", /* two in a row */
        "4111 \u200b1111-\u2060\u00a01111\u20131111",    /* invisible after a separator */
    };
    for (size_t i = 0; i < sizeof(cards) / sizeof(cards[0]); i++) {
        const char *in = sp_arena_sprintf(&arena, "card %s expired", cards[i]);
        ck_assert_str_eq(redact(in, 1), "card [card] expired");
    }
    ck_assert_str_eq(redact("call +1\u00a0415\u00a0555\u00a00100 now", 1), "call [phone] now");
    ck_assert_str_eq(redact("(555)\u00a0123\u2013" "4567", 1), "[phone]");
    ck_assert_str_eq(redact("\uff0b\uff14\uff14 20 7946 0958", 1), "[phone]");
    ck_assert_str_eq(redact("+44\u200d20\u200c7946\u20620958", 1), "[phone]");
}
END_TEST

START_TEST(quoted_and_full_width_addresses_are_redacted)
{
    ck_assert_str_eq(redact("mail \"jo doe\"@example.com now", 1), "mail [email] now");
    ck_assert_str_eq(redact("(\"a@b\"@mail.example.org)", 1), "([email])");
    ck_assert_str_eq(redact("\"[jo] doe\"@example.com, \"[email]x\"@example.com", 1),
                     "[email], \"[email]x\"@example.com");
    /* A quoted address swallowed by another leaves no address behind. */
    ck_assert_str_eq(redact("\"\"a\"@b.com\"@c.com", 1), "\"[email]\"@c.com");
    ck_assert_str_eq(redact("\uff4a\uff4f\uff20\uff45\uff58.com", 1), "[email]");
    /* Quotes that make no address stay. */
    const char *s = "she said \"hi\" @ 10, \"\"@example.com and \"x\"y@example";
    ck_assert_str_eq(redact(s, 0), s);
}
END_TEST

/* Ordinary text is not redacted. What is sent and stored is normalised:
 * a Unicode space or dash right after a digit is ASCII, full-width forms
 * are ASCII; prose keeps its own dashes and spaces. */
START_TEST(ordinary_unicode_text_stays)
{
    ck_assert_str_eq(redact("On 2026\u201312\u201304 \u2014 at 10:30 \u2014 I paid"
                            " 129.99\u00a0\u20ac for order 12345; 2026/12/04 or 04/12/2026,"
                            " 1/2 cup, ref_2026_12_04, 12_345", 0),
                     "On 2026-12-04 \u2014 at 10:30 \u2014 I paid 129.99 \u20ac for order"
                     " 12345; 2026/12/04 or 04/12/2026, 1/2 cup, ref_2026_12_04, 12_345");
    ck_assert_str_eq(redact("word\u00a0word\u2014word", 0), "word\u00a0word\u2014word");
    ck_assert_str_eq(redact("room \uff11\uff12\uff08\uff41\uff09, 4111\u00a01111", 0),
                     "room 12(a), 4111 1111");
    /* invisible characters in words stay (a joiner shapes an emoji) */
    ck_assert_str_eq(redact("co\u00adop \U0001F469\u200d\U0001F4BB", 0),
                     "co\u00adop \U0001F469\u200d\U0001F4BB");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("redact");
    TCase *tc = tcase_create("redact");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, emails_are_redacted);
    tcase_add_test(tc, card_numbers_are_redacted);
    tcase_add_test(tc, phone_numbers_are_redacted);
    tcase_add_test(tc, ordinary_numbers_stay);
    tcase_add_test(tc, unicode_and_other_separators_do_not_hide_numbers);
    tcase_add_test(tc, quoted_and_full_width_addresses_are_redacted);
    tcase_add_test(tc, ordinary_unicode_text_stays);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
