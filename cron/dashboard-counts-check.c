/*
 * dashboard-counts-check: recomputes the agent dashboard's counters from
 * the tickets and reports any drift (exit 1); with --repair rewrites them
 * (domain/dashboard_check.c does the work, jobs/job.c runs it). Daily from
 * cron with --once; after a bulk load with the triggers off, with --repair.
 */
#include "db/db.h"
#include "domain/dashboard_check.h"
#include "jobs/job.h"

static const struct sp_job_flag flags[] = {
    {"--repair", "rewrite the counters from the tickets when they differ (locks ticket writes"
                 " for the recount; gives up after 5 tries of 200 ms when writes hold the"
                 " tickets)"},
    {NULL, NULL},
};

static enum sp_rc
pass(struct sp_db *db, const struct sp_config *cfg, const struct sp_job_run *run, long *errors,
     struct sp_problem *p)
{
    (void)cfg;
    struct sp_dashboard_check_counts n;
    bool repair = (run->flags & 1u) != 0;
    enum sp_rc rc = sp_dashboard_check_pass(db, repair, run->dry_run, &n, p);
    /* Drift that was repaired is reported in the log, not as a failure. */
    *errors = n.repaired ? 0 : n.drift;
    return rc;
}

int
main(int argc, char **argv)
{
    static const struct sp_job job = {
        .name = "dashboard-counts-check",
        .flags = flags,
        .pass = pass,
    };
    return sp_job_main(&job, argc, argv);
}
