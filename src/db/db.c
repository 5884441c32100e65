/*
 * db: connection, lazy prepared statements, transactions, SQLSTATE map,
 * and the reconnect rule (sp_db_may_retry). See db.h.
 */
#include "db/db.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/metrics.h"

static int next_slot = 1;

#define DB_UNAVAILABLE "the database is unavailable"
#define DB_NOT_MIGRATED "the database schema is not migrated: run support-migrate"

/* The one table that maps SQLSTATE codes (never message text) to outcomes,
 * with the detail a client reads when the default of its outcome would
 * mislead it (NULL: the default), and the event the failure is logged as
 * when db_error would send an operator the wrong way (NULL: db_error). */
static const struct {
    const char *prefix;
    enum sp_rc rc;
    const char *code;
    const char *detail;
    const char *event;
} sqlstate_map[] = {
    {"23505", SP_CONFLICT, "conflict", NULL, NULL},             /* unique_violation */
    {"23503", SP_INVALID, "validation_failed", NULL, NULL},     /* foreign_key_violation */
    {"23514", SP_INVALID, "validation_failed", NULL, NULL},     /* check_violation */
    {"22", SP_INVALID, "validation_failed", NULL, NULL},        /* data exceptions */
    {"40001", SP_UNAVAILABLE, "dependency_unavailable", NULL, NULL}, /* serialization_failure */
    {"40P01", SP_UNAVAILABLE, "dependency_unavailable", NULL, NULL}, /* deadlock_detected */
    /* query_canceled: our statement_timeout (nothing here cancels a
     * query otherwise). The database is up, only slow or held by a lock:
     * "unavailable" would send an operator to the wrong place. */
    {"57014", SP_UNAVAILABLE, "dependency_unavailable",
     "the database did not answer in time; try again", NULL},
    {"08", SP_UNAVAILABLE, "dependency_unavailable", NULL, NULL},    /* connection exceptions */
    {"57P", SP_UNAVAILABLE, "dependency_unavailable", NULL, NULL},   /* admin shutdown etc. */
    {"53", SP_UNAVAILABLE, "dependency_unavailable", NULL, NULL},    /* insufficient resources */
    /* undefined_table, invalid_schema_name: the schema this release
     * expects is not there (a new database support-migrate never ran on,
     * a wrong dbname). Every statement would fail alike until an
     * operator migrates, as readyz's "migrations" check says too. */
    {"42P01", SP_UNAVAILABLE, "dependency_unavailable", DB_NOT_MIGRATED, "db_not_migrated"},
    {"3F000", SP_UNAVAILABLE, "dependency_unavailable", DB_NOT_MIGRATED, "db_not_migrated"},
};

void
sp_db_init(struct sp_db *db, const char *conninfo, long statement_timeout_ms)
{
    memset(db, 0, sizeof(*db));
    db->conninfo = strdup(conninfo);
    db->setting = "SUPPORT_DATABASE_URL";
    db->statement_timeout_ms = statement_timeout_ms;
}

void
sp_db_set_setting(struct sp_db *db, const char *setting)
{
    db->setting = setting;
}

bool
sp_db_conninfo_ok(const char *setting, const char *conninfo, char *err, size_t errlen)
{
    if (conninfo == NULL || *conninfo == '\0')
        return true;
    char *why = NULL;   /* quotes conninfo: freed unread */
    PQconninfoOption *opts = PQconninfoParse(conninfo, &why);
    PQfreemem(why);
    if (opts != NULL) {
        PQconninfoFree(opts);
        return true;
    }
    snprintf(err, errlen, "%s: not a libpq connection string or URI (e.g."
                          " postgresql://user@host/dbname or host=... dbname=...)", setting);
    return false;
}

bool
sp_db_check_settings(const struct sp_config *cfg, char *err, size_t errlen)
{
    return sp_db_conninfo_ok("SUPPORT_DATABASE_URL", cfg->database_url, err, errlen) &&
           sp_db_conninfo_ok("SUPPORT_DATABASE_READ_URL", cfg->database_read_url, err, errlen);
}

/* libpq's message about db's connection, safe to log: NULL-free, and
 * replaced by a fixed text naming the setting (in buf) when it may quote
 * the connection string — libpq quotes a conninfo it cannot parse whole,
 * and some option values — or holds the password. Server errors
 * ("password authentication failed for user", "Connection refused") name
 * the host and user only, and are kept. */
static const char *
safe_error(const struct sp_db *db, char *buf, size_t len)
{
    const char *msg = PQerrorMessage(db->conn);
    const char *info = db->conninfo != NULL ? db->conninfo : "";
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(info, &why);
    PQfreemem(why);
    bool quoted = opts == NULL || (*info != '\0' && strstr(msg, info) != NULL);
    for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL && !quoted; o++)
        quoted = strcmp(o->keyword, "password") == 0 && o->val != NULL && *o->val != '\0' &&
                 strstr(msg, o->val) != NULL;
    PQconninfoFree(opts);
    if (!quoted)
        return msg;
    snprintf(buf, len, "%s: libpq refused it (its message is not logged: it quotes the"
                       " setting's value); check it with --check-config", db->setting);
    return buf;
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

