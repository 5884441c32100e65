/*
 * test_lifecycle: the ticket state table (src/domain/lifecycle.c) against
 * API.md §5.1 and the customer-reply rule of §4. Every (from, to) pair is
 * checked against the rule written out independently here.
 */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "domain/lifecycle.h"
#include "unit.h"

/* clang-format off */
#define OPEN        SP_STATUS_OPEN
#define IN_PROGRESS SP_STATUS_IN_PROGRESS
#define PENDING     SP_STATUS_PENDING_CUSTOMER
#define RESOLVED    SP_STATUS_RESOLVED
#define CLOSED      SP_STATUS_CLOSED

/* API.md §5.1, row by row: from -> the states it may move to. */
static const bool allowed[SP_STATUS_MAX][SP_STATUS_MAX] = {
    /*                  open   in_prog pending resolved closed */
    [OPEN]        = {false, true,  true,  true,  true},   /* forward, skips allowed */
    [IN_PROGRESS] = {false, false, true,  true,  true},
    [PENDING]     = {false, true,  false, true,  true},   /* back to in_progress */
    [RESOLVED]    = {false, true,  false, false, true},   /* reopen to in_progress */
    [CLOSED]      = {false, false, false, false, false},  /* terminal */
};
/* clang-format on */

START_TEST(every_transition_follows_the_table)
{
    int checked = 0;
    for (int from = 0; from < SP_STATUS_MAX; from++) {
        for (int to = 0; to < SP_STATUS_MAX; to++) {
            bool got = sp_status_can_move((enum sp_status)from, (enum sp_status)to);
            ck_assert_msg(got == allowed[from][to], "%s -> %s: got %s, API.md says %s",
                          sp_status_name((enum sp_status)from), sp_status_name((enum sp_status)to),
                          got ? "allowed" : "refused", allowed[from][to] ? "allowed" : "refused");
            checked++;
        }
    }
    ck_assert_int_eq(checked, 25);
}
END_TEST

START_TEST(forward_moves_are_allowed_including_skips)
{
    ck_assert(sp_status_can_move(OPEN, IN_PROGRESS));
    ck_assert(sp_status_can_move(OPEN, RESOLVED));
    ck_assert(sp_status_can_move(OPEN, CLOSED));
    ck_assert(sp_status_can_move(IN_PROGRESS, PENDING));
    ck_assert(sp_status_can_move(PENDING, RESOLVED));
    ck_assert(sp_status_can_move(RESOLVED, CLOSED));
}
END_TEST

START_TEST(pending_customer_may_go_back_to_in_progress)
{
    ck_assert(sp_status_can_move(PENDING, IN_PROGRESS));
}
END_TEST

START_TEST(resolved_may_reopen_to_in_progress_only)
{
    ck_assert(sp_status_can_move(RESOLVED, IN_PROGRESS));
    ck_assert(!sp_status_can_move(RESOLVED, OPEN));
    ck_assert(!sp_status_can_move(RESOLVED, PENDING));
}
END_TEST

START_TEST(closed_is_terminal)
{
    for (int to = 0; to < SP_STATUS_MAX; to++)
        ck_assert_msg(!sp_status_can_move(CLOSED, (enum sp_status)to), "closed -> %s allowed",
                      sp_status_name((enum sp_status)to));
}
END_TEST

START_TEST(nothing_moves_back_to_open)
{
    for (int from = 0; from < SP_STATUS_MAX; from++)
        ck_assert(!sp_status_can_move((enum sp_status)from, OPEN));
}
END_TEST

START_TEST(moving_to_the_same_state_is_refused)
{
    for (int s = 0; s < SP_STATUS_MAX; s++)
        ck_assert_msg(!sp_status_can_move((enum sp_status)s, (enum sp_status)s), "%s -> itself",
                      sp_status_name((enum sp_status)s));
}
END_TEST

START_TEST(in_progress_cannot_go_back)
{
    ck_assert(!sp_status_can_move(IN_PROGRESS, OPEN));
    ck_assert(!sp_status_can_move(PENDING, OPEN));
}
END_TEST

START_TEST(out_of_range_states_are_refused)
{
    ck_assert(!sp_status_can_move(SP_STATUS_MAX, OPEN));
    ck_assert(!sp_status_can_move(OPEN, SP_STATUS_MAX));
    ck_assert(!sp_status_can_move((enum sp_status)99, CLOSED));
}
END_TEST

START_TEST(names_are_the_api_strings)
{
    ck_assert_str_eq(sp_status_name(OPEN), "open");
    ck_assert_str_eq(sp_status_name(IN_PROGRESS), "in_progress");
    ck_assert_str_eq(sp_status_name(PENDING), "pending_customer");
    ck_assert_str_eq(sp_status_name(RESOLVED), "resolved");
    ck_assert_str_eq(sp_status_name(CLOSED), "closed");
    ck_assert_ptr_nonnull(sp_status_name(SP_STATUS_MAX));
}
END_TEST

START_TEST(name_and_parse_round_trip)
{
    for (int s = 0; s < SP_STATUS_MAX; s++) {
        enum sp_status back = SP_STATUS_MAX;
        ck_assert(sp_status_parse(sp_status_name((enum sp_status)s), &back));
        ck_assert_int_eq(back, s);
    }
}
END_TEST

