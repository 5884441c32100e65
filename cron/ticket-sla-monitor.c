/*
 * ticket-sla-monitor: the SLA job of API.md §12 (domain/sla_monitor.c does
 * the work; jobs/job.c runs it), followed by housekeeping (purging spent
 * rate-limit windows and idempotency keys). From cron every minute.
 */
#include "core/clock.h"
#include "db/db.h"
#include "domain/housekeeping.h"
#include "domain/sla_monitor.h"
#include "jobs/job.h"

static enum sp_rc
pass(struct sp_db *db, const struct sp_config *cfg, const struct sp_job_run *run, long *errors,
     struct sp_problem *p)
{
    struct sp_sla_monitor_opts o = {
        .now = run->now,
        .warn_fraction = cfg->sla_warn_fraction,
        .autoclose_days = cfg->autoclose_days,
        .customer_channels = cfg->customer_channels,
        .agent_max_open = cfg->agent_max_open_tickets,
        .dry_run = run->dry_run,
        .stop = run->stop,
    };
    struct sp_sla_monitor_counts n;
    enum sp_rc rc = sp_sla_monitor_pass(db, &o, &n, p);
    *errors = n.errors;
    if (rc != SP_OK)
        return rc;  /* also "another run holds the lock": that run purges; and a stop */
    if (sp_job_stopping(run))
        return sp_db_job_stop(p);  /* the next run purges: a stop ends the pass here */
    /* Rate windows and idempotency keys live in real time, whatever clock
     * --now pins for the SLA decisions (QA: a pinned future clock purged
     * keys minutes old). */
    struct sp_housekeeping_counts h;
    return sp_housekeeping_pass(db, sp_clock_now_ms(), run->dry_run, &h, p);
}

/* SUPPORT_CUSTOMER_CHANNELS: where the customer notifications it queues
 * go; SUPPORT_AGENT_MAX_OPEN_TICKETS: the cap of the waiting tickets it
 * routes. */
static const char *const settings[] = {
    "SUPPORT_AUTOCLOSE_DAYS", "SUPPORT_SLA_WARN_FRACTION", "SUPPORT_CUSTOMER_CHANNELS",
    "SUPPORT_AGENT_MAX_OPEN_TICKETS", NULL,
};

int
main(int argc, char **argv)
{
    static const struct sp_job job = {
        .name = "ticket-sla-monitor",
        .settings = settings,
        .pass = pass,
        .pinned_clock = true,
    };
    return sp_job_main(&job, argc, argv);
}
