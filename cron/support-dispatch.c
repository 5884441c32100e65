/*
 * support-dispatch: delivers the outbox — notifications by mail and
 * through the notification service, webhooks through their module
 * (API.md §11, §12; domain/dispatch.c does the work, jobs/job.c runs it).
 * From cron every minute with --once, or as a daemon with --loop (woken
 * by LISTEN/NOTIFY, sweeping for due retries every --interval seconds;
 * each --interval cycle is recorded as a run of the job, GET /metrics).
 * Unlike the other jobs it takes no lock: any number may run at once.
 */
#include "domain/dispatch.h"
#include "jobs/job.h"

/* --loop: each cycle of the daemon's loop is a run of the job. */
static void
cycle_done(const void *run, bool ok)
{
    sp_job_cycle_done(run, ok);
}

static enum sp_rc
pass(struct sp_db *db, const struct sp_config *cfg, const struct sp_job_run *run, long *errors,
     struct sp_problem *p)
{
    struct sp_dispatch_opts o = {
        .cfg = cfg,
        .dry_run = run->dry_run,
        .loop = run->loop && !run->dry_run,
        .sweep_s = run->interval_s,
        .stop = run->stop,
        .cycle_done = cycle_done,
        .cycle_arg = run,
    };
    struct sp_dispatch_counts n;
    enum sp_rc rc = sp_dispatch_run(db, &o, &n, p);
    *errors = n.errors;
    return rc;
}

/* What sp_dispatch_check and the deliveries read: the mail relay and its
 * templates, the notification service, the links in notifications, the
 * PII keys (a customer's address is decrypted to send to it), the booking
 * service (escalation hooks) and the webhooks' loopback switch. */
static const char *const settings[] = {
    "SUPPORT_SMTP_", "SUPPORT_MAIL_FROM", "SUPPORT_MAIL_FROM_NAME", "SUPPORT_MAIL_REPLY_KEYS",
    "SUPPORT_STAFF_MAIL", "SUPPORT_TEMPLATES_DIR", "SUPPORT_NOTIFY_", "SUPPORT_PORTAL_URL",
    "SUPPORT_CONSOLE_", "SUPPORT_ENCRYPTION_KEYS", "SUPPORT_PII_INDEX_KEY", "SUPPORT_BOOKING_",
    "SUPPORT_WEBHOOK_ALLOW_LOOPBACK", "SUPPORT_DISPATCH_", NULL,
};

int
main(int argc, char **argv)
{
    static const struct sp_job job = {
        .name = "support-dispatch",
        .settings = settings,
        .default_interval = 5,
        .pass = pass,
        .check = sp_dispatch_check,
    };
    return sp_job_main(&job, argc, argv);
}
