/*
 * job_runs: one row per batch job. See job_runs.h.
 */
#include "domain/job_runs.h"

#include <stdio.h>

#include "core/arena.h"
#include "db/db.h"

static struct sp_stmt record_stmt = SP_STMT(
    "job_runs_record",
    "INSERT INTO support_job_runs AS j"
    " (job, runs, failures, last_run_at, last_success_at, last_duration_ms)"
    " VALUES ($1, 1, CASE WHEN $2::boolean THEN 0 ELSE 1 END, now(),"
    "   CASE WHEN $2::boolean THEN now() END, $3::bigint)"
    " ON CONFLICT (job) DO UPDATE SET runs = j.runs + 1,"
    "   failures = j.failures + CASE WHEN $2::boolean THEN 0 ELSE 1 END,"
    "   last_run_at = now(),"
    "   last_success_at = CASE WHEN $2::boolean THEN now() ELSE j.last_success_at END,"
    "   last_duration_ms = $3::bigint",
    3);

static struct sp_stmt list_stmt = SP_STMT_READ(
    "job_runs_list",
    "SELECT job, runs, failures, extract(epoch FROM last_run_at)::float8 AS last_run_s,"
    "  coalesce(extract(epoch FROM last_success_at), 0)::float8 AS last_success_s,"
    "  last_duration_ms / 1000.0::float8 AS last_duration_s"
    " FROM support_job_runs ORDER BY job",
    0);

enum sp_rc
sp_job_runs_record(struct sp_db *db, struct sp_arena *a, const char *job, bool ok,
                   long long duration_ms, struct sp_problem *p)
{
    char ms[32];
    snprintf(ms, sizeof(ms), "%lld", duration_ms < 0 ? 0 : duration_ms);
    const char *params[3] = {job, ok ? "true" : "false", ms};
    return sp_db_exec(db, a, &record_stmt, params, p) != NULL ? SP_OK : p->rc;
}

enum sp_rc
sp_job_runs_list(struct sp_db *db, struct sp_arena *a, struct sp_job_run_row **rows, size_t *n,
                 struct sp_problem *p)
{
    *rows = NULL;
    *n = 0;
    PGresult *r = sp_db_exec(db, a, &list_stmt, NULL, p);
    if (r == NULL)
        return p->rc;
    int nt = PQntuples(r);
    int job = PQfnumber(r, "job"), runs = PQfnumber(r, "runs"), fails = PQfnumber(r, "failures");
    int run_s = PQfnumber(r, "last_run_s"), ok_s = PQfnumber(r, "last_success_s");
    int dur = PQfnumber(r, "last_duration_s");
    struct sp_job_run_row *out = sp_arena_alloc(a, sizeof(*out) * (size_t)(nt > 0 ? nt : 1));
    for (int i = 0; i < nt; i++) {
        out[i].job = sp_db_str(r, i, job);
        out[i].runs = sp_db_int(r, i, runs);
        out[i].failures = sp_db_int(r, i, fails);
        out[i].last_run_s = sp_db_double(r, i, run_s);
        out[i].last_success_s = sp_db_double(r, i, ok_s);
        out[i].last_duration_s = sp_db_double(r, i, dur);
    }
    *rows = out;
    *n = (size_t)nt;
    return SP_OK;
}
