/*
 * job_log: the line a batch job's pass (and its progress) is logged with:
 * its counts and dry_run, at the level sp_db_job_log_level gives the
 * outcome (another run holding the lock is no error). One writer, so the
 * jobs' lines keep one shape.
 *
 *   SP_LOG_JOB_PASS("ai_usage_pass", rc, SP_AI_USAGE_COUNTS, n, o->dry_run);
 */
#ifndef SP_JOB_LOG_H
#define SP_JOB_LOG_H

#include "core/log.h"
#include "db/db.h"

#define SP_LOG_JOB_PASS(event, rc, LIST, n, dry_run)                                               \
    do {                                                                                           \
        struct sp_log_line *sp_job_l_ = sp_log_begin(sp_db_job_log_level(rc), (event));           \
        SP_LOG_COUNTS(sp_job_l_, LIST, (n));                                                       \
        sp_log_int(sp_job_l_, "dry_run", (dry_run));                                               \
        sp_log_end(sp_job_l_);                                                                     \
    } while (0)

#endif
