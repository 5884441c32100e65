/*
 * db: connection, lazy prepared statements, transactions, SQLSTATE map.
 */
#include "db/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/hash.h"
#include "core/log.h"

static int next_slot = 1;

/* The one table that maps SQLSTATE codes (never message text) to outcomes. */
static const struct {
    const char *prefix;
    enum sp_rc rc;
    const char *code;
} sqlstate_map[] = {
    {"23505", SP_CONFLICT, "conflict"},             /* unique_violation */
    {"23503", SP_INVALID, "validation_failed"},     /* foreign_key_violation */
    {"23514", SP_INVALID, "validation_failed"},     /* check_violation */
    {"22", SP_INVALID, "validation_failed"},        /* data exceptions */
    {"40001", SP_UNAVAILABLE, "dependency_unavailable"}, /* serialization_failure */
    {"40P01", SP_UNAVAILABLE, "dependency_unavailable"}, /* deadlock_detected */
    {"57014", SP_UNAVAILABLE, "dependency_unavailable"}, /* query_canceled (timeout) */
    {"08", SP_UNAVAILABLE, "dependency_unavailable"},    /* connection exceptions */
    {"57P", SP_UNAVAILABLE, "dependency_unavailable"},   /* admin shutdown etc. */
    {"53", SP_UNAVAILABLE, "dependency_unavailable"},    /* insufficient resources */
};

void
sp_db_init(struct sp_db *db, const char *conninfo, long statement_timeout_ms)
{
    memset(db, 0, sizeof(*db));
    db->conninfo = strdup(conninfo);
    db->statement_timeout_ms = statement_timeout_ms;
}

void
sp_db_close(struct sp_db *db)
{
    if (db->conn != NULL)
        PQfinish(db->conn);
    db->conn = NULL;
    free(db->conninfo);
    db->conninfo = NULL;
}

static void
forget_connection(struct sp_db *db)
{
    if (db->conn != NULL)
        PQfinish(db->conn);
    db->conn = NULL;
    db->tx_depth = 0;
    memset(db->prepared, 0, sizeof(db->prepared));
    db->ndynamic = 0;
}

enum sp_rc
sp_db_connect(struct sp_db *db, struct sp_problem *p)
{
    if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
        return SP_OK;
    forget_connection(db);
    db->conn = PQconnectdb(db->conninfo);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        /* libpq's message may contain the host but never the password. */
        struct sp_log_line *l = sp_log_begin(SP_LOG_ERROR, "db_connect_failed");
        sp_log_str(l, "error", PQerrorMessage(db->conn));
        sp_log_end(l);
        forget_connection(db);
        return sp_problem_set(p, SP_UNAVAILABLE, "dependency_unavailable",
                              "the database is unavailable");
    }
    char sql[128];
    snprintf(sql, sizeof(sql),
             "SET statement_timeout = %ld; SET TIME ZONE 'UTC'; SET application_name = 'support'",
             db->statement_timeout_ms);
    PGresult *r = PQexec(db->conn, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        forget_connection(db);
        return sp_problem_set(p, SP_UNAVAILABLE, "dependency_unavailable",
                              "the database is unavailable");
    }
    return SP_OK;
}

static void
clear_result(void *r)
{
    PQclear(r);
}

/* Maps a failed result to an outcome; logs our faults once, here. */
static enum sp_rc
fail(struct sp_db *db, PGresult *r, const char *what, struct sp_problem *p)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    enum sp_rc rc = SP_ERROR;
    const char *code = "internal";
    if (state == NULL && PQstatus(db->conn) != CONNECTION_OK) {
        rc = SP_UNAVAILABLE;
        code = "dependency_unavailable";
    }
    for (size_t i = 0; state != NULL && i < sizeof(sqlstate_map) / sizeof(sqlstate_map[0]); i++) {
        if (strncmp(state, sqlstate_map[i].prefix, strlen(sqlstate_map[i].prefix)) == 0) {
            rc = sqlstate_map[i].rc;
            code = sqlstate_map[i].code;
            break;
        }
    }
    struct sp_log_line *l = sp_log_begin(rc == SP_CONFLICT ? SP_LOG_INFO : SP_LOG_ERROR, "db_error");
    sp_log_str(l, "statement", what);
    sp_log_str(l, "sqlstate", state ? state : "none");
    sp_log_str(l, "constraint", r ? PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME) : NULL);
    sp_log_str(l, "error", r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : PQerrorMessage(db->conn));
    sp_log_end(l);
    if (p->rc == SP_OK || p->code == NULL)
        sp_problem_set(p, rc, code, rc == SP_UNAVAILABLE ? "the database is unavailable"
                                                         : "the request could not be completed");
    else
        p->rc = rc;
    /* Keep the constraint name for callers that map conflicts precisely. */
    if (rc == SP_CONFLICT && r != NULL) {
        const char *c = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
        snprintf(p->detail, sizeof(p->detail), "%s", c ? c : "unique");
    }
    return rc;
}

static bool
result_ok(PGresult *r)
{
    ExecStatusType s = PQresultStatus(r);
    return s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK;
}

static bool
connection_lost(struct sp_db *db)
{
    return db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK;
}

/* Prepares (once per connection: *prepared says whether it was) and runs
 * a named statement; retries once on a fresh connection when the old one
 * died outside a transaction. */
