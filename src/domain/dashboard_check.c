/*
 * dashboard_check: the drift report and the repair. See dashboard_check.h.
 */
#include "domain/dashboard_check.h"

#include <string.h>

#include "core/arena.h"
#include "core/log.h"
#include "db/db.h"

/* support_ticket_counts_drift() reads counters and tickets in one
 * statement, hence one snapshot: a difference is never a change in
 * flight. */
#define DRIFT_COLUMNS(C, SEP)                                                                      \
    C(DC_WHAT, "what", str, what) SEP                                                              \
    C(DC_KEY, "key", str, key) SEP                                                                 \
    C(DC_KEPT, "kept", str, kept) SEP                                                              \
    C(DC_ACTUAL, "actual", str, actual)
enum drift_column { DRIFT_COLUMNS(SP_COL_ENUM, ) DC_COUNT };

static struct sp_stmt drift_stmt = SP_STMT_READ(
    "dashboard_drift",
    "SELECT " DRIFT_COLUMNS(SP_COL_SQL, ", ") " FROM support_ticket_counts_drift() LIMIT 1000", 0);

static struct sp_stmt recount_stmt =
    SP_STMT("dashboard_recount", "SELECT support_ticket_counts_recount()", 0);

struct drift_row {
    const char *what, *key, *kept, *actual;
};

static void
log_drift(const PGresult *r, int row)
{
    struct drift_row d, *out = &d;
    const int col = 0;
    DRIFT_COLUMNS(SP_COL_READ, )
    struct sp_log_line *l = sp_log_begin(SP_LOG_WARN, "dashboard_drift");
    sp_log_str(l, "what", d.what);
    sp_log_str(l, "key", d.key);
    sp_log_str(l, "kept", d.kept);
    sp_log_str(l, "actual", d.actual);
    sp_log_end(l);
}

static enum sp_rc
check(struct sp_db *db, struct sp_arena *a, bool repair, struct sp_dashboard_check_counts *n,
      struct sp_problem *p)
{
    PGresult *r = sp_db_exec(db, a, &drift_stmt, NULL, p);
    if (r == NULL)
        return p->rc;
    n->drift = PQntuples(r);
    for (int i = 0; i < PQntuples(r); i++)
        log_drift(r, i);
    if (!repair || n->drift == 0)
        return SP_OK;
    if (sp_db_exec(db, a, &recount_stmt, NULL, p) == NULL)
        return p->rc;
    n->repaired = true;
    return SP_OK;
}

enum sp_rc
sp_dashboard_check_pass(struct sp_db *db, bool repair, bool dry_run,
                        struct sp_dashboard_check_counts *n, struct sp_problem *p)
{
    memset(n, 0, sizeof(*n));
    struct sp_arena a;
    sp_arena_init(&a, 4096);
    /* Two runs at once would both report (and both repair) the same
     * drift (API.md §12: one run at a time). */
    enum sp_rc rc = sp_db_job_lock(db, &a, SP_DASHBOARD_CHECK_LOCK_KEY, "dashboard_check_busy", p);
    if (rc == SP_OK) {
        rc = check(db, &a, repair && !dry_run, n, p);
        sp_db_job_unlock(db, &a, SP_DASHBOARD_CHECK_LOCK_KEY);
    }
    struct sp_log_line *l = sp_log_begin(sp_db_job_log_level(rc, p), "dashboard_check");
    sp_log_int(l, "drift", n->drift);
    sp_log_int(l, "repaired", n->repaired ? 1 : 0);
    sp_db_job_log_detail(l, rc, p);
    sp_log_end(l);
    sp_arena_destroy(&a);
    return rc;
}
