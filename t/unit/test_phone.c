/*
 * test_phone: E.164 numbers from what people write (src/core/phone.c):
 * the usual spellings normalised, everything a gateway should not get
 * refused.
 */
#include <check.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/phone.h"
#include "unit.h"

static struct sp_arena arena;

static void
setup(void)
{
    sp_arena_init(&arena, 1024);
}

static void
teardown(void)
{
    sp_arena_destroy(&arena);
}

START_TEST(written_numbers_become_e164)
{
    static const char *const cases[][2] = {
        {"+442079460018", "+442079460018"},
        {"+44 20 7946 0018", "+442079460018"},
        {"+1 (555) 123-4567", "+15551234567"},
        {"+1.555.123.4567", "+15551234567"},
        {"  +49 30 123456 \t", "+4930123456"},
        {"0044 20 7946 0018", "+442079460018"},
        {"+12345678", "+12345678"},
        {"+123456789012345", "+123456789012345"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = sp_phone_e164(&arena, cases[i][0]);
        ck_assert_msg(got != NULL, "%s refused", cases[i][0]);
        ck_assert_str_eq(got, cases[i][1]);
    }
}
END_TEST

START_TEST(anything_else_is_no_number)
{
    static const char *const cases[] = {
        "", " ", "+", "00", "020 7946 0018", "442079460018", "+1555\r\n0000",
        "+1555\n1234567", "not-a-phone; rm -rf", "+44 20 7946 0018 x12", "+1234567",
        "+1234567890123456", "+0442079460018", "000442079460018", "++442079460018",
        "+44/20/7946/0018", "+44 20 7946 0018\x7f", "+44\xc2\xa0" "2079460018",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(sp_phone_e164(&arena, cases[i]) == NULL, "%s accepted", cases[i]);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("phone");
    TCase *tc = tcase_create("e164");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, written_numbers_become_e164);
    tcase_add_test(tc, anything_else_is_no_number);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
