/*
 * test_sla: the SLA arithmetic (src/domain/sla.c) against API.md §5.2 and
 * the choices written down in sla.h. Fixed clocks only: T0 is the ticket's
 * creation, every other instant is T0 plus whole minutes (and a few ms).
 */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain/sla.h"
#include "unit.h"

/* clang-format off */
#define OPEN        SP_STATUS_OPEN
#define IN_PROGRESS SP_STATUS_IN_PROGRESS
#define PENDING     SP_STATUS_PENDING_CUSTOMER
#define RESOLVED    SP_STATUS_RESOLVED
#define CLOSED      SP_STATUS_CLOSED

#define LOW    SP_PRIORITY_LOW
#define NORMAL SP_PRIORITY_NORMAL
#define HIGH   SP_PRIORITY_HIGH
#define URGENT SP_PRIORITY_URGENT

#define T0 INT64_C(1700000000000)  /* 2023-11-14T22:13:20Z */
#define MIN INT64_C(60000)
#define AT(minutes) (T0 + (int64_t)(minutes) * MIN)

/* API.md §5.2, written out again: first response / resolution minutes. */
static const int32_t api_minutes[SP_PRIORITY_MAX][2] = {
    [LOW]    = {1440, 7200},
    [NORMAL] = {240, 2880},
    [HIGH]   = {60, 480},
    [URGENT] = {15, 240},
};
/* clang-format on */

static struct sp_sla
started(enum sp_priority p)
{
    struct sp_sla s;
    sp_sla_start(&s, T0, sp_sla_default_targets(p));
    return s;
}

/* Priorities and defaults */

START_TEST(defaults_match_api_for_each_priority)
{
    for (int p = 0; p < SP_PRIORITY_MAX; p++) {
        struct sp_sla_targets t = sp_sla_default_targets((enum sp_priority)p);
        ck_assert_int_eq(t.first_response_minutes, api_minutes[p][0]);
        ck_assert_int_eq(t.resolution_minutes, api_minutes[p][1]);
    }
}
END_TEST

START_TEST(out_of_range_priority_gets_normal_targets)
{
    struct sp_sla_targets t = sp_sla_default_targets(SP_PRIORITY_MAX);
    ck_assert_int_eq(t.first_response_minutes, 240);
    ck_assert_int_eq(t.resolution_minutes, 2880);
}
END_TEST

/* Policies come category rows first, then the defaults (the order of
 * SP_SLA_POLICIES_JSON): the first row of the priority wins. */
START_TEST(targets_pick_the_first_policy_of_the_priority)
{
#define POLICY(prio, first, res)                                                 \
    "{\"priority\":\"" prio "\",\"first_response_minutes\":" #first                   \
    ",\"resolution_minutes\":" #res "}"
    const char *policies = "[" POLICY("high", 30, 300) "," POLICY("high", 60, 480) ","
                           POLICY("normal", 240, 2880) "," POLICY("low", 1000, 5000) "]";
    struct sp_sla_targets t = sp_sla_targets_pick(policies, SP_PRIORITY_HIGH);
    ck_assert_int_eq(t.first_response_minutes, 30);   /* the category's override */
    ck_assert_int_eq(t.resolution_minutes, 300);
    t = sp_sla_targets_pick(policies, SP_PRIORITY_LOW);
    ck_assert_int_eq(t.first_response_minutes, 1000); /* an edited default */
    ck_assert_int_eq(t.resolution_minutes, 5000);
    /* no row for urgent: the built-in defaults of API.md §5.2 */
    t = sp_sla_targets_pick(policies, SP_PRIORITY_URGENT);
    ck_assert_int_eq(t.first_response_minutes, 15);
    ck_assert_int_eq(t.resolution_minutes, 240);
}
END_TEST

START_TEST(targets_pick_falls_back_to_the_defaults_on_anything_else)
{
    const char *bad[] = {NULL, "", "[]", "{}", "not json", "[[\"high\",30,300]]",
                         "[{\"priority\":\"high\",\"first_response_minutes\":30}]",
                         "[{\"priority\":\"high\",\"first_response_minutes\":\"30\","
                         "\"resolution_minutes\":300}]",
                         "[7]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sp_sla_targets t = sp_sla_targets_pick(bad[i], SP_PRIORITY_HIGH);
        ck_assert_int_eq(t.first_response_minutes, 60);
        ck_assert_int_eq(t.resolution_minutes, 480);
    }
}
END_TEST

START_TEST(priority_names_are_the_api_strings_and_round_trip)
{
    ck_assert_str_eq(sp_priority_name(LOW), "low");
    ck_assert_str_eq(sp_priority_name(NORMAL), "normal");
    ck_assert_str_eq(sp_priority_name(HIGH), "high");
    ck_assert_str_eq(sp_priority_name(URGENT), "urgent");
    ck_assert_str_eq(sp_priority_name(SP_PRIORITY_MAX), "unknown");
    for (int p = 0; p < SP_PRIORITY_MAX; p++) {
        enum sp_priority back = SP_PRIORITY_MAX;
        ck_assert(sp_priority_parse(sp_priority_name((enum sp_priority)p), &back));
        ck_assert_int_eq(back, p);
    }
}
END_TEST

START_TEST(priority_parse_rejects_unknown_names_and_leaves_output_alone)
{
    static const char *const bad[] = {"",         "Low",   "URGENT", "medium",
                                      "critical", "high ", "unknown"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum sp_priority out = HIGH;
        ck_assert_msg(!sp_priority_parse(bad[i], &out), "accepted \"%s\"", bad[i]);
        ck_assert_int_eq(out, HIGH);
    }
}
END_TEST

START_TEST(raise_steps_up_one_level_and_saturates_at_urgent)
{
    ck_assert_int_eq(sp_priority_raise(LOW), NORMAL);
    ck_assert_int_eq(sp_priority_raise(NORMAL), HIGH);
    ck_assert_int_eq(sp_priority_raise(HIGH), URGENT);
    ck_assert_int_eq(sp_priority_raise(URGENT), URGENT);
    ck_assert_int_eq(sp_priority_raise(SP_PRIORITY_MAX), URGENT);
}
END_TEST

/* Start and retarget */

START_TEST(start_sets_both_dues_from_created_at_and_due_is_first_response)
{
    struct sp_sla s;
    memset(&s, 0x5a, sizeof(s)); /* a reused struct: start must reset all */
    sp_sla_start(&s, T0, sp_sla_default_targets(NORMAL));
    ck_assert_int_eq(s.created_at, T0);
    ck_assert_int_eq(s.first_response_due_at, AT(240));
    ck_assert_int_eq(s.resolution_due_at, AT(2880));
    ck_assert_int_eq(s.sla_due_at, AT(240));
    ck_assert_int_eq(s.first_responded_at, 0);
    ck_assert_int_eq(s.paused_at, 0);
    ck_assert_int_eq(s.paused_ms, 0);
    ck_assert_int_eq(s.breach_check_at, AT(240));
    ck_assert(!s.breached);
    ck_assert(!s.breached_first_response);
    ck_assert(!s.breached_resolution);
}
END_TEST

