/*
 * test_ascii: C-locale whitespace (src/core/ascii.c): the six bytes
 * isspace() accepts and no other (a byte above 0x7f is never one),
 * trimming both ends, and "only these bytes".
 */
#include <check.h>
#include <ctype.h>
#include <locale.h>
#include <stdbool.h>
#include <string.h>

#include "core/ascii.h"
#include "unit.h"

START_TEST(space_is_isspace_in_the_c_locale_for_every_byte)
{
    setlocale(LC_ALL, "C");
    for (int c = 0; c < 256; c++) {
        bool want = isspace(c) != 0;
        ck_assert_msg(sp_ascii_space((char)c) == want, "byte 0x%02x", c);
        ck_assert_msg((strchr(SP_ASCII_SPACE, c) != NULL && c != 0) == want, "list 0x%02x", c);
    }
}
END_TEST

static const char *
trimmed(const char *s)
{
    static char out[64];
    const char *b = s, *e = s + strlen(s);
    sp_ascii_trim(&b, &e);
    ck_assert(b <= e);
    memcpy(out, b, (size_t)(e - b));
    out[e - b] = '\0';
    return out;
}

START_TEST(trim_narrows_both_ends_only)
{
    ck_assert_str_eq(trimmed(" \t\r\n\v\fkey: a b \f\v\n"), "key: a b");
    ck_assert_str_eq(trimmed("inner  space"), "inner  space");
    ck_assert_str_eq(trimmed(" \t \n"), "");
    ck_assert_str_eq(trimmed(""), "");
    ck_assert_str_eq(trimmed("\xc2\xa0x\xc2\xa0"), "\xc2\xa0x\xc2\xa0");  /* not ASCII space */
}
END_TEST

START_TEST(only_accepts_runs_of_the_set)
{
    ck_assert(sp_ascii_only(" \t ", 3, " \t"));
    ck_assert(sp_ascii_only("", 0, " "));
    ck_assert(!sp_ascii_only(" x ", 3, " \t"));
    ck_assert(!sp_ascii_only(" \f", 2, " \t\r\n"));   /* markdown's blank has no \f */
    ck_assert(!sp_ascii_only(" \0 ", 3, " "));         /* a NUL is never in the set */
    ck_assert(sp_ascii_only("\r\n", 2, SP_ASCII_SPACE));
}
END_TEST

/* Words of a-z and 0-9 joined by single '-' (QA: "-", "ab--c-" were
 * taken as slugs). */
START_TEST(slug_is_words_joined_by_single_hyphens)
{
    static const char *const ok[] = {"a", "a-b", "a1-b2-c3", "404"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        ck_assert_msg(sp_ascii_slug(ok[i], 8), "%s", ok[i]);
    static const char *const bad[] = {"", "-", "-a", "a-", "ab--c-", "a--b", "A", "a b", "a_b",
                                      "\xc3\xa9", "abcdefghi"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!sp_ascii_slug(bad[i], 8), "%s", bad[i]);
    char s[] = "Mixed-CASE \xc3\x89";
    ck_assert_str_eq(sp_ascii_lower(s), "mixed-case \xc3\x89");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("ascii");
    TCase *tc = tcase_create("ascii");
    tcase_add_test(tc, space_is_isspace_in_the_c_locale_for_every_byte);
    tcase_add_test(tc, trim_narrows_both_ends_only);
    tcase_add_test(tc, only_accepts_runs_of_the_set);
    tcase_add_test(tc, slug_is_words_joined_by_single_hyphens);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
