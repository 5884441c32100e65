/*
 * sla_monitor: one pass of the ticket-sla-monitor job (API.md §12, issue #4
 * item 10): route tickets left waiting for an agent that one can now take
 * (at most SP_SLA_MONITOR_ROUTE_MAX a pass), warn before a target runs
 * out (once per deadline of a target), mark breaches
 * (once per target) and escalate (+1 priority up to urgent, team
 * notified), auto-close tickets resolved longer than SUPPORT_AUTOCLOSE_DAYS.
 *
 * Every change goes through the lifecycle service (ticket_state.h), one
 * short transaction per ticket: a failure on one ticket costs only that
 * ticket. A ticket an agent holds locked is skipped (FOR UPDATE SKIP
 * LOCKED) and picked up by the next pass, so the job never waits on a
 * person. Candidates are read in keyset pages of opts->batch rows through
 * the partial indexes support_tickets_sla_breach_check (warnings and
 * breaches, by sla_breach_check_at: the next target still to judge) and
 * support_tickets_resolved_at (auto-close, by resolved_at).
 *
 * Choices where API.md is silent:
 * - A warning is due when sp_sla_warn_at() <= now <= the target's due and
 *   that due is later than the latest one warned of for the target
 *   (sla_warned_*_due_at, sql/087), or none was; a target that already
 *   passed is the breach step's, not warned any more. One warning per
 *   deadline value: a due moved later than every warned one (a priority
 *   lowered, a longer category target, a pause's resume) is warned once
 *   more; a due moved back to a warned one (lowered, then raised back)
 *   or earlier, kept, or a reopen, does not warn again. It goes to the
 *   assignee, to the category's team when there is none, and to both
 *   when the assignee's support_agents.status is away (nobody else
 *   would act before the due).
 * - A breach is reported once per target (sla.h): a late first response
 *   and, later, a missed resolution are two `sla_breached` events, each
 *   with its target, its escalation, team notification and webhook. The
 *   first escalation retargets (normal → high cuts resolution from 2880
 *   to 480 minutes; a raise never moves a due later, sla.h, so a
 *   category's tighter target stays); it is that new resolution due that
 *   is judged next, by a later pass, when it is still ahead of the pass's
 *   now. One the escalation puts at or before now is counted as reported
 *   with the breach that raised it (sp_sla_settle_raise(), in the same
 *   write): one miss, one report, one raise. Both targets missed at one
 *   look: one report, one escalation (sp_sla_check_breach()).
 * - Auto-close counts from resolved_at (sql/043), the last move to
 *   resolved: "N days after being resolved" (API.md §5.1). Later writes
 *   that leave the ticket resolved (an internal note, a scan verdict)
 *   do not restart the wait; a customer's reply reopens the ticket and a
 *   later resolve starts it afresh. support_tickets_resolved_at indexes it.
 * - The escalation does not set escalated_at: that column belongs to the
 *   escalation to provider operations (POST .../escalate).
 *
 * Must not: read the clock (opts->now is the time of every decision and of
 * closed_at); write ticket columns except through sp_ticket_apply(), the
 * due a warning was about (sla_warned_*), and closed_at (see the .c).
 */
#ifndef SP_SLA_MONITOR_H
#define SP_SLA_MONITOR_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/log.h"
#include "core/problem.h"

struct sp_db;

/* The pg_try_advisory_lock key that keeps runs from overlapping
 * cluster-wide ("SPSLAMON" in ASCII). */
#define SP_SLA_MONITOR_LOCK_KEY INT64_C(0x5350534C414D4F4E)
#define SP_SLA_MONITOR_BATCH 500
/* The most waiting tickets one pass routes: a backlog meeting its first
 * free agents is handed out over a few minutes, each ticket by the
 * routing of its category, not all at once in one pass. */
#define SP_SLA_MONITOR_ROUTE_MAX 100

struct sp_sla_monitor_opts {
    int64_t now;          /* ms since the epoch */
    double warn_fraction; /* warn when less than this share of a target is left (0..1) */
    long autoclose_days;  /* resolved tickets older than this close */
    unsigned customer_channels; /* the closing's notification (SUPPORT_CUSTOMER_CHANNELS) */
    long agent_max_open;  /* routing's open-ticket cap (SUPPORT_AGENT_MAX_OPEN_TICKETS) */
    bool dry_run;         /* do everything in transactions that roll back; no lock */
    int batch;            /* candidates per query; <= 0 = SP_SLA_MONITOR_BATCH */
    /* When non-NULL and set (a signal handler's flag), the pass stops
     * after the ticket in hand, skipping the rest (sp_db_job_stop). */
    volatile sig_atomic_t *stop;
};

#define SP_SLA_MONITOR_COUNTS(F)                                                                   \
    F(routed)       /* waiting tickets routed to an agent now free */                              \
    F(warned)                                                                                      \
    F(breached)                                                                                    \
    F(escalated)    /* breaches that raised the priority (not already urgent) */                   \
    F(auto_closed)                                                                                 \
    F(skipped)      /* locked by someone else, or changed since it was listed */                   \
    F(errors)       /* tickets whose transaction failed */
struct sp_sla_monitor_counts {
    SP_SLA_MONITOR_COUNTS(SP_LOG_COUNT_MEMBER)
};

/* One pass. Takes the advisory lock on db's session (not in a dry run),
 * runs the warn, breach and auto-close steps, releases it, and logs a
 * `sla_monitor_pass` line with the counts (dry_run tells whether they are
 * what it would have done). Returns SP_OK (per-ticket failures are only
 * counted in *n), SP_CONFLICT (sp_db_job_lock's "conflict") when another
 * session holds the lock (nothing done; logged as
 * sla_monitor_busy), sp_db_job_stop's SP_UNAVAILABLE
 * "stopped" when opts->stop cut it short (the pass line then at warn,
 * with the counts of what it did), or SP_UNAVAILABLE / SP_ERROR
 * when the pass could not run or lost its session midway. */
enum sp_rc sp_sla_monitor_pass(struct sp_db *db, const struct sp_sla_monitor_opts *opts,
                               struct sp_sla_monitor_counts *n, struct sp_problem *p);

#endif