START_TEST(targets_are_clamped_and_dates_saturate)
{
    struct sp_sla s;
    sp_sla_start(&s, T0, (struct sp_sla_targets){INT32_MAX, -5});
    ck_assert_int_eq(s.first_response_due_at, T0 + (int64_t)SP_SLA_MAX_MINUTES * MIN);
    ck_assert_int_eq(s.resolution_due_at, T0);

    sp_sla_start(&s, T0, (struct sp_sla_targets){SP_SLA_MAX_MINUTES + 1, SP_SLA_MAX_MINUTES});
    ck_assert_int_eq(s.first_response_due_at, s.resolution_due_at);

    sp_sla_start(&s, INT64_MAX - 1000, sp_sla_default_targets(LOW));
    ck_assert_int_eq(s.first_response_due_at, INT64_MAX);
    ck_assert_int_eq(s.resolution_due_at, INT64_MAX);
    /* the saturated target is 1 s long: no overflow anywhere (UBSan) */
    ck_assert_int_eq(sp_sla_warn_at(&s, OPEN, 0.2, NULL), INT64_MAX - 200);
    ck_assert_int_eq(sp_sla_warn_at(&s, OPEN, 1.0, NULL), INT64_MAX - 1000);

    sp_sla_start(&s, INT64_MIN + 1, sp_sla_default_targets(LOW));
    s.first_response_due_at = s.resolution_due_at = INT64_MAX; /* corrupt row: span > int64 */
    ck_assert_int_eq(sp_sla_warn_at(&s, OPEN, 1.0, NULL),
                     INT64_MAX - (int64_t)SP_SLA_MAX_MINUTES * MIN);
}
END_TEST

START_TEST(earliest_outstanding_target_wins_when_resolution_is_shorter)
{
    /* A category override may make resolution due before first response. */
    struct sp_sla s;
    const char *target = NULL;
    sp_sla_start(&s, T0, (struct sp_sla_targets){120, 60});
    ck_assert_int_eq(s.sla_due_at, AT(60));
    ck_assert_int_eq(sp_sla_warn_at(&s, OPEN, 0.2, &target), AT(48));
    ck_assert_str_eq(target, "resolution");

    sp_sla_start(&s, T0, (struct sp_sla_targets){60, 60}); /* a tie: the reply comes first */
    ck_assert_int_eq(sp_sla_warn_at(&s, OPEN, 0.2, &target), AT(48));
    ck_assert_str_eq(target, "first_response");
}
END_TEST

START_TEST(retarget_to_urgent_after_ten_minutes_is_due_fifteen_minutes_after_creation)
{
    struct sp_sla s = started(NORMAL);
    /* ten minutes later the priority becomes urgent */
    sp_sla_retarget(&s, OPEN, sp_sla_default_targets(URGENT), AT(10));
    ck_assert_int_eq(s.first_response_due_at, AT(15));
    ck_assert_int_eq(s.resolution_due_at, AT(240));
    ck_assert_int_eq(s.sla_due_at, AT(15));
    ck_assert(!sp_sla_check_breach(&s, OPEN, AT(10), NULL));
}
END_TEST

START_TEST(retarget_to_urgent_after_thirty_minutes_shows_a_due_in_the_past)
{
    struct sp_sla s = started(NORMAL);
    sp_sla_retarget(&s, IN_PROGRESS, sp_sla_default_targets(URGENT), AT(30));
    ck_assert_int_eq(s.sla_due_at, AT(15));
    /* retarget judges nothing, the monitor does */
    ck_assert(!s.breached);
    ck_assert(sp_sla_check_breach(&s, IN_PROGRESS, AT(30), NULL));
    ck_assert(s.breached);
    ck_assert(s.breached_first_response);
}
END_TEST

START_TEST(retarget_down_moves_dues_later)
{
    struct sp_sla s = started(URGENT);
    sp_sla_retarget(&s, OPEN, sp_sla_default_targets(LOW), AT(10));
    ck_assert_int_eq(s.first_response_due_at, AT(1440));
    ck_assert_int_eq(s.resolution_due_at, AT(7200));
    ck_assert_int_eq(s.sla_due_at, AT(1440));
    ck_assert(!sp_sla_check_breach(&s, OPEN, AT(20), NULL));
}
END_TEST

START_TEST(retarget_after_first_response_moves_due_to_new_resolution)
{
    struct sp_sla s = started(NORMAL);
    sp_sla_first_response(&s, IN_PROGRESS, AT(5));
    sp_sla_retarget(&s, IN_PROGRESS, sp_sla_default_targets(HIGH), AT(6));
    ck_assert_int_eq(s.sla_due_at, AT(480));
    ck_assert_int_eq(s.first_responded_at, AT(5));
}
END_TEST

/* The QA case: a category's own high target (5 / 30 min) is tighter than
 * the default urgent one (15 / 240 min); escalating high -> urgent must
 * not give the overdue ticket ten more minutes. */
START_TEST(raise_never_moves_a_due_later)
{
    struct sp_sla s;
    sp_sla_start(&s, T0, (struct sp_sla_targets){5, 30});
    ck_assert(sp_sla_check_breach(&s, OPEN, AT(6), NULL));
    sp_sla_retarget_raise(&s, OPEN, sp_sla_default_targets(URGENT));
    ck_assert_int_eq(s.first_response_due_at, AT(5));
    ck_assert_int_eq(s.resolution_due_at, AT(30));
    ck_assert_int_eq(s.sla_due_at, AT(5));
    ck_assert_int_eq(s.breach_check_at, AT(30));
}
END_TEST

/* Each due separately: the earlier of old and new per target. */
START_TEST(raise_keeps_the_earlier_due_per_target)
{
    struct sp_sla s;
    sp_sla_start(&s, T0, (struct sp_sla_targets){5, 600});
    sp_sla_retarget_raise(&s, OPEN, sp_sla_default_targets(HIGH)); /* 60 / 480 */
    ck_assert_int_eq(s.first_response_due_at, AT(5));
    ck_assert_int_eq(s.resolution_due_at, AT(480));
    /* a raise that tightens both behaves as retarget */
    s = started(NORMAL);
    sp_sla_retarget_raise(&s, OPEN, sp_sla_default_targets(URGENT));
    ck_assert_int_eq(s.first_response_due_at, AT(15));
    ck_assert_int_eq(s.resolution_due_at, AT(240));
    /* no dues before (no policy applied): the new ones */
    memset(&s, 0, sizeof(s));
    s.created_at = T0;
    sp_sla_retarget_raise(&s, OPEN, sp_sla_default_targets(HIGH));
    ck_assert_int_eq(s.first_response_due_at, AT(60));
    ck_assert_int_eq(s.resolution_due_at, AT(480));
}
END_TEST

