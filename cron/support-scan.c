/*
 * support-scan: virus-scans uploaded attachments with clamd (API.md §10;
 * domain/attachment_scan.c does the work, jobs/job.c runs it). The dev
 * stack runs it as a daemon, `support-scan --loop --interval 2`: woken by
 * NOTIFY support_attachment_scan when a file is uploaded, and every
 * interval otherwise (retries while clamd is down). Cron may run it with
 * --once as a safety net.
 */
#include "db/db.h"
#include "domain/attachment_scan.h"
#include "jobs/job.h"

static enum sp_rc
pass(struct sp_db *db, const struct sp_config *cfg, const struct sp_job_run *run, long *errors,
     struct sp_problem *p)
{
    struct sp_attachment_scan_counts n;
    enum sp_rc rc = sp_attachment_scan_pass(db, cfg->clamd_socket, cfg->attachment_dir,
                                            run->dry_run, run->stop, &n, p);
    *errors = n.errors;
    return rc;
}

int
main(int argc, char **argv)
{
    static const struct sp_job job = {
        .name = "support-scan",
        .settings_help = "  (SUPPORT_CLAMD_SOCKET and SUPPORT_ATTACHMENT_DIR below)\n",
        .pass = pass,
        .wake_channel = SP_ATTACHMENT_SCAN_CHANNEL,
    };
    return sp_job_main(&job, argc, argv);
}