/* Forgets the connection and what was prepared on it. An open
 * transaction stays counted (tx_depth): it is lost, and sp_db_connect
 * refuses to replace its connection until it is rolled back. */
static void
drop_connection(struct sp_db *db)
{
    if (db->conn != NULL)
        PQfinish(db->conn);
    db->conn = NULL;
    memset(db->prepared, 0, sizeof(db->prepared));
    db->ndynamic = 0;
    db->listening = false;
}

/* A statement that cannot run for want of a connection (none could be
 * made, or the transaction's was lost) failed as unavailable as surely as
 * one the server dropped: support_db_errors_total counts it alike (QA:
 * the counter stayed 0 through an outage that answered every request
 * 503). */
static enum sp_rc
unavailable(struct sp_problem *p)
{
    sp_metrics_count(SP_M_DB_ERRORS_UNAVAILABLE);
    return sp_problem_set(p, SP_UNAVAILABLE, "dependency_unavailable", DB_UNAVAILABLE);
}

static enum sp_rc
transaction_lost(struct sp_problem *p)
{
    sp_log_msg(SP_LOG_ERROR, "db_transaction_lost",
               "the connection was lost inside a transaction; it is rolled back");
    return unavailable(p);
}

bool
sp_db_may_retry(bool in_transaction, bool sent, bool read_only, int retries_done)
{
    if (in_transaction || retries_done > 0)
        return false;
    return !sent || read_only;
}

/* A connection the server closed while we were idle (a restart, an idle
 * timeout) is found out here, before anything is sent on it, so that the
 * next statement, whatever it does, simply runs on a fresh connection.
 * Reads what is waiting without blocking (libpq's socket is non-blocking):
 * the server's goodbye, then end of file. */
static void
drop_if_closed(struct sp_db *db)
{
    for (int i = 0; i < 8 && db->conn != NULL; i++) {
        struct pollfd pfd = {.fd = PQsocket(db->conn), .events = POLLIN};
        if (pfd.fd >= 0 && poll(&pfd, 1, 0) <= 0)
            return;  /* nothing waiting: as alive as can be known */
        if (pfd.fd < 0 || !PQconsumeInput(db->conn) || PQstatus(db->conn) != CONNECTION_OK)
            drop_connection(db);
    }
}

void
sp_db_async_commit(struct sp_db *db)
{
    db->async_commit = true;
    /* An open connection: the next statement would find it unset. */
    if (db->conn != NULL && db->tx_depth == 0)
        drop_connection(db);
}

/* The server's notices (NOTICE, WARNING, DETAIL lines: a search of only
 * stop words, a word too long to index) would reach stderr as plain text
 * through libpq's default processor; logs are JSON lines. Only the
 * SQLSTATE and severity are logged: the message text can quote what a
 * user typed. */
static void
notice_received(void *arg, const PGresult *r)
{
    (void)arg;
    const char *sqlstate = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *severity = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
    struct sp_log_line *l = sp_log_begin(SP_LOG_DEBUG, "db_notice");
    sp_log_str(l, "sqlstate", sqlstate ? sqlstate : "");
    sp_log_str(l, "severity", severity ? severity : "");
    sp_log_end(l);
}

/* ---- the client-side wait bound (sp_db_wait_limit) ------------------------ */

long
sp_db_wait_limit(struct sp_db *db, long ms)
{
    long was = db->wait_limit_ms;
    db->wait_limit_ms = ms > 0 ? ms : 0;
    db->timed_out = false;
    return was;
}

bool
sp_db_timed_out(const struct sp_db *db)
{
    return db->timed_out;
}

static long long
mono_ms(void)
{
    return sp_clock_mono_us() / 1000;
}

/* Gives up a connection whose server did not answer in time: shut down,
 * libpq finds it closed, and every caller takes its lost-connection path.
 * The server, if it wakes up, finds the end of the stream after what was
 * sent: a transaction whose COMMIT was not sent rolls back. */
static void
give_up(struct sp_db *db)
{
    db->timed_out = true;
    struct sp_log_line *l = sp_log_begin(SP_LOG_ERROR, "db_wait_timeout");
    sp_log_int(l, "limit_ms", db->wait_limit_ms);
    sp_log_end(l);
    shutdown(PQsocket(db->conn), SHUT_RDWR);
    PQconsumeInput(db->conn);
}

/* Under a wait bound: waits until the next result can be read without
 * blocking, or gives the connection up when the bound passes. */
