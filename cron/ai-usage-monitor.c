/*
 * ai-usage-monitor: AI usage per hour, model and user, and its anomalies
 * flagged to the admins (API.md §12; domain/ai_usage.c does the work,
 * jobs/job.c runs it). From cron hourly with --once; --backfill
 * aggregates the last 8 days instead of 24 hours (a first run, or after
 * the job was off).
 */
#include "domain/ai_usage.h"
#include "jobs/job.h"

enum { FLAG_BACKFILL };

static enum sp_rc
pass(struct sp_db *db, const struct sp_config *cfg, const struct sp_job_run *run, long *errors,
     struct sp_problem *p)
{
    struct sp_ai_usage_opts o = {
        .now_ms = run->now,
        .dry_run = run->dry_run,
        .backfill = (run->flags & (1u << FLAG_BACKFILL)) != 0,
        .min_requests = cfg->ai_usage_min_requests,
        .user_burst = cfg->ai_usage_user_burst,
    };
    struct sp_ai_usage_counts n;
    *errors = 0;
    return sp_ai_usage_pass(db, &o, &n, p);
}

static const char *const settings[] = {"SUPPORT_AI_USAGE_", NULL};

int
main(int argc, char **argv)
{
    static const struct sp_job_flag flags[] = {
        [FLAG_BACKFILL] = {"--backfill", "aggregate the last 8 days instead of 24 hours"},
        {NULL, NULL},
    };
    static const struct sp_job job = {
        .name = "ai-usage-monitor",
        .settings = settings,
        .default_interval = 3600,
        .flags = flags,
        .pass = pass,
        .pinned_clock = true,
    };
    return sp_job_main(&job, argc, argv);
}