/* The QA case: a lowering (or a category change) after a target passed,
 * before the monitor looked, must not loosen the missed target: its due
 * stays, shown overdue, and the monitor still reports it once. */
START_TEST(retarget_down_after_a_miss_keeps_the_missed_due)
{
    struct sp_sla s = started(URGENT); /* 15 / 240 */
    struct sp_sla_breach b = {NULL, 0};
    sp_sla_retarget(&s, OPEN, sp_sla_default_targets(LOW), AT(20));
    ck_assert_int_eq(s.first_response_due_at, AT(15));
    ck_assert_int_eq(s.resolution_due_at, AT(7200)); /* still ahead: loosened */
    ck_assert_int_eq(s.sla_due_at, AT(15));
    ck_assert_int_eq(s.breach_check_at, AT(15));
    ck_assert(sp_sla_check_breach(&s, OPEN, AT(21), &b));
    ck_assert_str_eq(b.target, "first_response");
    ck_assert_int_eq(b.due_at, AT(15));
    ck_assert(!sp_sla_check_breach(&s, OPEN, AT(22), NULL));

    s = started(URGENT); /* answered in time, resolution missed */
    sp_sla_first_response(&s, IN_PROGRESS, AT(5));
    sp_sla_retarget(&s, IN_PROGRESS, sp_sla_default_targets(LOW), AT(300));
    ck_assert_int_eq(s.first_response_due_at, AT(1440));
    ck_assert_int_eq(s.resolution_due_at, AT(240));
    ck_assert(sp_sla_check_breach(&s, IN_PROGRESS, AT(301), &b));
    ck_assert_str_eq(b.target, "resolution");
    ck_assert_int_eq(b.due_at, AT(240));
}
END_TEST

/* A target flagged already keeps its due too, so a later answer is still
 * late for the dashboard's share in time; a tightening still applies. */
START_TEST(retarget_never_moves_a_flagged_due_later)
{
    struct sp_sla s = started(URGENT);
    ck_assert(sp_sla_check_breach(&s, OPEN, AT(16), NULL));
    sp_sla_retarget(&s, OPEN, sp_sla_default_targets(LOW), AT(17));
    ck_assert_int_eq(s.first_response_due_at, AT(15));
    s = started(NORMAL);
    ck_assert(sp_sla_check_breach(&s, OPEN, AT(241), NULL));
    sp_sla_retarget(&s, OPEN, sp_sla_default_targets(URGENT), AT(242));
    ck_assert_int_eq(s.first_response_due_at, AT(15));
}
END_TEST

/* A pause's time stays in the resolution due the raise keeps. */
START_TEST(raise_after_a_pause_keeps_the_extended_resolution_when_earlier)
{
    struct sp_sla s;
    sp_sla_start(&s, T0, (struct sp_sla_targets){5, 30});
    sp_sla_on_status(&s, OPEN, PENDING, AT(1));
    sp_sla_on_status(&s, PENDING, IN_PROGRESS, AT(11));
    ck_assert_int_eq(s.resolution_due_at, AT(40));
    sp_sla_retarget_raise(&s, IN_PROGRESS, sp_sla_default_targets(URGENT)); /* 240 + 10 */
    ck_assert_int_eq(s.resolution_due_at, AT(40));
}
END_TEST

/* First response */

START_TEST(first_response_is_recorded_once_and_switches_due_to_resolution)
{
    struct sp_sla s = started(NORMAL);
    sp_sla_first_response(&s, IN_PROGRESS, AT(30));
    ck_assert_int_eq(s.first_responded_at, AT(30));
    ck_assert_int_eq(s.sla_due_at, AT(2880));
    sp_sla_first_response(&s, IN_PROGRESS, AT(300)); /* a later reply, past the due */
    ck_assert_int_eq(s.first_responded_at, AT(30));
    ck_assert(!s.breached);
}
END_TEST

START_TEST(late_first_response_is_breached)
{
    struct sp_sla s = started(NORMAL);
    sp_sla_first_response(&s, IN_PROGRESS, AT(240) + 1);
    ck_assert(s.breached);
    ck_assert(s.breached_first_response);
    ck_assert(!s.breached_resolution);
    ck_assert_int_eq(s.sla_due_at, AT(2880));
    ck_assert_int_eq(s.breach_check_at, AT(2880)); /* the resolution is still to judge */
}
END_TEST

START_TEST(first_response_exactly_at_due_is_on_time)
{
    struct sp_sla s = started(NORMAL);
    sp_sla_first_response(&s, IN_PROGRESS, AT(240));
    ck_assert_int_eq(s.first_responded_at, AT(240));
    ck_assert(!s.breached);
}
END_TEST

START_TEST(first_response_clock_does_not_pause)
{
    struct sp_sla s = started(NORMAL);
    sp_sla_on_status(&s, OPEN, PENDING, AT(10));
    sp_sla_on_status(&s, PENDING, IN_PROGRESS, AT(300));
    ck_assert_int_eq(s.first_response_due_at, AT(240));
    ck_assert_int_eq(s.sla_due_at, AT(240));
    ck_assert_int_eq(s.resolution_due_at, AT(2880 + 290));
    sp_sla_first_response(&s, IN_PROGRESS, AT(301));
    ck_assert(s.breached);
}
END_TEST

/* Pause and resume */

START_TEST(pending_customer_pauses_and_hides_the_due)
{
    struct sp_sla s = started(NORMAL);
    sp_sla_first_response(&s, IN_PROGRESS, AT(5));
    sp_sla_on_status(&s, IN_PROGRESS, PENDING, AT(60));
    ck_assert_int_eq(s.paused_at, AT(60));
    ck_assert_int_eq(s.sla_due_at, 0);
    ck_assert_int_eq(s.resolution_due_at, AT(2880));
}
END_TEST

START_TEST(resume_adds_exactly_the_paused_time)
{
    struct sp_sla s = started(NORMAL);
    sp_sla_first_response(&s, IN_PROGRESS, AT(5));
    sp_sla_on_status(&s, IN_PROGRESS, PENDING, AT(60));
    sp_sla_on_status(&s, PENDING, IN_PROGRESS, AT(97) + 123);
    ck_assert_int_eq(s.paused_ms, 37 * MIN + 123);
    ck_assert_int_eq(s.resolution_due_at, AT(2880 + 37) + 123);
    ck_assert_int_eq(s.sla_due_at, AT(2880 + 37) + 123);
    ck_assert_int_eq(s.paused_at, 0);
}
END_TEST