static void
await_result(struct sp_db *db)
{
    if (db->wait_limit_ms <= 0 || db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK)
        return;   /* no bound, or nothing more will come: PQgetResult says so at once */
    long long end = mono_ms() + db->wait_limit_ms;
    while (PQisBusy(db->conn)) {
        long long left = end - mono_ms();
        struct pollfd pfd = {.fd = PQsocket(db->conn), .events = POLLIN};
        int n = left > 0 ? poll(&pfd, 1, (int)left) : 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0) {
            give_up(db);
            return;
        }
        if (n < 0 || !PQconsumeInput(db->conn))
            return;   /* lost: PQgetResult says so */
    }
}

/* The results of what was sent, as PQexec gathers them: the last, or the
 * first error; NULL when none came (the connection was lost). */
static PGresult *
collect(struct sp_db *db)
{
    PGresult *last = NULL, *r;
    while (await_result(db), (r = PQgetResult(db->conn)) != NULL) {
        if (last != NULL && PQresultStatus(last) == PGRES_FATAL_ERROR) {
            PQclear(r);
            continue;
        }
        PQclear(last);
        last = r;
    }
    return last;
}

/* PQexec, under the wait bound when there is one. */
static PGresult *
exec_within(struct sp_db *db, const char *sql)
{
    if (db->wait_limit_ms <= 0)
        return PQexec(db->conn, sql);
    return PQsendQuery(db->conn, sql) == 1 ? collect(db) : NULL;
}

/* A new connection; under a wait bound, with connect_timeout (libpq's
 * whole seconds, at least 2) taking precedence over the conninfo's. */
static PGconn *
connect_within(struct sp_db *db)
{
    if (db->wait_limit_ms <= 0)
        return PQconnectdb(db->conninfo);
    char secs[24];
    long s = (db->wait_limit_ms + 999) / 1000;
    snprintf(secs, sizeof(secs), "%ld", s < 2 ? 2 : s);
    const char *const keys[] = {"dbname", "connect_timeout", NULL};
    const char *const values[] = {db->conninfo, secs, NULL};
    long long started = mono_ms();
    PGconn *c = PQconnectdbParams(keys, values, 1);
    if (PQstatus(c) != CONNECTION_OK && mono_ms() - started >= db->wait_limit_ms)
        db->timed_out = true;
    return c;
}

enum sp_rc
sp_db_connect(struct sp_db *db, struct sp_problem *p)
{
    if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
        return SP_OK;
    drop_connection(db);
    /* A fresh connection would run the rest of a transaction outside it. */
    if (db->tx_depth > 0)
        return transaction_lost(p);
    db->conn = connect_within(db);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        sp_metrics_count(SP_M_DB_CONNECT_FAILURES);
        char buf[256];
        struct sp_log_line *l = sp_log_begin(SP_LOG_ERROR, "db_connect_failed");
        sp_log_str(l, "setting", db->setting);
        sp_log_str(l, "error", safe_error(db, buf, sizeof(buf)));
        sp_log_end(l);
        drop_connection(db);
        return unavailable(p);
    }
    PQsetNoticeReceiver(db->conn, notice_received, NULL);
    char sql[192];
    snprintf(sql, sizeof(sql),
             "SET statement_timeout = %ld; SET TIME ZONE 'UTC'; SET application_name = 'support'%s",
             db->statement_timeout_ms, db->async_commit ? "; SET synchronous_commit = off" : "");
    sp_metrics_count(SP_M_DB_CONNECTS);
    sp_metrics_db_round_trip();
    PGresult *r = exec_within(db, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        drop_connection(db);
        return unavailable(p);
    }
    return SP_OK;
}

