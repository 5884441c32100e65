/*
 * support-scan: virus-scans uploaded attachments with clamd (API.md §10;
 * domain/attachment_scan.c does the work, jobs/job.c runs it). The dev
 * stack runs it as a daemon, `support-scan --loop --interval 2`: woken by
 * NOTIFY support_attachment_scan when a file is uploaded, and every
 * interval otherwise (retries while clamd is down). Cron may run it with
 * --once as a safety net. With SUPPORT_S3_BUCKET it also takes in what
 * clients uploaded to the bucket (nothing tells us: each pass looks), so
 * its interval bounds how soon an upload is scanned.
 */
#include "core/s3.h"
#include "db/db.h"
#include "domain/attachment_files.h"
#include "domain/attachment_scan.h"
#include "jobs/job.h"

/* Uploads are looked for while their URL may still be used, and a
 * minute more (a client's clock, a slow PUT). */
#define UPLOAD_MARGIN_S 60

static enum sp_rc
pass(struct sp_db *db, const struct sp_config *cfg, const struct sp_job_run *run, long *errors,
     struct sp_problem *p)
{
    struct sp_s3 s3;
    struct sp_attachment_files files;
    char err[256];
    if (!sp_attachment_files_from_config(cfg, &s3, &files, err, sizeof(err)))
        return sp_problem_set(p, SP_ERROR, "config", "%s", err);
    struct sp_attachment_scan_counts n;
    enum sp_rc rc = sp_attachment_scan_pass(db, cfg->clamd_socket, &files,
                                            cfg->attachment_upload_ttl_s + UPLOAD_MARGIN_S,
                                            run->dry_run, run->loop, run->stop, &n, p);
    *errors = n.errors;
    return rc;
}

/* The upload URL's lifetime bounds how long an upload is looked for. */
static const char *const settings[] = {
    "SUPPORT_CLAMD_SOCKET", "SUPPORT_ATTACHMENT_DIR", "SUPPORT_ATTACHMENT_UPLOAD_TTL_S",
    "SUPPORT_S3_", NULL,
};

int
main(int argc, char **argv)
{
    static const struct sp_job job = {
        .name = "support-scan",
        .settings = settings,
        .pass = pass,
        .wake_channel = SP_ATTACHMENT_SCAN_CHANNEL,
    };
    return sp_job_main(&job, argc, argv);
}