START_TEST(two_pauses_accumulate)
{
    struct sp_sla s = started(NORMAL);
    sp_sla_first_response(&s, IN_PROGRESS, AT(5));
    sp_sla_on_status(&s, IN_PROGRESS, PENDING, AT(10));
    sp_sla_on_status(&s, PENDING, IN_PROGRESS, AT(40));
    sp_sla_on_status(&s, IN_PROGRESS, PENDING, AT(100));
    sp_sla_on_status(&s, PENDING, OPEN, AT(145)); /* customer reply, unassigned */
    ck_assert_int_eq(s.paused_ms, 75 * MIN);
    ck_assert_int_eq(s.resolution_due_at, AT(2880 + 75));
    ck_assert_int_eq(s.sla_due_at, AT(2880 + 75));
}
END_TEST

START_TEST(retarget_while_paused_keeps_paused_ms)
{
    struct sp_sla s = started(NORMAL);
    sp_sla_first_response(&s, IN_PROGRESS, AT(5));
    sp_sla_on_status(&s, IN_PROGRESS, PENDING, AT(10));
    sp_sla_on_status(&s, PENDING, IN_PROGRESS, AT(40));
    sp_sla_on_status(&s, IN_PROGRESS, PENDING, AT(100));
    sp_sla_retarget(&s, PENDING, sp_sla_default_targets(HIGH), AT(100));
    ck_assert_int_eq(s.paused_ms, 30 * MIN);
    ck_assert_int_eq(s.paused_at, AT(100));
    ck_assert_int_eq(s.resolution_due_at, AT(480 + 30));
    ck_assert_int_eq(s.sla_due_at, 0);
    sp_sla_on_status(&s, PENDING, IN_PROGRESS, AT(120));
    ck_assert_int_eq(s.paused_ms, 50 * MIN);
    ck_assert_int_eq(s.resolution_due_at, AT(480 + 50));
    ck_assert_int_eq(s.sla_due_at, AT(480 + 50));
}
END_TEST

/* A pause stops a clock still running, not a miss already made: the
 * resolution passed before the move to pending_customer stays outstanding
 * (past, so the views show the breach), the monitor reports it while the
 * ticket waits, and resuming does not extend it. */
START_TEST(pause_after_a_missed_resolution_keeps_it_outstanding)
{
    struct sp_sla s = started(URGENT); /* 15 / 240 */
    struct sp_sla_breach b = {NULL, 0};
    sp_sla_first_response(&s, IN_PROGRESS, AT(5));
    sp_sla_on_status(&s, IN_PROGRESS, PENDING, AT(300));
    ck_assert_int_eq(s.sla_due_at, AT(240));
    ck_assert_int_eq(s.breach_check_at, AT(240));
    sp_sla_retarget(&s, PENDING, sp_sla_default_targets(LOW), AT(310));
    ck_assert_int_eq(s.resolution_due_at, AT(240));
    ck_assert(sp_sla_check_breach(&s, PENDING, AT(320), &b));
    ck_assert_str_eq(b.target, "resolution");
    ck_assert_int_eq(b.due_at, AT(240));
    ck_assert(s.breached_resolution);
    ck_assert_int_eq(s.sla_due_at, AT(240));
    ck_assert_int_eq(s.breach_check_at, 0);
    sp_sla_on_status(&s, PENDING, IN_PROGRESS, AT(400));
    ck_assert_int_eq(s.paused_ms, 100 * MIN);
    ck_assert_int_eq(s.resolution_due_at, AT(240));
    ck_assert(!sp_sla_check_breach(&s, IN_PROGRESS, AT(401), NULL));
}
END_TEST

START_TEST(resolving_from_pending_counts_the_pause)
{
    struct sp_sla s = started(NORMAL);
    sp_sla_first_response(&s, IN_PROGRESS, AT(5));
    sp_sla_on_status(&s, IN_PROGRESS, PENDING, AT(2800));
    sp_sla_on_status(&s, PENDING, RESOLVED, AT(2900)); /* past 2880, within 2880+100 */
    ck_assert(!s.breached);
    ck_assert_int_eq(s.paused_ms, 100 * MIN);
    ck_assert_int_eq(s.paused_at, 0);
    ck_assert_int_eq(s.sla_due_at, 0);
}
END_TEST

START_TEST(resume_never_shortens_the_target_when_clocks_disagree)
{
    /* Pause written by one worker, resume by another whose clock is behind. */
    struct sp_sla s = started(NORMAL);
    sp_sla_first_response(&s, IN_PROGRESS, AT(5));
    sp_sla_on_status(&s, IN_PROGRESS, PENDING, AT(100));
    sp_sla_on_status(&s, PENDING, IN_PROGRESS, AT(99));
    ck_assert_int_eq(s.paused_ms, 0);
    ck_assert_int_eq(s.resolution_due_at, AT(2880));
    ck_assert_int_eq(s.paused_at, 0);
}
END_TEST

START_TEST(ticket_without_dues_is_never_due_nor_breached)
{
    /* A row whose due columns are NULL (no policy applied) stays that way. */
    struct sp_sla s = {.created_at = T0};
    sp_sla_on_status(&s, OPEN, PENDING, AT(10));
    sp_sla_on_status(&s, PENDING, IN_PROGRESS, AT(20));
    ck_assert_int_eq(s.paused_ms, 10 * MIN);
    ck_assert_int_eq(s.resolution_due_at, 0);
    ck_assert_int_eq(s.sla_due_at, 0);
    ck_assert(!sp_sla_check_breach(&s, IN_PROGRESS, AT(99999), NULL));
    ck_assert_int_eq(s.breach_check_at, 0);
    const char *target = "sentinel";
    ck_assert_int_eq(sp_sla_warn_at(&s, IN_PROGRESS, 0.2, &target), 0);
    ck_assert_ptr_null(target);
    sp_sla_first_response(&s, IN_PROGRESS, AT(99999));
    sp_sla_on_status(&s, IN_PROGRESS, RESOLVED, AT(99999));
    ck_assert(!s.breached);
}
END_TEST

/* Resolve, reopen, close */

START_TEST(resolved_clears_the_due)
{
    struct sp_sla s = started(NORMAL);
    sp_sla_first_response(&s, IN_PROGRESS, AT(5));
    sp_sla_on_status(&s, IN_PROGRESS, RESOLVED, AT(100));
    ck_assert_int_eq(s.sla_due_at, 0);
    ck_assert_int_eq(s.resolution_due_at, AT(2880));
    ck_assert(!s.breached);
}
END_TEST

START_TEST(resolving_after_the_resolution_due_is_breached)
{
    struct sp_sla s = started(HIGH);
    sp_sla_first_response(&s, IN_PROGRESS, AT(5));
    sp_sla_on_status(&s, IN_PROGRESS, RESOLVED, AT(480));
    ck_assert(!s.breached); /* exactly at the due is on time */

    s = started(HIGH);
    sp_sla_first_response(&s, IN_PROGRESS, AT(5));
    sp_sla_on_status(&s, IN_PROGRESS, RESOLVED, AT(480) + 1);
    ck_assert(s.breached);
    ck_assert(!s.breached_first_response);
    ck_assert(s.breached_resolution);
}
END_TEST