static PGresult *
exec_named(struct sp_db *db, struct sp_arena *a, const char *name, const char *sql, int nparams,
           const char *const *params, bool *(*flag)(struct sp_db *, const void *),
           const void *key, struct sp_problem *p)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (sp_db_connect(db, p) != SP_OK)
            return NULL;
        bool *prepared = flag(db, key);
        if (prepared == NULL || !*prepared) {
            PGresult *pr = PQprepare(db->conn, prepared ? name : "", sql, nparams, NULL);
            if (!result_ok(pr)) {
                if (connection_lost(db) && db->tx_depth == 0 && attempt == 0) {
                    PQclear(pr);
                    forget_connection(db);
                    continue;
                }
                fail(db, pr, name, p);
                PQclear(pr);
                return NULL;
            }
            PQclear(pr);
            if (prepared != NULL)
                *prepared = true;
        }
        PGresult *r = PQexecPrepared(db->conn, prepared ? name : "", nparams, params, NULL, NULL, 0);
        if (r != NULL)
            sp_arena_defer(a, clear_result, r);
        if (r != NULL && result_ok(r))
            return r;
        if (connection_lost(db) && db->tx_depth == 0 && attempt == 0) {
            forget_connection(db);
            continue;
        }
        fail(db, r, name, p);
        if (connection_lost(db))
            forget_connection(db);
        return NULL;
    }
    return NULL;
}

static bool *
static_flag(struct sp_db *db, const void *key)
{
    return &db->prepared[((const struct sp_stmt *)key)->slot];
}

PGresult *
sp_db_exec(struct sp_db *db, struct sp_arena *a, struct sp_stmt *st, const char *const *params,
           struct sp_problem *p)
{
    if (st->slot == 0) {
        if (next_slot >= SP_DB_MAX_STMTS)
            abort(); /* a programming error: raise SP_DB_MAX_STMTS */
        st->slot = next_slot++;
    }
    return exec_named(db, a, st->name, st->sql, st->nparams, params, static_flag, st, p);
}

/* A dynamic statement's "prepared" flag: its slot in the per-connection
 * table (added on first sight, ready once PQprepare succeeded). */
static bool *
dynamic_flag(struct sp_db *db, const void *key)
{
    unsigned long long h = *(const unsigned long long *)key;
    for (int i = 0; i < db->ndynamic; i++)
        if (db->dynamic[i] == h)
            return &db->dynamic_ready[i];
    if (db->ndynamic >= SP_DB_MAX_DYNAMIC)
        return NULL;  /* table full: run it as an unnamed statement */
    db->dynamic[db->ndynamic] = h;
    db->dynamic_ready[db->ndynamic] = false;
    return &db->dynamic_ready[db->ndynamic++];
}

PGresult *
sp_db_exec_dynamic(struct sp_db *db, struct sp_arena *a, const char *sql, int nparams,
                   const char *const *params, struct sp_problem *p)
{
    unsigned long long h = sp_fnv1a(SP_FNV1A_INIT, sql, strlen(sql));
    char name[32];
    snprintf(name, sizeof(name), "dyn_%016llx", h);
    return exec_named(db, a, name, sql, nparams, params, dynamic_flag, &h, p);
}

PGresult *
sp_db_exec_sql(struct sp_db *db, struct sp_arena *a, const char *sql, struct sp_problem *p)
{
    if (sp_db_connect(db, p) != SP_OK)
        return NULL;
    PGresult *r = PQexec(db->conn, sql);
    if (r != NULL)
        sp_arena_defer(a, clear_result, r);
    if (r != NULL && result_ok(r))
        return r;
    fail(db, r, "sql", p);
    if (connection_lost(db))
        forget_connection(db);
    return NULL;
}

enum sp_rc
sp_db_begin(struct sp_db *db, struct sp_arena *a, struct sp_problem *p)
{
    if (db->tx_depth == 0 && sp_db_exec_sql(db, a, "BEGIN", p) == NULL) {
        /* A connection that died while idle (database restart) is only
         * noticed now; BEGIN has no effect, so retrying it is safe. */
        if (!connection_lost(db))
            return p->rc;
        sp_problem_init(p);
        if (sp_db_exec_sql(db, a, "BEGIN", p) == NULL)
            return p->rc;
    }
    db->tx_depth++;
    return SP_OK;
}

enum sp_rc
sp_db_commit(struct sp_db *db, struct sp_arena *a, struct sp_problem *p)
{
    if (db->tx_depth > 1) {
        db->tx_depth--;
        return SP_OK;
    }
    db->tx_depth = 0;
    PGresult *r = sp_db_exec_sql(db, a, "COMMIT", p);
    if (r != NULL && strcmp(PQcmdStatus(r), "ROLLBACK") == 0)
        return sp_problem_set(p, SP_ERROR, "internal", "the transaction was aborted");
    return r == NULL ? p->rc : SP_OK;
}

void
sp_db_rollback(struct sp_db *db, struct sp_arena *a)
{
    if (db->conn != NULL && PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
        struct sp_problem ignored;
        sp_problem_init(&ignored);
        sp_db_exec_sql(db, a, "ROLLBACK", &ignored);
    }
    db->tx_depth = 0;
}

const char *
sp_db_str(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

long long
sp_db_int(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

bool
sp_db_bool(const PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}