enum sp_rc
sp_db_ready(struct sp_db *db, struct sp_problem *p)
{
    drop_if_closed(db);
    return sp_db_connect(db, p);
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
    const char *detail = NULL;
    const char *event = "db_error", *hint = NULL;
    if (state == NULL && PQstatus(db->conn) != CONNECTION_OK) {
        rc = SP_UNAVAILABLE;
        code = "dependency_unavailable";
    }
    for (size_t i = 0; state != NULL && i < sizeof(sqlstate_map) / sizeof(sqlstate_map[0]); i++) {
        if (strncmp(state, sqlstate_map[i].prefix, strlen(sqlstate_map[i].prefix)) == 0) {
            rc = sqlstate_map[i].rc;
            code = sqlstate_map[i].code;
            detail = sqlstate_map[i].detail;
            if (sqlstate_map[i].event != NULL) {
                event = sqlstate_map[i].event;
                hint = detail;   /* what the operator does about it */
            }
            break;
        }
    }
    sp_metrics_count(rc == SP_CONFLICT      ? SP_M_DB_ERRORS_CONFLICT
                     : rc == SP_UNAVAILABLE ? SP_M_DB_ERRORS_UNAVAILABLE
                                            : SP_M_DB_ERRORS_OTHER);
    struct sp_log_line *l = sp_log_begin(rc == SP_CONFLICT ? SP_LOG_INFO : SP_LOG_ERROR, event);
    sp_log_str(l, "statement", what);
    if (hint != NULL)
        sp_log_str(l, "hint", hint);
    sp_log_str(l, "sqlstate", state ? state : "none");
    sp_log_str(l, "constraint", r ? PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME) : NULL);
    char buf[256];
    sp_log_str(l, "error", r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
                             : safe_error(db, buf, sizeof(buf)));
    sp_log_end(l);
    p->logged = true;
    if (p->rc == SP_OK || p->code == NULL)
        sp_problem_set(p, rc, code, "%s",
                       detail != NULL            ? detail
                       : rc == SP_UNAVAILABLE    ? DB_UNAVAILABLE
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

/* Sends a prepared statement and waits for its result. *sent says whether
 * it left: libpq refuses to send on a connection it knows is dead, and
 * reports a failed send as such. The first error result wins. */
static PGresult *
run_prepared(struct sp_db *db, const char *name, int nparams, const char *const *params,
             bool *sent)
{
    *sent = PQsendQueryPrepared(db->conn, name, nparams, params, NULL, NULL, 0) == 1;
    if (!*sent)
        return NULL;
    sp_metrics_db_round_trip();
    return collect(db);
}

#define TEXT_OID 25
#define MAX_TYPED_PARAMS 64

/* Parameter types for PREPARE: unspecified (PostgreSQL infers them),
 * except that a parameter the SQL never mentions is text — a named
 * statement may leave some of its names unused, and PostgreSQL refuses
 * a parameter whose type it cannot infer. NULL when all are used. */
static const Oid *
param_types(const char *sql, int nparams, Oid *types)
{
    bool all = true;
    for (int i = 0; i < nparams && i < MAX_TYPED_PARAMS; i++) {
        types[i] = TEXT_OID;
        char tok[16];
        int n = snprintf(tok, sizeof(tok), "$%d", i + 1);
        for (const char *s = strstr(sql, tok); s != NULL; s = strstr(s + 1, tok))
            if (s[n] < '0' || s[n] > '9') {
                types[i] = 0;
                break;
            }
        all = all && types[i] == 0;
    }
    return all ? NULL : types;
}

/* A statement's PREPARE: its SQL, and the parameter types to declare. */
struct prepare {
    const char *sql; /* NULL: prepared on this connection already */
    const Oid *types;
    Oid type_buf[MAX_TYPED_PARAMS];
};

static void
prepare_of(const struct sp_stmt *st, bool *prepared, struct prepare *out)
{
    out->sql = NULL;
    out->types = NULL;
    if (prepared != NULL && *prepared)
        return;
    out->sql = st->positional_sql != NULL ? st->positional_sql : st->sql;
    if (st->names != NULL && st->nparams <= MAX_TYPED_PARAMS)
        out->types = param_types(out->sql, st->nparams, out->type_buf);
    if (prepared != NULL)
        sp_metrics_count(SP_M_DB_PREPARES);
}

/* Reads one pipeline's results up to its sync: results[i] is query i's
 * (its first error when it has several), NULL when none came (the
 * connection was lost). A query after a failed one gets
 * PGRES_PIPELINE_ABORTED. */
static void
pipeline_results(struct sp_db *db, PGresult **results, int n)
{
    for (int i = 0; i < n; i++)
        results[i] = NULL;
    for (int q = 0; q <= n;) {
        await_result(db);
        PGresult *r = PQgetResult(db->conn);
        if (r == NULL) {
            if (PQstatus(db->conn) != CONNECTION_OK)
                return;
            q++; /* the end of one query's results */
            continue;
        }
        if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            return;
        }
        if (q < n && (results[q] == NULL || PQresultStatus(results[q]) != PGRES_FATAL_ERROR)) {
            PQclear(results[q]);
            results[q] = r;
        } else {
            PQclear(r);
        }
    }
}

/* Opens the transaction sp_db_begin deferred with its first statement:
 * BEGIN, the statement's PREPARE when this connection lacks it, and the
 * statement go out in one pipeline, one round trip where there were two
 * or three. A query failing aborts those after it; the first failure is
 * returned, else the statement's result. From here on the transaction is
 * the server's (or lost with the connection): never sent again. */
static PGresult *
begin_and_run(struct sp_db *db, const char *name, int nparams, const struct prepare *pr,
              const char *const *params, bool *prepared, bool *sent)
{
    db->begin_pending = false;
    *sent = PQenterPipelineMode(db->conn) == 1 &&
            PQsendQueryParams(db->conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) == 1 &&
            (pr->sql == NULL || PQsendPrepare(db->conn, name, pr->sql, nparams, pr->types) == 1) &&
            PQsendQueryPrepared(db->conn, name, nparams, params, NULL, NULL, 0) == 1 &&
            PQpipelineSync(db->conn) == 1;
    if (!*sent) {
        drop_connection(db); /* a pipeline half queued is of no further use */
        return NULL;
    }
    sp_metrics_db_round_trip();
    PGresult *results[3];
    int n = pr->sql != NULL ? 3 : 2;
    pipeline_results(db, results, n);
    if (PQexitPipelineMode(db->conn) != 1)
        drop_connection(db);
    if (pr->sql != NULL && prepared != NULL && result_ok(results[1]))
        *prepared = true;
    int first = 0;
    while (first < n - 1 && result_ok(results[first]))
        first++;
    for (int i = 0; i < n; i++)
        if (i != first)
            PQclear(results[i]);
    return results[first];
}

