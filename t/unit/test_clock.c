/*
 * test_clock: the one injectable now (src/core/clock.c), and that the log
 * stamps its lines with it.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "unit.h"

START_TEST(real_clock_runs_and_frozen_clock_stands_still)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    int64_t real = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    int64_t now = sp_clock_now_ms();
    ck_assert_int_ge(now, real);
    ck_assert_int_lt(now - real, 1000);
    sp_clock_freeze(1795511702125LL);   /* 2026-11-24T09:15:02.125Z */
    ck_assert_int_eq(sp_clock_now_ms(), 1795511702125LL);
    usleep(20 * 1000);
    ck_assert_int_eq(sp_clock_now_ms(), 1795511702125LL);
    sp_clock_freeze(0);
    ck_assert_int_ge(sp_clock_now_ms(), real);
}
END_TEST

START_TEST(log_lines_carry_the_clocks_now)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    int saved = dup(2);
    dup2(fds[1], 2);
    sp_clock_freeze(1795511702125LL);
    sp_log_msg(SP_LOG_ERROR, "clock_probe", "frozen");
    sp_clock_freeze(0);
    dup2(saved, 2);
    close(saved);
    close(fds[1]);
    char line[1024] = {0};
    ck_assert_int_gt(read(fds[0], line, sizeof(line) - 1), 0);
    close(fds[0]);
    ck_assert_msg(strstr(line, "\"ts\":\"2026-11-24T09:15:02.125Z\"") != NULL, "%s", line);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("clock");
    TCase *tc = tcase_create("now");
    tcase_add_test(tc, real_clock_runs_and_frozen_clock_stands_still);
    tcase_add_test(tc, log_lines_carry_the_clocks_now);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
