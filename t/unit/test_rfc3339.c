/*
 * test_rfc3339: strict RFC 3339 parsing (src/core/rfc3339.c).
 */
#include <check.h>
#include <stdlib.h>

#include "core/rfc3339.h"
#include "unit.h"

START_TEST(utc_with_milliseconds_is_exact)
{
    int64_t ms;
    ck_assert(sp_rfc3339_parse("2026-11-24T09:15:02.125Z", &ms));
    ck_assert_int_eq(ms, 1795511702125LL);
    ck_assert(sp_rfc3339_parse("1970-01-01T00:00:00Z", &ms));
    ck_assert_int_eq(ms, 0);
}
END_TEST

START_TEST(offsets_move_the_instant)
{
    int64_t utc, plus;
    ck_assert(sp_rfc3339_parse("2026-11-24T10:00:00Z", &utc));
    ck_assert(sp_rfc3339_parse("2026-11-24T12:00:00+02:00", &plus));
    ck_assert_int_eq(utc, plus);
    ck_assert(sp_rfc3339_parse("2026-11-24T05:30:00-04:30", &plus));
    ck_assert_int_eq(utc, plus);
}
END_TEST

START_TEST(leap_day_only_in_leap_years)
{
    int64_t ms;
    ck_assert(sp_rfc3339_parse("2028-02-29T00:00:00Z", &ms));
    ck_assert(!sp_rfc3339_parse("2026-02-29T00:00:00Z", &ms));
    ck_assert(!sp_rfc3339_parse("2100-02-29T00:00:00Z", &ms));
    ck_assert(sp_rfc3339_parse("2000-02-29T00:00:00Z", &ms));
}
END_TEST

START_TEST(malformed_and_impossible_values_are_refused)
{
    static const char *const bad[] = {
        "", "2026-11-24", "2026-11-24T09:15:02", "2026-13-01T00:00:00Z", "2026-04-31T00:00:00Z",
        "2026-11-24T24:00:00Z", "2026-11-24T23:60:00Z", "2026-11-24T23:59:60Z",
        "2026-11-24T09:15:02.Z", "2026-11-24T09:15:02+0200", "0000-01-01T00:00:00Z",
        "2026-11-24T09:15:02Zjunk", "1234567890", "2026-11-24 09:15:02Z",
    };
    int64_t ms;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!sp_rfc3339_parse(bad[i], &ms), "accepted %s", bad[i]);
    ck_assert(!sp_rfc3339_parse(NULL, &ms));
}
END_TEST

/* Years 0001 to 1969 are valid RFC 3339 (QA: 1969-12-31T23:59:59Z was
 * 422 while 9999 was taken): negative instants, exact, that format back
 * to themselves — a time before 1970 keeps its date and counts its
 * milliseconds up from its second, never rounded towards the epoch. */
START_TEST(years_before_1970_are_negative_instants)
{
    static const struct {
        const char *in, *out;
        int64_t ms;
    } cases[] = {
        {"1969-12-31T23:59:59Z", "1969-12-31T23:59:59.000Z", -1000},
        {"1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z", -1},
        {"1969-12-31T23:59:58.5Z", "1969-12-31T23:59:58.500Z", -1500},
        {"1970-01-01T00:00:00+01:00", "1969-12-31T23:00:00.000Z", -3600000},
        {"1900-03-01T00:00:00Z", "1900-03-01T00:00:00.000Z", INT64_C(-2203891200000)},
        {"1600-02-29T12:00:00Z", "1600-02-29T12:00:00.000Z", INT64_C(-11670955200000)},
        {"0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z", SP_RFC3339_MIN_MS},
        {"0001-01-01T00:00:00-00:01", "0001-01-01T00:01:00.000Z", SP_RFC3339_MIN_MS + 60000},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ms;
        ck_assert_msg(sp_rfc3339_parse(cases[i].in, &ms), "refused %s", cases[i].in);
        ck_assert_msg(ms == cases[i].ms, "%s: %lld, want %lld", cases[i].in, (long long)ms,
                      (long long)cases[i].ms);
        char out[SP_RFC3339_LEN];
        sp_rfc3339_format(ms, out);
        ck_assert_str_eq(out, cases[i].out);
    }
    int64_t ms;
    ck_assert(!sp_rfc3339_parse("1900-02-29T00:00:00Z", &ms));
    ck_assert_int_eq(sp_rfc3339_floor_seconds(-1), -1);
    ck_assert_int_eq(sp_rfc3339_floor_seconds(-1000), -1);
    ck_assert_int_eq(sp_rfc3339_floor_seconds(-1001), -2);
    ck_assert_int_eq(sp_rfc3339_floor_seconds(1999), 1);
}
END_TEST

/* An offset may carry the instant past the range the date was checked in
 * (fuzz_rfc3339): into year 0, or into a five-digit year the API's own
 * form cannot write. The edges themselves are fine. */
START_TEST(an_offset_cannot_carry_the_instant_out_of_range)
{
    int64_t ms;
    ck_assert(!sp_rfc3339_parse("0001-01-01T00:00:00+00:01", &ms));
    ck_assert(!sp_rfc3339_parse("0001-01-01T00:59:59.999+01:00", &ms));
    ck_assert(!sp_rfc3339_parse("9999-12-31T23:59:59.999-23:59", &ms));
    ck_assert(!sp_rfc3339_parse("9999-12-31T23:59:59-00:01", &ms));
    ck_assert(sp_rfc3339_parse("1970-01-01T01:00:00+01:00", &ms) && ms == 0);
    ck_assert(sp_rfc3339_parse("9999-12-31T23:59:59.999Z", &ms) && ms == SP_RFC3339_MAX_MS);
    char out[SP_RFC3339_LEN];
    sp_rfc3339_format(ms, out);
    ck_assert_str_eq(out, "9999-12-31T23:59:59.999Z");
}
END_TEST

/* The admin pages and the mails show times as people read them, in UTC
 * to the minute; the offset is applied, 1969 stays 1969, and what the
 * parser refuses gives no text. */
START_TEST(a_time_reads_as_day_month_year_and_utc)
{
    static const char *const cases[][2] = {
        {"2026-12-06T14:05:59.999Z", "6 Dec 2026, 14:05 UTC"},
        {"2026-12-06T14:05:00+01:00", "6 Dec 2026, 13:05 UTC"},
        {"2027-01-01T00:30:00+01:00", "31 Dec 2026, 23:30 UTC"},
        {"1969-12-31T23:59:59.999Z", "31 Dec 1969, 23:59 UTC"},
        {"9999-12-31T23:59:59.999Z", "31 Dec 9999, 23:59 UTC"},
    };
    char out[SP_RFC3339_TEXT_LEN];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_msg(sp_rfc3339_text(cases[i][0], out), "refused %s", cases[i][0]);
        ck_assert_str_eq(out, cases[i][1]);
    }
    ck_assert(!sp_rfc3339_text("2026-02-30T00:00:00Z", out) && out[0] == '\0');
    ck_assert(!sp_rfc3339_text(NULL, out) && out[0] == '\0');
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("rfc3339");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, utc_with_milliseconds_is_exact);
    tcase_add_test(tc, offsets_move_the_instant);
    tcase_add_test(tc, leap_day_only_in_leap_years);
    tcase_add_test(tc, years_before_1970_are_negative_instants);
    tcase_add_test(tc, malformed_and_impossible_values_are_refused);
    tcase_add_test(tc, an_offset_cannot_carry_the_instant_out_of_range);
    tcase_add_test(tc, a_time_reads_as_day_month_year_and_utc);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