START_TEST(parse_rejects_unknown_names_and_leaves_output_alone)
{
    static const char *const bad[] = {"",        "Open",    "OPEN",    "opened",  "in progress",
                                      "pending", "closed ", "unknown", "reopened"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum sp_status out = RESOLVED;
        ck_assert_msg(!sp_status_parse(bad[i], &out), "accepted \"%s\"", bad[i]);
        ck_assert_int_eq(out, RESOLVED);
    }
}
END_TEST

START_TEST(customer_reply_on_pending_or_resolved_goes_to_in_progress_when_assigned)
{
    enum sp_status to = CLOSED;
    ck_assert(sp_status_after_customer_reply(PENDING, true, &to));
    ck_assert_int_eq(to, IN_PROGRESS);
    to = CLOSED;
    ck_assert(sp_status_after_customer_reply(RESOLVED, true, &to));
    ck_assert_int_eq(to, IN_PROGRESS);
}
END_TEST

START_TEST(customer_reply_on_pending_or_resolved_goes_to_open_when_unassigned)
{
    enum sp_status to = CLOSED;
    ck_assert(sp_status_after_customer_reply(PENDING, false, &to));
    ck_assert_int_eq(to, OPEN);
    to = CLOSED;
    ck_assert(sp_status_after_customer_reply(RESOLVED, false, &to));
    ck_assert_int_eq(to, OPEN);
}
END_TEST

START_TEST(customer_reply_on_open_or_in_progress_does_not_move)
{
    for (int assigned = 0; assigned < 2; assigned++) {
        enum sp_status to = CLOSED;
        ck_assert(!sp_status_after_customer_reply(OPEN, assigned, &to));
        ck_assert_int_eq(to, CLOSED);
        ck_assert(!sp_status_after_customer_reply(IN_PROGRESS, assigned, &to));
        ck_assert_int_eq(to, CLOSED);
    }
}
END_TEST

START_TEST(customer_reply_on_closed_does_not_move)
{
    /* The handler refuses it with 409 ticket_closed before asking. */
    enum sp_status to = OPEN;
    ck_assert(!sp_status_after_customer_reply(CLOSED, true, &to));
    ck_assert(!sp_status_after_customer_reply(CLOSED, false, &to));
    ck_assert_int_eq(to, OPEN);
}
END_TEST

START_TEST(event_for_leaving_resolved_is_reopened)
{
    ck_assert_str_eq(sp_status_event(RESOLVED, IN_PROGRESS), "reopened");
    ck_assert_str_eq(sp_status_event(RESOLVED, OPEN), "reopened");
}
END_TEST

START_TEST(event_for_closing_is_closed)
{
    for (int from = 0; from < CLOSED; from++)
        ck_assert_str_eq(sp_status_event((enum sp_status)from, CLOSED), "closed");
}
END_TEST

START_TEST(event_for_resolving_is_resolved)
{
    ck_assert_str_eq(sp_status_event(OPEN, RESOLVED), "resolved");
    ck_assert_str_eq(sp_status_event(IN_PROGRESS, RESOLVED), "resolved");
    ck_assert_str_eq(sp_status_event(PENDING, RESOLVED), "resolved");
}
END_TEST

START_TEST(other_moves_are_status_changed)
{
    ck_assert_str_eq(sp_status_event(OPEN, IN_PROGRESS), "status_changed");
    ck_assert_str_eq(sp_status_event(IN_PROGRESS, PENDING), "status_changed");
    ck_assert_str_eq(sp_status_event(PENDING, IN_PROGRESS), "status_changed");
    ck_assert_str_eq(sp_status_event(PENDING, OPEN), "status_changed");
    ck_assert_str_eq(sp_status_event(OPEN, PENDING), "status_changed");
}
END_TEST

static Suite *
lifecycle_suite(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *tc = tcase_create("transitions");
    tcase_add_test(tc, every_transition_follows_the_table);
    tcase_add_test(tc, forward_moves_are_allowed_including_skips);
    tcase_add_test(tc, pending_customer_may_go_back_to_in_progress);
    tcase_add_test(tc, resolved_may_reopen_to_in_progress_only);
    tcase_add_test(tc, closed_is_terminal);
    tcase_add_test(tc, nothing_moves_back_to_open);
    tcase_add_test(tc, moving_to_the_same_state_is_refused);
    tcase_add_test(tc, in_progress_cannot_go_back);
    tcase_add_test(tc, out_of_range_states_are_refused);
    suite_add_tcase(s, tc);

    tc = tcase_create("names");
    tcase_add_test(tc, names_are_the_api_strings);
    tcase_add_test(tc, name_and_parse_round_trip);
    tcase_add_test(tc, parse_rejects_unknown_names_and_leaves_output_alone);
    suite_add_tcase(s, tc);

    tc = tcase_create("customer_reply");
    tcase_add_test(tc, customer_reply_on_pending_or_resolved_goes_to_in_progress_when_assigned);
    tcase_add_test(tc, customer_reply_on_pending_or_resolved_goes_to_open_when_unassigned);
    tcase_add_test(tc, customer_reply_on_open_or_in_progress_does_not_move);
    tcase_add_test(tc, customer_reply_on_closed_does_not_move);
    suite_add_tcase(s, tc);

    tc = tcase_create("events");
    tcase_add_test(tc, event_for_leaving_resolved_is_reopened);
    tcase_add_test(tc, event_for_closing_is_closed);
    tcase_add_test(tc, event_for_resolving_is_resolved);
    tcase_add_test(tc, other_moves_are_status_changed);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(lifecycle_suite());
}