/* Prepares st (once per connection: *prepared says whether it was) and
 * runs it. A failed PREPARE leaves the statement unsent. */
static PGresult *
prepare_and_run(struct sp_db *db, const struct sp_stmt *st, const char *const *params,
                bool *prepared, bool *sent)
{
    const char *name = prepared ? st->name : "";
    struct prepare pr;
    prepare_of(st, prepared, &pr);
    if (db->begin_pending)
        return begin_and_run(db, name, st->nparams, &pr, params, prepared, sent);
    *sent = false;
    if (pr.sql != NULL) {
        sp_metrics_db_round_trip();
        PGresult *r = db->wait_limit_ms <= 0
                          ? PQprepare(db->conn, name, pr.sql, st->nparams, pr.types)
                      : PQsendPrepare(db->conn, name, pr.sql, st->nparams, pr.types) == 1
                          ? collect(db)
                          : NULL;
        if (!result_ok(r))
            return r;
        PQclear(r);
        if (prepared != NULL)
            *prepared = true;
    }
    return run_prepared(db, name, st->nparams, params, sent);
}

static void
log_lost(const struct sp_stmt *st, bool sent, bool retry)
{
    sp_metrics_count(SP_M_DB_CONNECTIONS_LOST);
    struct sp_log_line *l = sp_log_begin(retry ? SP_LOG_WARN : SP_LOG_ERROR, "db_connection_lost");
    sp_log_str(l, "statement", st->name);
    sp_log_str(l, "sent", sent ? "true" : "false");
    sp_log_str(l, "retried", retry ? "true" : "false");
    sp_log_end(l);
}

/* Runs st; when its connection is lost, runs it again on a fresh one only
 * as sp_db_may_retry() allows. */
static PGresult *
exec_named(struct sp_db *db, struct sp_arena *a, const struct sp_stmt *st,
           const char *const *params, bool *(*flag)(struct sp_db *, const void *),
           const void *key, struct sp_problem *p)
{
    for (int retries = 0;; retries++) {
        if (db->tx_depth == 0)
            drop_if_closed(db);
        if (sp_db_connect(db, p) != SP_OK)
            return NULL;
        bool sent;
        PGresult *r = prepare_and_run(db, st, params, flag(db, key), &sent);
        if (r != NULL)
            sp_arena_defer(a, clear_result, r);
        if (r != NULL && result_ok(r))
            return r;
        if (!connection_lost(db)) {
            fail(db, r, st->name, p);
            return NULL;
        }
        /* A server that did not answer in time gets no second wait. */
        bool retry = !db->timed_out && sp_db_may_retry(db->tx_depth > 0, sent, st->read_only,
                                                       retries);
        log_lost(st, sent, retry);
        if (!retry) {
            fail(db, r, st->name, p);
            drop_connection(db);
            return NULL;
        }
        drop_connection(db);
    }
}

static bool *
static_flag(struct sp_db *db, const void *key)
{
    return &db->prepared[((const struct sp_stmt *)key)->slot];
}

const char *
sp_db_page_fetch(struct sp_arena *a, int limit)
{
    return sp_arena_sprintf(a, "%d", limit + 1);
}

int
sp_db_page(const PGresult *r, int limit, const char *key_col, long long *next)
{
    int rows = PQntuples(r), shown = rows < limit ? rows : limit;
    int key = PQfnumber(r, key_col);
    *next = rows > limit && shown > 0 && key >= 0 ? sp_db_int(r, shown - 1, key) : 0;
    return shown;
}

void *
sp_db_page_read(struct sp_db *db, struct sp_arena *a, struct sp_stmt *st,
                const char *const *params, int limit, const char *key_col, size_t size,
                sp_db_row_reader *read, size_t *n, long long *next, struct sp_problem *p)
{
    PGresult *r = sp_db_exec(db, a, st, params, p);
    if (r == NULL)
        return NULL;
    int rows = sp_db_page(r, limit, key_col, next);
    char *items = sp_arena_calloc(a, (size_t)rows + 1, size);
    for (*n = 0; (int)*n < rows; (*n)++)
        read(r, (int)*n, items + *n * size);
    return items;
}

void *
sp_db_page_of(struct sp_db *db, struct sp_arena *a, struct sp_stmt *st, long long parent,
              long long after, int limit, size_t size, sp_db_row_reader *read, size_t *n,
              long long *next, struct sp_problem *p)
{
    const char *params[3] = {sp_arena_sprintf(a, "%lld", parent),
                             sp_arena_sprintf(a, "%lld", after), sp_db_page_fetch(a, limit)};
    return sp_db_page_read(db, a, st, params, limit, "id", size, read, n, next, p);
}

