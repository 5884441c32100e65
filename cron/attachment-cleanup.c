/*
 * attachment-cleanup: removes attachment rows never uploaded within a day
 * (with SUPPORT_S3_BUCKET, their objects too), uploads attached to nothing
 * after SUPPORT_ATTACHMENT_UNATTACHED_HOURS with their files, and files in
 * storage that no row names (API.md §10, §12;
 * domain/attachment_scan.c does the work). From cron hourly with --once.
 */
#include "core/s3.h"
#include "db/db.h"
#include "domain/attachment_files.h"
#include "domain/attachment_scan.h"
#include "jobs/job.h"

static enum sp_rc
pass(struct sp_db *db, const struct sp_config *cfg, const struct sp_job_run *run, long *errors,
     struct sp_problem *p)
{
    struct sp_s3 s3;
    struct sp_attachment_files files;
    char err[256];
    if (!sp_attachment_files_from_config(cfg, &s3, &files, err, sizeof(err)))
        return sp_problem_set(p, SP_ERROR, "config", "%s", err);
    struct sp_attachment_cleanup_counts n;
    enum sp_rc rc = sp_attachment_cleanup_pass(db, &files, run->now,
                                             cfg->attachment_unattached_hours, run->dry_run,
                                             &n, p);
    *errors = n.errors;
    return rc;
}

/* Where the files are: the directory, or the bucket when SUPPORT_S3_BUCKET is set. */
static const char *const settings[] = {
    "SUPPORT_ATTACHMENT_DIR", "SUPPORT_ATTACHMENT_UNATTACHED_HOURS", "SUPPORT_S3_", NULL,
};

int
main(int argc, char **argv)
{
    static const struct sp_job job = {
        .name = "attachment-cleanup",
        .settings = settings,
        .pass = pass,
        .pinned_clock = true,
    };
    return sp_job_main(&job, argc, argv);
}
