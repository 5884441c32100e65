/*
 * job_runs: the record of batch-job passes (sql/018_job_runs.sql): the
 * runner writes one upsert per pass, GET /metrics reads them all (runs,
 * failures, last success). A table because the jobs are separate,
 * short-lived processes: their record must outlive them.
 * Must not: know HTTP or the exposition format.
 */
#ifndef SP_JOB_RUNS_H
#define SP_JOB_RUNS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/problem.h"

struct sp_arena;
struct sp_db;

struct sp_job_run_row {
    const char *job;               /* arena-owned */
    long long runs, failures;
    double last_run_s;             /* unix seconds */
    double last_success_s;         /* 0: never succeeded */
    double last_duration_s;
};

/* Records one pass of job (ok or not) that took duration_ms. Runs in a
 * transaction of its own (a single statement). */
enum sp_rc sp_job_runs_record(struct sp_db *db, struct sp_arena *a, const char *job, bool ok,
                              long long duration_ms, struct sp_problem *p);
/* Every job's row, by name; *rows arena-owned. */
enum sp_rc sp_job_runs_list(struct sp_db *db, struct sp_arena *a, struct sp_job_run_row **rows,
                            size_t *n, struct sp_problem *p);

#endif
