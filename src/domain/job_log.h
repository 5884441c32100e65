/*
 * job_log: the line a batch job's pass (and its progress) is logged with:
 * its counts and dry_run, at the level sp_db_job_log_level gives the
 * outcome (another run holding the lock is no error), and the problem's
 * detail when the pass failed as a whole (sp_db_job_log_detail; p may be
 * NULL). One writer, so the jobs' lines keep one shape; a job whose line
 * has members of its own writes them between sp_log_begin and
 * sp_db_job_log_detail.
 *
 *   SP_LOG_JOB_PASS("ai_usage_pass", rc, p, SP_AI_USAGE_COUNTS, n, o->dry_run);
 */
#ifndef SP_JOB_LOG_H
#define SP_JOB_LOG_H

#include "core/log.h"
#include "db/db.h"

#define SP_LOG_JOB_PASS(event, rc, p, LIST, n, dry_run)                                            \
    do {                                                                                           \
        struct sp_log_line *sp_job_l_ = sp_log_begin(sp_db_job_log_level((rc), (p)), (event)); \
        SP_LOG_COUNTS(sp_job_l_, LIST, (n));                                                       \
        sp_log_int(sp_job_l_, "dry_run", (dry_run));                                               \
        sp_db_job_log_detail(sp_job_l_, (rc), (p));                                                \
        sp_log_end(sp_job_l_);                                                                     \
    } while (0)

#endif