enum sp_rc
sp_db_found_or(const PGresult *r, enum sp_rc rc, const char *code, const char *detail,
               struct sp_problem *p)
{
    if (r == NULL)
        return p->rc;
    if (PQntuples(r) == 0)
        return sp_problem_set(p, rc, code, "%s", detail);
    return SP_OK;
}

enum sp_rc
sp_db_found(const PGresult *r, const char *what, struct sp_problem *p)
{
    char detail[sizeof(p->detail)];
    snprintf(detail, sizeof(detail), "no such %s", what);
    return sp_db_found_or(r, SP_NOT_FOUND, "not_found", detail, p);
}

enum sp_rc
sp_db_changed(const PGresult *r, const char *what, struct sp_problem *p)
{
    if (r == NULL)
        return p->rc;
    if (strcmp(PQcmdTuples((PGresult *)r), "0") == 0)
        return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such %s", what);
    return SP_OK;
}

/* found: sp_db_found's or sp_db_found_or's verdict on r. */
static enum sp_rc
read_one(const PGresult *r, enum sp_rc found, sp_db_row_reader *read, void *item)
{
    if (found == SP_OK)
        read(r, 0, item);
    return found;
}

enum sp_rc
sp_db_one(struct sp_db *db, struct sp_arena *a, struct sp_stmt *st, const char *const *params,
          const char *what, sp_db_row_reader *read, void *item, struct sp_problem *p)
{
    PGresult *r = sp_db_exec(db, a, st, params, p);
    return read_one(r, sp_db_found(r, what, p), read, item);
}

enum sp_rc
sp_db_one_or(struct sp_db *db, struct sp_arena *a, struct sp_stmt *st, const char *const *params,
             enum sp_rc rc, const char *code, const char *detail, sp_db_row_reader *read,
             void *item, struct sp_problem *p)
{
    PGresult *r = sp_db_exec(db, a, st, params, p);
    return read_one(r, sp_db_found_or(r, rc, code, detail, p), read, item);
}

/* The index of the identifier at s (len bytes) in names, or -1. */
static int
name_index(const char *const *names, const char *s, size_t len)
{
    for (int i = 0; names[i] != NULL; i++)
        if (strlen(names[i]) == len && strncmp(names[i], s, len) == 0)
            return i;
    return -1;
}

static bool
ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

char *
sp_db_positional_sql(const char *sql, const char *const *names, char *err, size_t errlen)
{
    /* "$NNN" is never longer than ":x" + 2 for our few parameters. */
    size_t cap = strlen(sql) * 2 + 1;
    char *out = malloc(cap);
    if (out == NULL)
        abort();
    size_t o = 0;
    for (const char *s = sql; *s != '\0';) {
        if (*s == '\'') {                   /* a string literal, '' inside */
            const char *e = s + 1;
            while (*e != '\0' && !(*e == '\'' && e[1] != '\''))
                e += *e == '\'' ? 2 : 1;
            size_t n = (size_t)(e - s) + (*e != '\0');
            memcpy(out + o, s, n);
            o += n;
            s += n;
        } else if (s[0] == ':' && s[1] == ':') {   /* a cast */
            memcpy(out + o, s, 2);
            o += 2;
            s += 2;
        } else if (s[0] == ':' && s[1] >= 'a' && s[1] <= 'z') {
            size_t len = 1;
            while (ident_char(s[1 + len]))
                len++;
            int k = name_index(names, s + 1, len);
            if (k < 0) {
                snprintf(err, errlen, "unknown parameter :%.*s", (int)len, s + 1);
                free(out);
                return NULL;
            }
            o += (size_t)snprintf(out + o, cap - o, "$%d", k + 1);
            s += 1 + len;
        } else {
            out[o++] = *s++;
        }
    }
    out[o] = '\0';
    return out;
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
    if (st->names != NULL && st->positional_sql == NULL) {
        char err[128];
        st->positional_sql = sp_db_positional_sql(st->sql, st->names, err, sizeof(err));
        if (st->positional_sql == NULL) {
            sp_log_msg(SP_LOG_ERROR, "db_bad_statement", "%s: %s", st->name, err);
            abort();  /* a programming error, found by any test that runs it */
        }
    }
    return exec_named(db, a, st, params, static_flag, st, p);
}

PGresult *
sp_db_exec_locked(struct sp_db *db, struct sp_arena *a, struct sp_stmt *lock,
                  const char *const *lock_params, struct sp_stmt *st, const char *const *params,
                  struct sp_problem *p)
{
    if (sp_db_exec(db, a, lock, lock_params, p) == NULL)
        return NULL;
    return sp_db_exec(db, a, st, params, p);
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
                   bool read_only, const char *const *params, struct sp_problem *p)
{
    unsigned long long h = sp_fnv1a(SP_FNV1A_INIT, sql, strlen(sql));
    char name[32];
    snprintf(name, sizeof(name), "dyn_%016llx", h);
    struct sp_stmt st = {name, sql, nparams, read_only, 0, NULL, NULL};
    return exec_named(db, a, &st, params, dynamic_flag, &h, p);
}