START_TEST(resolving_without_a_reply_after_first_response_due_is_breached)
{
    struct sp_sla s = started(NORMAL);
    sp_sla_on_status(&s, OPEN, RESOLVED, AT(300));
    ck_assert(s.breached);
    ck_assert(s.breached_first_response);
    ck_assert(!s.breached_resolution);

    s = started(NORMAL);
    sp_sla_on_status(&s, OPEN, RESOLVED, AT(200));
    ck_assert(!s.breached);
}
END_TEST

START_TEST(reopen_restores_the_resolution_due)
{
    struct sp_sla s = started(NORMAL);
    sp_sla_first_response(&s, IN_PROGRESS, AT(5));
    sp_sla_on_status(&s, IN_PROGRESS, RESOLVED, AT(100));
    sp_sla_on_status(&s, RESOLVED, IN_PROGRESS, AT(200));
    ck_assert_int_eq(s.sla_due_at, AT(2880));

    sp_sla_on_status(&s, IN_PROGRESS, RESOLVED, AT(300));
    sp_sla_on_status(&s, RESOLVED, OPEN, AT(400)); /* customer reply, unassigned */
    ck_assert_int_eq(s.sla_due_at, AT(2880));
    ck_assert_int_eq(s.paused_ms, 0); /* time resolved is not paused time */
}
END_TEST

START_TEST(reopen_before_any_reply_restores_the_first_response_due)
{
    struct sp_sla s = started(NORMAL);
    sp_sla_on_status(&s, OPEN, RESOLVED, AT(10));
    ck_assert_int_eq(s.sla_due_at, 0);
    sp_sla_on_status(&s, RESOLVED, IN_PROGRESS, AT(20));
    ck_assert_int_eq(s.sla_due_at, AT(240));
}
END_TEST

START_TEST(closed_clears_the_due)
{
    struct sp_sla s = started(NORMAL);
    sp_sla_first_response(&s, IN_PROGRESS, AT(5));
    sp_sla_on_status(&s, IN_PROGRESS, CLOSED, AT(50));
    ck_assert_int_eq(s.sla_due_at, 0);
    ck_assert(!s.breached);

    s = started(NORMAL);
    sp_sla_first_response(&s, IN_PROGRESS, AT(5));
    sp_sla_on_status(&s, IN_PROGRESS, RESOLVED, AT(50));
    sp_sla_on_status(&s, RESOLVED, CLOSED, AT(50 + 7 * 1440)); /* auto-close, past 2880 */
    ck_assert_int_eq(s.sla_due_at, 0);
    ck_assert(!s.breached);
}
END_TEST

START_TEST(closing_unresolved_after_the_due_is_breached)
{
    struct sp_sla s = started(NORMAL);
    sp_sla_first_response(&s, IN_PROGRESS, AT(5));
    sp_sla_on_status(&s, IN_PROGRESS, CLOSED, AT(2881));
    ck_assert(s.breached);
    ck_assert_int_eq(s.sla_due_at, 0);
}
END_TEST

/* Breach monitor */

/* Once per target: the unanswered first response is reported at its due,
 * then nothing until the resolution target passes, reported once too. */
START_TEST(check_breach_reports_each_target_once_then_false)
{
    struct sp_sla s = started(NORMAL);
    struct sp_sla_breach b = {NULL, 0};
    ck_assert(!sp_sla_check_breach(&s, OPEN, AT(240), &b));
    ck_assert(!s.breached);
    ck_assert_ptr_null(b.target);
    ck_assert(sp_sla_check_breach(&s, OPEN, AT(240) + 1, &b));
    ck_assert_str_eq(b.target, "first_response");
    ck_assert_int_eq(b.due_at, AT(240));
    ck_assert(s.breached);
    ck_assert(s.breached_first_response);
    ck_assert(!s.breached_resolution);
    ck_assert(!sp_sla_check_breach(&s, OPEN, AT(241), NULL));
    ck_assert(!sp_sla_check_breach(&s, OPEN, AT(2880), NULL));
    ck_assert(sp_sla_check_breach(&s, OPEN, AT(2880) + 1, &b));
    ck_assert_str_eq(b.target, "resolution");
    ck_assert_int_eq(b.due_at, AT(2880));
    ck_assert(s.breached_resolution);
    ck_assert(!sp_sla_check_breach(&s, OPEN, AT(5000), NULL));
    ck_assert(s.breached);
}
END_TEST

START_TEST(check_breach_sees_the_resolution_target_after_a_reply)
{
    struct sp_sla s = started(URGENT);
    sp_sla_first_response(&s, IN_PROGRESS, AT(10));
    ck_assert(!sp_sla_check_breach(&s, IN_PROGRESS, AT(200), NULL));
    ck_assert(sp_sla_check_breach(&s, IN_PROGRESS, AT(241), NULL));
}
END_TEST

START_TEST(breach_survives_every_later_call)
{
    struct sp_sla s = started(URGENT);
    struct sp_sla_breach b;
    ck_assert(sp_sla_check_breach(&s, OPEN, AT(16), NULL));
    sp_sla_retarget(&s, OPEN, sp_sla_default_targets(LOW), AT(16));
    sp_sla_first_response(&s, IN_PROGRESS, AT(17));
    sp_sla_on_status(&s, IN_PROGRESS, PENDING, AT(18));
    sp_sla_on_status(&s, PENDING, IN_PROGRESS, AT(19));
    sp_sla_on_status(&s, IN_PROGRESS, RESOLVED, AT(20));
    sp_sla_on_status(&s, RESOLVED, IN_PROGRESS, AT(21));
    sp_sla_refresh_due(&s, IN_PROGRESS);
    ck_assert(s.breached);
    ck_assert(s.breached_first_response);
    /* the resolution target (low's, 7200 min) is another target: reported
     * once when it passes, and then nothing is left to report */
    ck_assert(sp_sla_check_breach(&s, IN_PROGRESS, AT(99999), &b));
    ck_assert_str_eq(b.target, "resolution");
    ck_assert(!sp_sla_check_breach(&s, IN_PROGRESS, AT(99999), NULL));
    ck_assert(s.breached && s.breached_first_response && s.breached_resolution);
}
END_TEST

START_TEST(check_breach_is_silent_while_resolved_or_closed)
{
    static const enum sp_status stopped[] = {RESOLVED, CLOSED};
    for (size_t i = 0; i < sizeof(stopped) / sizeof(stopped[0]); i++) {
        struct sp_sla s = started(URGENT);
        ck_assert_msg(!sp_sla_check_breach(&s, stopped[i], AT(10000), NULL), "%s",
                      sp_status_name(stopped[i]));
        ck_assert(!s.breached);
        ck_assert(sp_sla_check_breach(&s, IN_PROGRESS, AT(10000), NULL)); /* the same past due */
    }
}
END_TEST

