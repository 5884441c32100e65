/*
 * test_backoff: the retry schedules (src/core/backoff.c): outbox deliveries
 * against API.md §11: about 10 s, 30 s, 1 min, 2 min, … capped at 1 h,
 * with ±20 % jitter; the loop daemons' wait for their database, 2 s
 * doubling to 60 s.
 */
#include <check.h>
#include <stdint.h>

#include "core/backoff.h"
#include "unit.h"

#define S INT64_C(1000)
#define MIN (60 * S)

START_TEST(schedule_is_10s_30s_1min_then_doubles)
{
    ck_assert_int_eq(sp_backoff_base_ms(1), 10 * S);
    ck_assert_int_eq(sp_backoff_base_ms(2), 30 * S);
    ck_assert_int_eq(sp_backoff_base_ms(3), 1 * MIN);
    ck_assert_int_eq(sp_backoff_base_ms(4), 2 * MIN);
    ck_assert_int_eq(sp_backoff_base_ms(5), 4 * MIN);
    ck_assert_int_eq(sp_backoff_base_ms(8), 32 * MIN);
}
END_TEST

START_TEST(schedule_is_capped_at_one_hour)
{
    ck_assert_int_eq(sp_backoff_base_ms(9), 60 * MIN);
    ck_assert_int_eq(sp_backoff_base_ms(10), 60 * MIN);
    ck_assert_int_eq(sp_backoff_base_ms(1000000), 60 * MIN);
    ck_assert_int_eq(sp_backoff_base_ms(INT32_MAX), 60 * MIN);
}
END_TEST

START_TEST(no_failure_yet_counts_as_one)
{
    ck_assert_int_eq(sp_backoff_base_ms(0), 10 * S);
    ck_assert_int_eq(sp_backoff_base_ms(-5), 10 * S);
}
END_TEST

START_TEST(jitter_spans_minus_to_plus_twenty_percent)
{
    ck_assert_int_eq(sp_backoff_ms(1, 0.0), 8 * S);
    ck_assert_int_eq(sp_backoff_ms(1, 0.5), 10 * S);
    int64_t top = sp_backoff_ms(1, 0.999999);
    ck_assert(top > 11990 && top < 12 * S);
    ck_assert_int_eq(sp_backoff_ms(3, 0.25), 54 * S);
}
END_TEST

/* The loop daemons' wait for their database: 2 s doubling to 60 s. */
START_TEST(doubling_schedule_doubles_up_to_its_cap)
{
    ck_assert_int_eq(sp_backoff_doubling_ms(1, 2 * S, 60 * S), 2 * S);
    ck_assert_int_eq(sp_backoff_doubling_ms(2, 2 * S, 60 * S), 4 * S);
    ck_assert_int_eq(sp_backoff_doubling_ms(3, 2 * S, 60 * S), 8 * S);
    ck_assert_int_eq(sp_backoff_doubling_ms(5, 2 * S, 60 * S), 32 * S);
    ck_assert_int_eq(sp_backoff_doubling_ms(6, 2 * S, 60 * S), 60 * S);
    ck_assert_int_eq(sp_backoff_doubling_ms(INT32_MAX, 2 * S, 60 * S), 60 * S);
    ck_assert_int_eq(sp_backoff_doubling_ms(0, 2 * S, 60 * S), 2 * S);
    ck_assert_int_eq(sp_backoff_doubling_ms(-1, 2 * S, 60 * S), 2 * S);
}
END_TEST

START_TEST(jitter_out_of_range_is_clamped)
{
    ck_assert_int_eq(sp_backoff_ms(1, -3.0), 8 * S);
    ck_assert(sp_backoff_ms(1, 7.0) < 12 * S);
    ck_assert_int_eq(sp_backoff_ms(1, 0.0 / 0.0), 8 * S);
    ck_assert(sp_backoff_ms(50, 1.0) < 72 * MIN);
}
END_TEST

START_TEST(every_delay_grows_or_stays)
{
    for (int f = 1; f < 40; f++)
        ck_assert(sp_backoff_base_ms(f + 1) >= sp_backoff_base_ms(f));
}
END_TEST

static Suite *
suite(void)
{
    Suite *s = suite_create("backoff");
    TCase *tc = tcase_create("schedule");
    tcase_add_test(tc, schedule_is_10s_30s_1min_then_doubles);
    tcase_add_test(tc, schedule_is_capped_at_one_hour);
    tcase_add_test(tc, no_failure_yet_counts_as_one);
    tcase_add_test(tc, jitter_spans_minus_to_plus_twenty_percent);
    tcase_add_test(tc, jitter_out_of_range_is_clamped);
    tcase_add_test(tc, every_delay_grows_or_stays);
    tcase_add_test(tc, doubling_schedule_doubles_up_to_its_cap);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(suite());
}
