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
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