/* The first-response clock never pauses: an unanswered ticket set to
 * pending_customer keeps that due (sla_due_at) and breaches it; only the
 * resolution target waits. */
START_TEST(pending_customer_keeps_an_unanswered_first_response_running)
{
    struct sp_sla s = started(NORMAL);
    sp_sla_on_status(&s, OPEN, PENDING, AT(10));
    ck_assert_int_eq(s.sla_due_at, AT(240));
    ck_assert_int_eq(s.breach_check_at, AT(240));
    ck_assert_int_eq(sp_sla_warn_at(&s, PENDING, 0.2, NULL), AT(192));
    ck_assert(!sp_sla_check_breach(&s, PENDING, AT(240), NULL));
    struct sp_sla_breach b = {NULL, 0};
    ck_assert(sp_sla_check_breach(&s, PENDING, AT(9999), &b)); /* resolution is not judged */
    ck_assert_str_eq(b.target, "first_response");
    ck_assert(s.breached && s.breached_first_response && !s.breached_resolution);
    ck_assert_int_eq(s.sla_due_at, AT(240)); /* still unmet: still the due shown */
    ck_assert_int_eq(s.breach_check_at, 0);
    /* answered (late) while paused: nothing runs until the customer is back */
    sp_sla_first_response(&s, PENDING, AT(10000));
    ck_assert_int_eq(s.sla_due_at, 0);
    ck_assert(!sp_sla_check_breach(&s, PENDING, AT(99999), NULL));
}
END_TEST

/* The bug this guards: a late first response used to end all breach
 * reporting, so a missed resolution went unannounced. */
START_TEST(late_first_response_then_missed_resolution_is_reported_once)
{
    struct sp_sla s = started(NORMAL);
    struct sp_sla_breach b = {NULL, 0};
    sp_sla_first_response(&s, IN_PROGRESS, AT(300)); /* late: flagged, silently */
    ck_assert(s.breached && s.breached_first_response && !s.breached_resolution);
    ck_assert(!sp_sla_check_breach(&s, IN_PROGRESS, AT(301), NULL));
    ck_assert(!sp_sla_check_breach(&s, IN_PROGRESS, AT(2880), NULL));
    ck_assert(sp_sla_check_breach(&s, IN_PROGRESS, AT(2880) + 1, &b));
    ck_assert_str_eq(b.target, "resolution");
    ck_assert_int_eq(b.due_at, AT(2880));
    ck_assert(s.breached && s.breached_first_response && s.breached_resolution);
    ck_assert_int_eq(s.breach_check_at, 0);
    ck_assert(!sp_sla_check_breach(&s, IN_PROGRESS, AT(2881), NULL));
    ck_assert(!sp_sla_check_breach(&s, IN_PROGRESS, AT(99999), NULL));
}
END_TEST

/* A breached first response still unanswered: the resolution is what
 * can still be saved, so it is the target warned about (at 20 % of its
 * 480 min left, i.e. minute 384), not the first response already judged. */
START_TEST(after_a_first_response_breach_the_resolution_is_warned_about)
{
    struct sp_sla s = started(NORMAL);
    const char *target = NULL;
    ck_assert_int_eq(sp_sla_warn_at(&s, OPEN, 0.2, &target), AT(192));
    ck_assert_str_eq(target, "first_response");
    ck_assert(sp_sla_check_breach(&s, OPEN, AT(241), NULL));
    sp_sla_retarget(&s, OPEN, sp_sla_default_targets(HIGH), AT(241));
    ck_assert_int_eq(sp_sla_warn_at(&s, OPEN, 0.2, &target), AT(384));
    ck_assert_str_eq(target, "resolution");
}
END_TEST

/* What the monitor does: the first breach raises normal to high, whose
 * resolution target (480 min) is much shorter and is judged in its turn. */
START_TEST(resolution_of_the_escalated_priority_is_judged_after_a_first_response_breach)
{
    struct sp_sla s = started(NORMAL);
    struct sp_sla_breach b;
    ck_assert(sp_sla_check_breach(&s, OPEN, AT(241), &b));
    ck_assert_str_eq(b.target, "first_response");
    sp_sla_retarget(&s, OPEN, sp_sla_default_targets(HIGH), AT(241));
    ck_assert_int_eq(s.sla_due_at, AT(60));       /* unanswered, already passed */
    ck_assert_int_eq(s.breach_check_at, AT(480)); /* but already judged */
    sp_sla_first_response(&s, IN_PROGRESS, AT(300));
    ck_assert(!sp_sla_check_breach(&s, IN_PROGRESS, AT(480), NULL));
    ck_assert(sp_sla_check_breach(&s, IN_PROGRESS, AT(481), &b));
    ck_assert_str_eq(b.target, "resolution");
    ck_assert_int_eq(b.due_at, AT(480));
}
END_TEST

/* Both missed at one look (the monitor was down): both flagged, one report
 * naming the earlier target. */
START_TEST(both_targets_missed_at_once_are_flagged_and_reported_once)
{
    struct sp_sla s = started(URGENT); /* 15 / 240 min */
    struct sp_sla_breach b;
    ck_assert(sp_sla_check_breach(&s, OPEN, AT(300), &b));
    ck_assert_str_eq(b.target, "first_response");
    ck_assert_int_eq(b.due_at, AT(15));
    ck_assert(s.breached && s.breached_first_response && s.breached_resolution);
    ck_assert_int_eq(s.breach_check_at, 0);
    ck_assert(!sp_sla_check_breach(&s, OPEN, AT(300), NULL));
    ck_assert(!sp_sla_check_breach(&s, OPEN, AT(99999), NULL));
}
END_TEST

/* The monitor's escalation of a late low ticket (at hour 50) to normal
 * brings the resolution due to 2880 min, already past: settled with that
 * breach, never reported on its own. Without it the next look reported it
 * and raised again, two reports for one miss. */
START_TEST(settle_raise_flags_a_target_the_raise_made_overdue)
{
    struct sp_sla s = started(LOW); /* 1440 / 7200 min */
    struct sp_sla_breach b;
    ck_assert(sp_sla_check_breach(&s, OPEN, AT(3000), &b));
    ck_assert_str_eq(b.target, "first_response");
    ck_assert(!s.breached_resolution);
    sp_sla_retarget_raise(&s, OPEN, sp_sla_default_targets(NORMAL));
    ck_assert_int_eq(s.resolution_due_at, AT(2880));
    ck_assert_int_eq(s.breach_check_at, AT(2880));
    ck_assert(sp_sla_settle_raise(&s, OPEN, AT(3000)));
    ck_assert(s.breached && s.breached_first_response && s.breached_resolution);
    ck_assert_int_eq(s.breach_check_at, 0);
    ck_assert_int_eq(s.resolution_due_at, AT(2880)); /* still shown overdue */
    ck_assert(!sp_sla_check_breach(&s, OPEN, AT(3001), NULL));
    ck_assert(!sp_sla_settle_raise(&s, OPEN, AT(99999))); /* nothing left */
}
END_TEST