PGresult *
sp_db_exec_sql(struct sp_db *db, struct sp_arena *a, const char *sql, struct sp_problem *p)
{
    if (db->tx_depth == 0)
        drop_if_closed(db);
    if (sp_db_connect(db, p) != SP_OK)
        return NULL;
    if (db->begin_pending) { /* simple queries may be several: BEGIN leads them */
        sql = sp_arena_sprintf(a, "BEGIN; %s", sql);
        db->begin_pending = false;
    }
    sp_metrics_db_round_trip();
    PGresult *r = exec_within(db, sql);   /* COMMIT too: its wait is bounded as any */
    if (r != NULL)
        sp_arena_defer(a, clear_result, r);
    if (r != NULL && result_ok(r))
        return r;
    fail(db, r, "sql", p);
    if (connection_lost(db))
        drop_connection(db);
    return NULL;
}

enum sp_rc
sp_db_listen(struct sp_db *db, struct sp_arena *a, const char *channel, struct sp_problem *p)
{
    if (sp_db_connect(db, p) != SP_OK)
        return p->rc;
    char *ident = PQescapeIdentifier(db->conn, channel, strlen(channel));
    if (ident == NULL)
        return sp_problem_set(p, SP_ERROR, "internal", "cannot quote the channel name");
    const char *sql = sp_arena_sprintf(a, "LISTEN %s", ident);
    PQfreemem(ident);
    return sp_db_exec_sql(db, a, sql, p) != NULL ? SP_OK : p->rc;
}

int
sp_db_socket(const struct sp_db *db)
{
    return db->conn != NULL ? PQsocket(db->conn) : -1;
}

int
sp_db_notifications(struct sp_db *db)
{
    if (db->conn == NULL)
        return -1;
    if (!PQconsumeInput(db->conn) || PQstatus(db->conn) != CONNECTION_OK) {
        sp_log_msg(SP_LOG_WARN, "db_listen_lost", "the listening connection was lost");
        drop_connection(db);
        return -1;
    }
    int n = 0;
    for (PGnotify *note; (note = PQnotifies(db->conn)) != NULL; n++)
        PQfreemem(note);
    return n;
}

enum sp_rc
sp_db_begin(struct sp_db *db, struct sp_arena *a, struct sp_problem *p)
{
    /* One owner per transaction: the domain command that began it. A
     * begin inside one is a bug (an inner rollback would end the outer
     * transaction behind its back), refused rather than nested. */
    (void)a;
    if (db->tx_depth > 0) {
        sp_log_msg(SP_LOG_ERROR, "db_nested_transaction", "BEGIN inside a transaction");
        return sp_problem_set(p, SP_ERROR, "internal", "nested transaction");
    }
    /* A connection the server closed while idle is replaced now, while
     * nothing of the transaction has run (what BEGIN's retry was for). */
    drop_if_closed(db);
    if (sp_db_connect(db, p) != SP_OK)
        return p->rc;
    db->tx_depth = 1;
    db->begin_pending = true;
    return SP_OK;
}

enum sp_rc
sp_db_commit(struct sp_db *db, struct sp_arena *a, struct sp_problem *p)
{
    if (db->tx_depth == 0)
        return sp_problem_set(p, SP_ERROR, "internal", "commit without a transaction");
    if (db->begin_pending) { /* nothing ran: nothing to commit */
        db->begin_pending = false;
        db->tx_depth = 0;
        return SP_OK;
    }
    /* Still counted as open while COMMIT runs: it must go on the
     * transaction's own connection, never on a fresh one. A COMMIT whose
     * connection is lost may or may not have committed: 503. */
    PGresult *r = sp_db_exec_sql(db, a, "COMMIT", p);
    db->tx_depth = 0;
    if (r != NULL && strcmp(PQcmdStatus(r), "ROLLBACK") == 0)
        return sp_problem_set(p, SP_ERROR, "internal", "the transaction was aborted");
    return r == NULL ? p->rc : SP_OK;
}

void
sp_db_rollback(struct sp_db *db, struct sp_arena *a)
{
    db->begin_pending = false;
    if (connection_lost(db)) {
        drop_connection(db);  /* the server rolled back when it lost us */
    } else if (PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
        struct sp_problem ignored;
        sp_problem_init(&ignored);
        sp_db_exec_sql(db, a, "ROLLBACK", &ignored);
    }
    db->tx_depth = 0;
}

