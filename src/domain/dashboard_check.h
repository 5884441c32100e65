/*
 * dashboard_check: compares the dashboard's counters (sql/024) with the
 * tickets they count and reports every difference; with repair, rewrites
 * them from the tickets. Run by cron/dashboard-counts-check. The counters
 * are kept by triggers in the same transaction as each change, so a
 * difference means something bypassed them (a trigger disabled for a bulk
 * load, a manual edit) — worth an alert, not routine.
 * Must not: change anything without repair, or outside one transaction.
 */
#ifndef SP_DASHBOARD_CHECK_H
#define SP_DASHBOARD_CHECK_H

#include <stdbool.h>

#include "core/problem.h"

struct sp_db;

struct sp_dashboard_check_counts {
    long drift;     /* counters (keys or hours) that differed */
    bool repaired;  /* rewritten from the tickets */
};

#define SP_DASHBOARD_CHECK_LOCK_KEY 0x5350444153484348LL /* "SPDASHCH" */

/* dry_run: report only, even with repair. One run at a time across the
 * cluster: SP_CONFLICT (nothing checked) while another holds the lock. */
enum sp_rc sp_dashboard_check_pass(struct sp_db *db, bool repair, bool dry_run,
                                   struct sp_dashboard_check_counts *n, struct sp_problem *p);

#endif