/* A due the raise sets exactly at now is settled too (it is missed the
 * next millisecond, by the same lateness); one still ahead is not, and is
 * reported when it passes. */
START_TEST(settle_raise_takes_a_due_at_now_and_leaves_one_ahead)
{
    struct sp_sla s = started(LOW);
    ck_assert(sp_sla_check_breach(&s, OPEN, AT(2880), NULL));
    sp_sla_retarget_raise(&s, OPEN, sp_sla_default_targets(NORMAL));
    ck_assert(sp_sla_settle_raise(&s, OPEN, AT(2880)));
    ck_assert(s.breached_resolution);

    struct sp_sla ahead = started(NORMAL); /* 240 / 2880 */
    ck_assert(sp_sla_check_breach(&ahead, OPEN, AT(241), NULL));
    sp_sla_retarget_raise(&ahead, OPEN, sp_sla_default_targets(HIGH)); /* resolution 480 */
    struct sp_sla before = ahead;
    ck_assert(!sp_sla_settle_raise(&ahead, OPEN, AT(241)));
    ck_assert_mem_eq(&ahead, &before, sizeof(before));
    ck_assert(!sp_sla_check_breach(&ahead, OPEN, AT(480), NULL));
    ck_assert(sp_sla_check_breach(&ahead, OPEN, AT(481), NULL));
    ck_assert(ahead.breached_resolution);
}
END_TEST

START_TEST(resolution_due_first_is_reported_first_then_the_first_response)
{
    struct sp_sla s;
    struct sp_sla_breach b;
    sp_sla_start(&s, T0, (struct sp_sla_targets){120, 60}); /* a category override */
    ck_assert_int_eq(s.breach_check_at, AT(60));
    ck_assert(sp_sla_check_breach(&s, OPEN, AT(61), &b));
    ck_assert_str_eq(b.target, "resolution");
    ck_assert_int_eq(s.breach_check_at, AT(120));
    ck_assert(!sp_sla_check_breach(&s, OPEN, AT(120), NULL));
    ck_assert(sp_sla_check_breach(&s, OPEN, AT(121), &b));
    ck_assert_str_eq(b.target, "first_response");
    ck_assert_int_eq(s.breach_check_at, 0);
}
END_TEST

START_TEST(breach_check_at_follows_the_targets_still_to_judge)
{
    struct sp_sla s = started(NORMAL);
    ck_assert_int_eq(s.breach_check_at, AT(240));
    sp_sla_first_response(&s, IN_PROGRESS, AT(30)); /* on time */
    ck_assert_int_eq(s.breach_check_at, AT(2880));
    sp_sla_on_status(&s, IN_PROGRESS, PENDING, AT(60));
    ck_assert_int_eq(s.breach_check_at, 0); /* paused: nothing to judge */
    ck_assert(!sp_sla_check_breach(&s, PENDING, AT(99999), NULL));
    sp_sla_on_status(&s, PENDING, IN_PROGRESS, AT(100));
    ck_assert_int_eq(s.breach_check_at, AT(2880 + 40));
    sp_sla_retarget(&s, IN_PROGRESS, sp_sla_default_targets(HIGH), AT(100));
    ck_assert_int_eq(s.breach_check_at, AT(480 + 40));
    ck_assert(sp_sla_check_breach(&s, IN_PROGRESS, AT(480 + 41), NULL));
    ck_assert_int_eq(s.breach_check_at, 0);
    sp_sla_on_status(&s, IN_PROGRESS, RESOLVED, AT(600));
    sp_sla_on_status(&s, RESOLVED, IN_PROGRESS, AT(700)); /* a reopen judges nothing again */
    ck_assert_int_eq(s.sla_due_at, AT(480 + 40));
    ck_assert_int_eq(s.breach_check_at, 0);
}
END_TEST

START_TEST(breach_check_at_is_zero_when_stopped)
{
    static const enum sp_status stopped[] = {RESOLVED, CLOSED};
    for (size_t i = 0; i < sizeof(stopped) / sizeof(stopped[0]); i++) {
        struct sp_sla s = started(NORMAL);
        sp_sla_refresh_due(&s, stopped[i]);
        ck_assert_int_eq(s.breach_check_at, 0);
        sp_sla_refresh_due(&s, OPEN);
        ck_assert_int_eq(s.breach_check_at, AT(240));
    }
}
END_TEST

/* Warnings */

START_TEST(warn_at_is_80_percent_of_the_first_response_target_for_each_priority)
{
    for (int p = 0; p < SP_PRIORITY_MAX; p++) {
        struct sp_sla s = started((enum sp_priority)p);
        const char *target = NULL;
        int64_t want = T0 + api_minutes[p][0] * MIN * 4 / 5;
        ck_assert_int_eq(sp_sla_warn_at(&s, OPEN, 0.2, &target), want);
        ck_assert_str_eq(target, "first_response");
    }
}
END_TEST

START_TEST(warn_at_is_80_percent_of_the_resolution_target_for_each_priority)
{
    for (int p = 0; p < SP_PRIORITY_MAX; p++) {
        struct sp_sla s = started((enum sp_priority)p);
        const char *target = NULL;
        sp_sla_first_response(&s, IN_PROGRESS, AT(1));
        int64_t want = T0 + api_minutes[p][1] * MIN * 4 / 5;
        ck_assert_int_eq(sp_sla_warn_at(&s, IN_PROGRESS, 0.2, &target), want);
        ck_assert_str_eq(target, "resolution");
    }
}
END_TEST

START_TEST(warn_at_after_a_pause_is_shifted_by_the_paused_time)
{
    struct sp_sla s = started(HIGH);
    const char *target = NULL;
    sp_sla_first_response(&s, IN_PROGRESS, AT(1));
    sp_sla_on_status(&s, IN_PROGRESS, PENDING, AT(10));
    sp_sla_on_status(&s, PENDING, IN_PROGRESS, AT(70));
    /* 60 minutes paused; the target's length stays 480 minutes */
    ck_assert_int_eq(sp_sla_warn_at(&s, IN_PROGRESS, 0.2, &target), AT(60 + 384));
    ck_assert_str_eq(target, "resolution");
}
END_TEST

START_TEST(warn_at_is_zero_when_nothing_is_outstanding)
{
    static const enum sp_status stopped[] = {PENDING, RESOLVED, CLOSED};
    for (size_t i = 0; i < sizeof(stopped) / sizeof(stopped[0]); i++) {
        struct sp_sla s = started(NORMAL);
        sp_sla_first_response(&s, OPEN, AT(1)); /* else pending still runs it */
        const char *target = "sentinel";
        ck_assert_int_eq(sp_sla_warn_at(&s, stopped[i], 0.2, &target), 0);
        ck_assert_ptr_null(target);
    }
}
END_TEST