const char *
sp_db_int_array(struct sp_arena *a, const long long *v, size_t n)
{
    struct sp_buf b;
    sp_buf_init(&b, a, 2 + n * 21);
    sp_buf_putc(&b, '{');
    for (size_t i = 0; i < n; i++)
        sp_buf_printf(&b, "%s%lld", i ? "," : "", v[i]);
    sp_buf_putc(&b, '}');
    return b.data;
}

const char *
sp_db_text_array(struct sp_arena *a, const char *const *v, size_t n)
{
    struct sp_buf b;
    sp_buf_init(&b, a, 16 + n * 32);
    sp_buf_putc(&b, '{');
    for (size_t i = 0; i < n; i++) {
        sp_buf_puts(&b, i ? ",\"" : "\"");
        for (const char *s = v[i]; *s != '\0'; s++) {
            if (*s == '"' || *s == '\\')
                sp_buf_putc(&b, '\\');
            sp_buf_putc(&b, *s);
        }
        sp_buf_putc(&b, '"');
    }
    sp_buf_putc(&b, '}');
    return b.data;
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

double
sp_db_double(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtod(PQgetvalue(r, row, col), NULL);
}

const char *
sp_db_opt_str(const PGresult *r, int row, int col)
{
    return col < PQnfields(r) ? sp_db_str(r, row, col) : NULL;
}

/* Drains libpq's queue of notifications; true when there was one. */
static bool
drain_notifies(PGconn *c)
{
    bool any = false;
    for (PGnotify *n; (n = PQnotifies(c)) != NULL; any = true)
        PQfreemem(n);
    return any;
}

static bool
listen_on(struct sp_db *db, const char *channel)
{
    struct sp_problem p;
    sp_problem_init(&p);
    if (sp_db_connect(db, &p) != SP_OK)
        return false;
    if (db->listening)
        return true;
    char sql[128];
    snprintf(sql, sizeof(sql), "LISTEN %s", channel);
    PGresult *r = PQexec(db->conn, sql);
    db->listening = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return db->listening;
}

int
sp_db_wait_notify(struct sp_db *db, const char *channel, long timeout_ms)
{
    bool heard_before = db->listening;
    if (!listen_on(db, channel))
        return -1;
    if (!heard_before)
        return 1;   /* nothing sent before this LISTEN was heard: catch up first */
    PQconsumeInput(db->conn);
    if (drain_notifies(db->conn))
        return 1;
    struct pollfd pfd = {.fd = PQsocket(db->conn), .events = POLLIN};
    if (poll(&pfd, 1, (int)timeout_ms) <= 0)
        return 0;
    if (!PQconsumeInput(db->conn) || PQstatus(db->conn) != CONNECTION_OK) {
        drop_connection(db);   /* the server went away: LISTEN again next time */
        return -1;
    }
    return drain_notifies(db->conn) ? 1 : 0;
}

bool
sp_db_ping(const struct sp_db *db)
{
    /* Bounded: a stopped server must not hold a daemon's retry forever. */
    const char *const keys[] = {"dbname", "connect_timeout", NULL};
    const char *const values[] = {db->conninfo, "10", NULL};
    return PQpingParams(keys, values, 1) == PQPING_OK;
}

/* ---- batch jobs' lock ------------------------------------------------------ */

static struct sp_stmt job_lock_stmt =
    SP_STMT("db_job_try_lock", "SELECT pg_try_advisory_lock($1::bigint)", 1);
static struct sp_stmt job_unlock_stmt =
    SP_STMT("db_job_unlock", "SELECT pg_advisory_unlock($1::bigint)", 1);

enum sp_rc
sp_db_job_lock(struct sp_db *db, struct sp_arena *a, long long key, const char *busy_event,
               struct sp_problem *p)
{
    const char *kp[1] = {sp_arena_sprintf(a, "%lld", key)};
    PGresult *r = sp_db_exec(db, a, &job_lock_stmt, kp, p);
    if (r == NULL)
        return p->rc;
    if (sp_db_bool(r, 0, 0))
        return SP_OK;
    if (busy_event != NULL)
        sp_log_msg(SP_LOG_INFO, busy_event, "another run holds the lock");
    return sp_problem_set(p, SP_CONFLICT, "conflict", "already running");
}

enum sp_log_level
sp_db_job_log_level(enum sp_rc rc)
{
    return rc == SP_OK || rc == SP_CONFLICT ? SP_LOG_INFO : SP_LOG_ERROR;
}

void
sp_db_job_log_detail(struct sp_log_line *l, enum sp_rc rc, const struct sp_problem *p)
{
    if (rc == SP_CONFLICT)
        sp_log_str(l, "skipped_pass", "busy");
    else if (rc != SP_OK && p != NULL)
        sp_log_str(l, "detail", p->detail);
}

void
sp_db_job_unlock(struct sp_db *db, struct sp_arena *a, long long key)
{
    const char *kp[1] = {sp_arena_sprintf(a, "%lld", key)};
    struct sp_problem ignored;
    sp_problem_init(&ignored);
    sp_db_exec(db, a, &job_unlock_stmt, kp, &ignored);
}
