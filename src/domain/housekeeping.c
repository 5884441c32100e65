/*
 * housekeeping: batched purges. See housekeeping.h.
 */
#include "domain/housekeeping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/log.h"
#include "db/db.h"

#define BATCH 5000

static struct sp_stmt rate_stmt = SP_STMT(
    "housekeeping_rate_windows",
    "DELETE FROM support_rate_limits WHERE ctid = ANY (ARRAY("
    "  SELECT ctid FROM support_rate_limits"
    "  WHERE window_start < support_from_ms($1::bigint) - interval '2 days' LIMIT 5000))",
    1);

static struct sp_stmt idem_stmt = SP_STMT(
    "housekeeping_idempotency",
    "DELETE FROM support_idempotency_keys WHERE ctid = ANY (ARRAY("
    "  SELECT ctid FROM support_idempotency_keys"
    "  WHERE created_at < support_from_ms($1::bigint) - interval '24 hours' LIMIT 5000))",
    1);

static enum sp_rc
purge(struct sp_db *db, struct sp_arena *a, struct sp_stmt *st, const char *now, long *count,
      struct sp_problem *p)
{
    const char *params[1] = {now};
    for (int round = 0; round < 100; round++) {
        PGresult *r = sp_db_exec(db, a, st, params, p);
        if (r == NULL)
            return p->rc;
        long n = strtol(PQcmdTuples(r), NULL, 10);
        *count += n;
        if (n < BATCH)
            break;
    }
    return SP_OK;
}

enum sp_rc
sp_housekeeping_pass(struct sp_db *db, int64_t now_ms, bool dry_run,
                     struct sp_housekeeping_counts *n, struct sp_problem *p)
{
    memset(n, 0, sizeof(*n));
    if (dry_run)
        return SP_OK;  /* nothing to report that matters; nothing changes */
    struct sp_arena a;
    sp_arena_init(&a, 4096);
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)now_ms);
    enum sp_rc rc = purge(db, &a, &rate_stmt, now, &n->rate_windows, p);
    if (rc == SP_OK)
        rc = purge(db, &a, &idem_stmt, now, &n->idempotency_keys, p);
    struct sp_log_line *l = sp_log_begin(sp_db_job_log_level(rc, p), "housekeeping");
    SP_LOG_COUNTS(l, SP_HOUSEKEEPING_COUNTS, n);
    sp_db_job_log_detail(l, rc, p);
    sp_log_end(l);
    sp_arena_destroy(&a);
    return rc;
}
