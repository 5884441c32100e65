/*
 * dashboard_check: the drift report and the repair. See dashboard_check.h.
 */
#include "domain/dashboard_check.h"

#include <string.h>
#include <time.h>

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

/* The check and the recount read every ticket: linear in the table
 * (QA: drift 1.05 s, recount 1.9 s at 100k tickets), so the workers'
 * statement_timeout (SUPPORT_DB_STATEMENT_TIMEOUT_MS, 5 s: meant for
 * requests) would fail them from about 500k tickets on, short of the
 * million the design aims at. A daily job that reads a table has a bound
 * of its own, fixed and generous (30 times the million-ticket figure):
 * one that only catches a runaway, with no setting to keep in step. */
#define CHECK_TIMEOUT "300000"   /* ms */
/* The client's own bound on the wait, past the server's (as the store's
 * margin over statement_timeout). */
#define CHECK_WAIT_MS (300000L + 5000L)

/* The recount holds ticket writes (SHARE on support_tickets) for its
 * length. Waiting for that lock queues every API write behind the wait
 * (QA: a POST /support/tickets waited 2.99 s), so it is asked for with
 * a short lock_timeout, and again after a pause; a failed try rolls back
 * only its own subtransaction (the plpgsql block). Locks the counters in
 * the same try: the recount then waits for nothing. */
#define LOCK_WAIT "200ms"
#define LOCK_TRIES 5
#define LOCK_PAUSE_MS 1000L
static const char lock_try_sql[] =
    "DO $$ BEGIN"
    " PERFORM set_config('lock_timeout', '" LOCK_WAIT "', true);"
    " LOCK TABLE support_tickets IN SHARE MODE;"
    " LOCK TABLE support_ticket_counts, support_ticket_hours IN EXCLUSIVE MODE;"
    " PERFORM set_config('support.recount_locked', 'on', true);"
    " EXCEPTION WHEN lock_not_available THEN NULL;"
    " END $$";
static struct sp_stmt locked_stmt = SP_STMT(
    "dashboard_recount_locked",
    "SELECT coalesce(current_setting('support.recount_locked', true), '') = 'on'", 0);

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

static void
pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Takes the recount's locks (inside the caller's transaction): *locked,
 * or not after LOCK_TRIES tries (logged). */
static enum sp_rc
lock_for_recount(struct sp_db *db, struct sp_arena *a, bool *locked, struct sp_problem *p)
{
    *locked = false;
    for (int i = 1; i <= LOCK_TRIES; i++) {
        if (i > 1)
            pause_ms(LOCK_PAUSE_MS);
        PGresult *r;
        if (sp_db_exec_sql(db, a, lock_try_sql, p) == NULL ||
            (r = sp_db_exec(db, a, &locked_stmt, NULL, p)) == NULL)
            return p->rc;
        if (sp_db_bool(r, 0, 0)) {
            *locked = true;
            return SP_OK;
        }
    }
    struct sp_log_line *l = sp_log_begin(SP_LOG_WARN, "dashboard_repair_skipped");
    sp_log_int(l, "tries", LOCK_TRIES);
    sp_log_str(l, "lock_wait", LOCK_WAIT);
    sp_log_str(l, "detail", "ticket writes held the tickets table at each try; run --repair"
                            " again");
    sp_log_end(l);
    return SP_OK;
}

/* Inside the caller's transaction. */
static enum sp_rc
check(struct sp_db *db, struct sp_arena *a, bool repair, struct sp_dashboard_check_counts *n,
      struct sp_problem *p)
{
    if (sp_db_exec_sql(db, a, "SET LOCAL statement_timeout = " CHECK_TIMEOUT, p) == NULL)
        return p->rc;
    PGresult *r = sp_db_exec(db, a, &drift_stmt, NULL, p);
    if (r == NULL)
        return p->rc;
    n->drift = PQntuples(r);
    for (int i = 0; i < PQntuples(r); i++)
        log_drift(r, i);
    if (!repair || n->drift == 0)
        return SP_OK;
    bool locked;
    if (lock_for_recount(db, a, &locked, p) != SP_OK)
        return p->rc;
    if (!locked)
        return SP_OK;
    if (sp_db_exec(db, a, &recount_stmt, NULL, p) == NULL)
        return p->rc;
    n->repaired = true;
    return SP_OK;
}

/* check() in a transaction of its own, under its own bounds. */
static enum sp_rc
check_in_transaction(struct sp_db *db, struct sp_arena *a, bool repair,
                     struct sp_dashboard_check_counts *n, struct sp_problem *p)
{
    long was = sp_db_wait_limit(db, 0);
    sp_db_wait_limit(db, was > 0 ? CHECK_WAIT_MS : 0);   /* none stays none */
    enum sp_rc rc = sp_db_begin(db, a, p);
    if (rc == SP_OK) {
        rc = check(db, a, repair, n, p);
        if (rc == SP_OK && n->repaired)
            rc = sp_db_commit(db, a, p);
        else
            sp_db_rollback(db, a);
        if (rc != SP_OK)
            n->repaired = false;
    }
    sp_db_wait_limit(db, was);
    return rc;
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
        rc = check_in_transaction(db, &a, repair && !dry_run, n, p);
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