START_TEST(warn_fraction_is_clamped_to_zero_and_one)
{
    struct sp_sla s = started(NORMAL);
    ck_assert_int_eq(sp_sla_warn_at(&s, OPEN, 0.0, NULL), AT(240));
    ck_assert_int_eq(sp_sla_warn_at(&s, OPEN, -1.0, NULL), AT(240));
    ck_assert_int_eq(sp_sla_warn_at(&s, OPEN, NAN, NULL), AT(240));
    ck_assert_int_eq(sp_sla_warn_at(&s, OPEN, 1.0, NULL), T0);
    ck_assert_int_eq(sp_sla_warn_at(&s, OPEN, 1.5, NULL), T0);
    ck_assert_int_eq(sp_sla_warn_at(&s, OPEN, 0.5, NULL), AT(120));
}
END_TEST

START_TEST(warn_at_rounds_to_the_nearest_millisecond)
{
    /* 0.7 * 1440 min is 60479999.99999999 in a double: truncating would
     * warn 1 ms late. */
    struct sp_sla s = started(LOW);
    ck_assert_int_eq(sp_sla_warn_at(&s, OPEN, 0.7, NULL), AT(1440) - 60480000);
}
END_TEST

static Suite *
sla_suite(void)
{
    Suite *s = suite_create("sla");
    TCase *tc = tcase_create("priorities");
    tcase_add_test(tc, defaults_match_api_for_each_priority);
    tcase_add_test(tc, out_of_range_priority_gets_normal_targets);
    tcase_add_test(tc, priority_names_are_the_api_strings_and_round_trip);
    tcase_add_test(tc, targets_pick_the_first_policy_of_the_priority);
    tcase_add_test(tc, targets_pick_falls_back_to_the_defaults_on_anything_else);
    tcase_add_test(tc, priority_parse_rejects_unknown_names_and_leaves_output_alone);
    tcase_add_test(tc, raise_steps_up_one_level_and_saturates_at_urgent);
    suite_add_tcase(s, tc);

    tc = tcase_create("targets");
    tcase_add_test(tc, start_sets_both_dues_from_created_at_and_due_is_first_response);
    tcase_add_test(tc, targets_are_clamped_and_dates_saturate);
    tcase_add_test(tc, earliest_outstanding_target_wins_when_resolution_is_shorter);
    tcase_add_test(tc, retarget_to_urgent_after_ten_minutes_is_due_fifteen_minutes_after_creation);
    tcase_add_test(tc, retarget_to_urgent_after_thirty_minutes_shows_a_due_in_the_past);
    tcase_add_test(tc, retarget_down_moves_dues_later);
    tcase_add_test(tc, retarget_after_first_response_moves_due_to_new_resolution);
    tcase_add_test(tc, raise_never_moves_a_due_later);
    tcase_add_test(tc, raise_keeps_the_earlier_due_per_target);
    tcase_add_test(tc, raise_after_a_pause_keeps_the_extended_resolution_when_earlier);
    tcase_add_test(tc, retarget_down_after_a_miss_keeps_the_missed_due);
    tcase_add_test(tc, retarget_never_moves_a_flagged_due_later);
    suite_add_tcase(s, tc);

    tc = tcase_create("first_response");
    tcase_add_test(tc, first_response_is_recorded_once_and_switches_due_to_resolution);
    tcase_add_test(tc, late_first_response_is_breached);
    tcase_add_test(tc, first_response_exactly_at_due_is_on_time);
    tcase_add_test(tc, first_response_clock_does_not_pause);
    suite_add_tcase(s, tc);

    tc = tcase_create("pause");
    tcase_add_test(tc, pending_customer_pauses_and_hides_the_due);
    tcase_add_test(tc, resume_adds_exactly_the_paused_time);
    tcase_add_test(tc, two_pauses_accumulate);
    tcase_add_test(tc, retarget_while_paused_keeps_paused_ms);
    tcase_add_test(tc, pause_after_a_missed_resolution_keeps_it_outstanding);
    tcase_add_test(tc, resolving_from_pending_counts_the_pause);
    tcase_add_test(tc, resume_never_shortens_the_target_when_clocks_disagree);
    tcase_add_test(tc, ticket_without_dues_is_never_due_nor_breached);
    suite_add_tcase(s, tc);

    tc = tcase_create("resolve");
    tcase_add_test(tc, resolved_clears_the_due);
    tcase_add_test(tc, resolving_after_the_resolution_due_is_breached);
    tcase_add_test(tc, resolving_without_a_reply_after_first_response_due_is_breached);
    tcase_add_test(tc, reopen_restores_the_resolution_due);
    tcase_add_test(tc, reopen_before_any_reply_restores_the_first_response_due);
    tcase_add_test(tc, closed_clears_the_due);
    tcase_add_test(tc, closing_unresolved_after_the_due_is_breached);
    suite_add_tcase(s, tc);

    tc = tcase_create("breach");
    tcase_add_test(tc, check_breach_reports_each_target_once_then_false);
    tcase_add_test(tc, check_breach_sees_the_resolution_target_after_a_reply);
    tcase_add_test(tc, breach_survives_every_later_call);
    tcase_add_test(tc, check_breach_is_silent_while_resolved_or_closed);
    tcase_add_test(tc, pending_customer_keeps_an_unanswered_first_response_running);
    tcase_add_test(tc, after_a_first_response_breach_the_resolution_is_warned_about);
    tcase_add_test(tc, late_first_response_then_missed_resolution_is_reported_once);
    tcase_add_test(tc,
                   resolution_of_the_escalated_priority_is_judged_after_a_first_response_breach);
    tcase_add_test(tc, both_targets_missed_at_once_are_flagged_and_reported_once);
    tcase_add_test(tc, settle_raise_flags_a_target_the_raise_made_overdue);
    tcase_add_test(tc, settle_raise_takes_a_due_at_now_and_leaves_one_ahead);
    tcase_add_test(tc, resolution_due_first_is_reported_first_then_the_first_response);
    tcase_add_test(tc, breach_check_at_follows_the_targets_still_to_judge);
    tcase_add_test(tc, breach_check_at_is_zero_when_stopped);
    suite_add_tcase(s, tc);

    tc = tcase_create("warn");
    tcase_add_test(tc, warn_at_is_80_percent_of_the_first_response_target_for_each_priority);
    tcase_add_test(tc, warn_at_is_80_percent_of_the_resolution_target_for_each_priority);
    tcase_add_test(tc, warn_at_after_a_pause_is_shifted_by_the_paused_time);
    tcase_add_test(tc, warn_at_is_zero_when_nothing_is_outstanding);
    tcase_add_test(tc, warn_fraction_is_clamped_to_zero_and_one);
    tcase_add_test(tc, warn_at_rounds_to_the_nearest_millisecond);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(sla_suite());
}
