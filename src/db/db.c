/*
 * db: connection, lazy prepared statements, transactions, SQLSTATE map,
 * and the reconnect rule (sp_db_may_retry). See db.h.
 */
#include "db/db.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
/* A schema error on a database that has migrations: it may be behind this
 * release (half upgraded), or a statement of ours names what no
 * migration made (a bug) — support-migrate tells the two apart. */
#define DB_SCHEMA_MISMATCH                                                                         \
    "the database schema lacks what this release uses: run support-migrate (nothing to apply: "   \
    "a bug, report it)"

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
    /* serialization_failure, deadlock_detected: the database is up; this
     * transaction met another at the same moment and was undone. A
     * command that owns its transaction runs it once more
     * (sp_db_retryable); the client reads that trying again will do. */
    {"40001", SP_UNAVAILABLE, "dependency_unavailable", SP_DB_RETRY_DETAIL, NULL},
    {"40P01", SP_UNAVAILABLE, "dependency_unavailable", SP_DB_RETRY_DETAIL, NULL},
    /* query_canceled: our statement_timeout (nothing here cancels a
     * query otherwise). The database is up, only slow or held by a lock:
     * "unavailable" would send an operator to the wrong place. */
    {"57014", SP_UNAVAILABLE, "dependency_unavailable",
     "the database did not answer in time; try again", NULL},
    {"08", SP_UNAVAILABLE, "dependency_unavailable", NULL, NULL},    /* connection exceptions */
    {"57P", SP_UNAVAILABLE, "dependency_unavailable", NULL, NULL},   /* admin shutdown etc. */
    {"53", SP_UNAVAILABLE, "dependency_unavailable", NULL, NULL},    /* insufficient resources */
    /* undefined_table, invalid_schema_name, undefined_column,
     * undefined_function: the schema this release expects is not there
     * (a new database support-migrate never ran on, a wrong dbname, a
     * half-done upgrade). Every statement would fail alike until an
     * operator migrates, as readyz's "migrations" check says too. Our own
     * SQL naming something no migration made fails alike on a migrated
     * database: schema_error() asks before claiming "not migrated". */
    {"42P01", SP_UNAVAILABLE, "dependency_unavailable", DB_NOT_MIGRATED, "db_not_migrated"},
    {"3F000", SP_UNAVAILABLE, "dependency_unavailable", DB_NOT_MIGRATED, "db_not_migrated"},
    {"42703", SP_UNAVAILABLE, "dependency_unavailable", DB_NOT_MIGRATED, "db_not_migrated"},
    {"42883", SP_UNAVAILABLE, "dependency_unavailable", DB_NOT_MIGRATED, "db_not_migrated"},
};

/* The schema's migration (max(schema_migrations.version)): 0 for none
 * (no table: never migrated), -1 when it cannot be told. Asked on a
 * connection of its own: the failed statement's may be in an aborted
 * transaction, where nothing can be asked. Its environment is the
 * program's (PGOPTIONS: the same search_path). */
static long long mono_ms(void);

static int
schema_version_aside(const struct sp_db *db)
{
    const char *const keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *const values[] = {db->conninfo, "2", "support", NULL};
    PGconn *c = PQconnectdbParams(keys, values, 1);
    int v = -1;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, "SET statement_timeout = 2000;"
                                " SELECT coalesce(max(version), 0) FROM schema_migrations");
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            v = atoi(PQgetvalue(r, 0, 0));
        else if (state != NULL && (strcmp(state, "42P01") == 0 || strcmp(state, "3F000") == 0))
            v = 0;
        PQclear(r);
    }
    PQfinish(c);
    return v;
}

/* How long one process's verdict on its schema stands: a job's pass and
 * the record of its run (or a worker's next requests) fail alike, and
 * one line says it (QA: every job logged db_not_migrated twice). */
#define SCHEMA_VERDICT_MS 60000

/* A schema error's detail and event: "not migrated" only when the
 * database has no migration. *repeat: said a moment ago (log it at
 * debug). */
static void
schema_error(const struct sp_db *db, const char **detail, const char **event, bool *repeat)
{
    static long long said_at_ms = -1;
    static int version;
    long long now = mono_ms();
    *repeat = said_at_ms >= 0 && now - said_at_ms < SCHEMA_VERDICT_MS;
    if (!*repeat) {
        version = schema_version_aside(db);
        said_at_ms = now;
    }
    if (version != 0) {
        *detail = DB_SCHEMA_MISMATCH;
        *event = "db_schema_mismatch";
    }
}

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

/* The user:password part of a URI conninfo, or NULL (not a URI, or none):
 * from "://" to the '@' that ends it — the last one before the query, or
 * libpq's own (the first before a '/'), whichever is later. A password
 * holding an unescaped '/' or '@' is thus all inside, where libpq reads
 * its pieces as host, port or dbname and quotes them in its errors (QA:
 * u:S3CRET/PW@host logged 'invalid integer value "S3CRET"'). */
static const char *
uri_userinfo(const char *conninfo, size_t *len)
{
    const char *s;
    if (strncmp(conninfo, "postgresql://", 13) == 0)
        s = conninfo + 13;
    else if (strncmp(conninfo, "postgres://", 11) == 0)
        s = conninfo + 11;
    else
        return NULL;
    const char *end = memchr(s, '@', strcspn(s, "/"));
    for (const char *c = s; *c != '\0' && *c != '?'; c++)
        if (*c == '@' && (end == NULL || c > end))
            end = c;
    if (end == NULL)
        return NULL;
    *len = (size_t)(end - s);
    return s;
}

/* Whether libpq splits conninfo's user:password part: an unescaped '/' or
 * a second '@' in it. */
static bool
userinfo_split(const char *conninfo)
{
    size_t n = 0;
    const char *u = uri_userinfo(conninfo, &n);
    return u != NULL && (memchr(u, '/', n) != NULL || memchr(u, '@', n) != NULL);
}

bool
sp_db_conninfo_ok(const char *setting, const char *conninfo, char *err, size_t errlen)
{
    if (conninfo == NULL || *conninfo == '\0')
        return true;
    char *why = NULL;   /* quotes conninfo: freed unread */
    PQconninfoOption *opts = PQconninfoParse(conninfo, &why);
    PQfreemem(why);
    if (opts == NULL) {
        snprintf(err, errlen, "%s: not a libpq connection string or URI (e.g."
                              " postgresql://user@host/dbname or host=... dbname=...)", setting);
        return false;
    }
    PQconninfoFree(opts);
    if (userinfo_split(conninfo)) {
        snprintf(err, errlen, "%s: its user:password part holds an unescaped '/' or '@', which"
                              " libpq would read as the host, port or database: percent-encode"
                              " the password ('/' as %%2F, '@' as %%40, '%%' as %%25)", setting);
        return false;
    }
    return true;
}

bool
sp_db_check_settings(const struct sp_config *cfg, char *err, size_t errlen)
{
    return sp_db_conninfo_ok("SUPPORT_DATABASE_URL", cfg->database_url, err, errlen) &&
           sp_db_conninfo_ok("SUPPORT_DATABASE_READ_URL", cfg->database_read_url, err, errlen);
}

/* Whether q (n bytes) is an element of the list v (a host or port list:
 * comma-separated), or a socket path libpq made of a host directory. */
static bool
in_list(const char *q, size_t n, const char *v)
{
    for (size_t k; v != NULL && *v != '\0'; v += k + (v[k] == ',')) {
        k = strcspn(v, ",");
        if (k > 0 && n >= k && memcmp(q, v, k) == 0 &&
            (n == k || (n > k + 10 && memcmp(q + k, "/.s.PGSQL.", 10) == 0)))
            return true;
    }
    return false;
}

/* Whether q (n bytes), a value libpq quotes in a message about conn, is
 * one it may show: an option's name, or a value the conninfo gave other
 * than the password, or libpq's default for it, without the password in
 * it. */
static bool
shown_value(const char *q, size_t n, const PQconninfoOption *opts, const char *pw, PGconn *conn)
{
    size_t pwlen = strlen(pw);
    if (pwlen > 0 && n >= pwlen && memmem(q, n, pw, pwlen) != NULL)
        return false;
    const char *const used[] = {PQhost(conn), PQhostaddr(conn), PQport(conn), PQdb(conn),
                                PQuser(conn)};
    for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++)
        if (in_list(q, n, used[i]))
            return true;
    for (const PQconninfoOption *o = opts; o->keyword != NULL; o++)
        if ((strlen(o->keyword) == n && memcmp(o->keyword, q, n) == 0) ||
            (strcmp(o->keyword, "password") != 0 && in_list(q, n, o->val)))
            return true;
    return false;
}

/* Appends n bytes of p to buf (len bytes, *at used), cut to fit. */
static void
put(char *buf, size_t len, size_t *at, const char *p, size_t n)
{
    if (*at + n >= len)
        n = len - 1 - *at;
    memcpy(buf + *at, p, n);
    *at += n;
    buf[*at] = '\0';
}

/* msg with every "..."-quoted value that shown_value refuses replaced by
 * "(hidden)", in buf (len > 0); an unclosed quote hides the rest. */
static const char *
hide_values(const char *msg, const PQconninfoOption *opts, const char *pw, PGconn *conn,
            char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (const char *m = msg; *m != '\0';) {
        const char *q = strchr(m, '"');
        if (q == NULL) {
            put(buf, len, &at, m, strlen(m));
            break;
        }
        const char *e = strchr(q + 1, '"');
        size_t n = e != NULL ? (size_t)(e - q - 1) : strlen(q + 1);
        put(buf, len, &at, m, (size_t)(q - m) + 1);
        if (e != NULL && shown_value(q + 1, n, opts, pw, conn))
            put(buf, len, &at, q + 1, n);
        else
            put(buf, len, &at, "(hidden)", 8);
        put(buf, len, &at, "\"", 1);
        m = e != NULL ? e + 1 : q + 1 + n;
    }
    return buf;
}

/* libpq's message about db's connection, safe to log (in buf, or msg
 * itself): NULL-free, and never quoting the password or any piece of a
 * URI's user:password part. A conninfo libpq cannot read, or a URI whose
 * user:password it splits (sp_db_conninfo_ok refuses both; a handle made
 * without that check may hold one), gets a fixed text naming the
 * setting: any value libpq quotes may be a piece of it. Otherwise, when
 * there is a password or a user:password part, each quoted value the
 * conninfo did not give as such (host, port, dbname, user, ...) is
 * hidden; server errors ("password authentication failed for user",
 * "Connection refused", "timeout expired") keep what an operator needs. */
static const char *
safe_error(const struct sp_db *db, char *buf, size_t len)
{
    const char *msg = PQerrorMessage(db->conn);
    const char *info = db->conninfo != NULL ? db->conninfo : "";
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(info, &why);
    PQfreemem(why);
    const char *pw = "";
    for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val != NULL)
            pw = o->val;
    size_t n = 0;
    bool fixed = opts == NULL || userinfo_split(info);
    if (!fixed && (*pw != '\0' || uri_userinfo(info, &n) != NULL)) {
        msg = hide_values(msg, opts, pw, db->conn, buf, len);
        fixed = *pw != '\0' && strstr(msg, pw) != NULL;   /* unquoted: none known, but */
    }
    PQconninfoFree(opts);
    if (fixed)
        snprintf(buf, len, "%s: libpq refused it (its message is not logged: it may quote the"
                           " password); check it with --check-config", db->setting);
    return fixed ? buf : msg;
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

enum sp_rc
sp_db_job_stop(struct sp_problem *p)
{
    sp_problem_set(p, SP_UNAVAILABLE, "stopped", "stopped by a signal before it finished");
    p->logged = true;   /* db_wait_stopped, or the pass's own line, says so */
    return SP_UNAVAILABLE;
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

void
sp_db_stop_flag(struct sp_db *db, volatile sig_atomic_t *stop)
{
    db->stop = stop;
}

void
sp_db_watch_as(struct sp_db *db, const struct sp_db *like)
{
    db->wait_limit_ms = like->wait_limit_ms;
    db->stop = like->stop;
}

/* Whether a wait of db's must be watched (bounded, or ended by the stop
 * flag) rather than left to libpq's blocking calls. */
static bool
watched(const struct sp_db *db)
{
    return db->wait_limit_ms > 0 || db->stop != NULL;
}

/* A watched wait polls at most this long at once: a signal that lands
 * just before poll() starts is seen this late at most. */
#define WAIT_SLICE_MS 200
/* A wait goes on this long after a stop: what a server that answers is
 * asked after SIGTERM (the end of the item in hand, the record of the
 * pass) still gets done; a server that does not answer is given up. */
#define STOP_GRACE_MS 1000

enum wait_end { WAIT_ON, WAIT_LATE, WAIT_STOPPED };

struct wait {
    long long end;        /* monotonic ms; 0: no bound */
    long long stop_end;   /* 0 until a stop is seen */
    volatile sig_atomic_t *stop;
};

static struct wait
wait_start(long limit_ms, volatile sig_atomic_t *stop)
{
    return (struct wait){.end = limit_ms > 0 ? mono_ms() + limit_ms : 0, .stop = stop};
}

/* Whether w is over, and if not, how long its next poll may last (*ms). */
static enum wait_end
wait_next(struct wait *w, int *ms)
{
    long long now = mono_ms();
    if (w->stop != NULL && *w->stop && w->stop_end == 0)
        w->stop_end = now + STOP_GRACE_MS;
    if (w->stop_end != 0 && now >= w->stop_end)
        return WAIT_STOPPED;
    if (w->end != 0 && now >= w->end)
        return WAIT_LATE;
    long long left = WAIT_SLICE_MS;
    if (w->end != 0 && w->end - now < left)
        left = w->end - now;
    if (w->stop_end != 0 && w->stop_end - now < left)
        left = w->stop_end - now;
    *ms = (int)left;
    return WAIT_ON;
}

/* Asks the server to cancel what db's connection runs, without waiting
 * for it: libpq's PQcancel waits until the server closes the cancel
 * connection, which a stopped or hung server never does, so a child
 * process sends it and dies within CANCEL_LIMIT_S whatever happens. */
#define CANCEL_LIMIT_S 2
static void
cancel_detached(struct sp_db *db)
{
    PGcancel *c = PQgetCancel(db->conn);
    if (c == NULL)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGALRM, SIG_DFL);
        alarm(CANCEL_LIMIT_S);
        char err[256];
        PQcancel(c, err, sizeof(err));
        _exit(0);
    }
    PQfreeCancel(c);
}

/* Gives up a connection whose server did not answer in time, or whose
 * wait a stop (SIGTERM) ended, its statement cancelled: shut down, libpq
 * finds it closed, and every caller takes its lost-connection path. The
 * server, if it wakes up, finds the end of the stream after what was
 * sent: a transaction whose COMMIT was not sent rolls back. */
static void
give_up(struct sp_db *db, enum wait_end why)
{
    if (why == WAIT_STOPPED) {
        db->stop_gave_up = true;
        sp_log_msg(SP_LOG_WARN, "db_wait_stopped",
                   "a stop signal ended the wait for the database; its statement is cancelled");
        cancel_detached(db);
    } else {
        db->timed_out = true;
        struct sp_log_line *l = sp_log_begin(SP_LOG_ERROR, "db_wait_timeout");
        sp_log_int(l, "limit_ms", db->wait_limit_ms);
        sp_log_end(l);
    }
    shutdown(PQsocket(db->conn), SHUT_RDWR);
    PQconsumeInput(db->conn);
}

/* A watched wait: until the next result can be read without blocking;
 * the connection is given up when the bound passes or a stop comes. */
static void
await_result(struct sp_db *db)
{
    if (!watched(db) || db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK)
        return;   /* nothing to watch, or nothing more will come: PQgetResult says so */
    struct wait w = wait_start(db->wait_limit_ms, db->stop);
    while (PQisBusy(db->conn)) {
        int ms;
        enum wait_end why = wait_next(&w, &ms);
        if (why != WAIT_ON) {
            give_up(db, why);
            return;
        }
        struct pollfd pfd = {.fd = PQsocket(db->conn), .events = POLLIN};
        int n = poll(&pfd, 1, ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (n > 0 && !PQconsumeInput(db->conn)))
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

/* PQexec, watched when db's waits are. */
static PGresult *
exec_within(struct sp_db *db, const char *sql)
{
    if (!watched(db))
        return PQexec(db->conn, sql);
    return PQsendQuery(db->conn, sql) == 1 ? collect(db) : NULL;
}

/* Drives c, started by PQconnectStartParams, until it connects or fails
 * (WAIT_ON: PQstatus says which), limit_ms passes (0: no limit:
 * WAIT_LATE) or a stop ends it (WAIT_STOPPED). */
static enum wait_end
connect_poll(PGconn *c, long limit_ms, volatile sig_atomic_t *stop)
{
    struct wait w = wait_start(limit_ms, stop);
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        int ms;
        enum wait_end why = wait_next(&w, &ms);
        if (why != WAIT_ON)
            return why;
        struct pollfd pfd = {.fd = PQsocket(c),
                             .events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT};
        int n = poll(&pfd, 1, ms);
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0)
            st = PQconnectPoll(c);
    }
    return WAIT_ON;
}

/* A stoppable connection without a wait bound is still given up after
 * this long: libpq does not enforce connect_timeout on a connection made
 * with PQconnectPoll. */
#define CONNECT_LIMIT_MS 30000

/* The server of one conninfo that let a watched connect pass its bound
 * (FNV-1a of the conninfo), and until when (monotonic ms) it is not asked
 * again: one bound later. A pass's further statements, and the other
 * handles of the process on the same database (support-dispatch's
 * webhook sender), fail at once meanwhile instead of each waiting a bound
 * of its own (QA: a job took 3 bounds to give up). */
static struct {
    uint64_t key;
    long long until_ms;
} unanswered;

/* A new connection under db's wait bound, blocking (libpq's own loop):
 * connect_timeout, in whole seconds (at least 2) and for each host of
 * the conninfo, taking precedence over the conninfo's. libpq 15 ends it
 * by a whole-second clock, up to a second early (CI: 5.03 s for 6, then
 * logged as libpq's "timeout expired", not as past the bound): one
 * second more, so it ends between the bound and a second or two after.
 * *late: whether it failed past the bound. */
static PGconn *
connect_blocking(struct sp_db *db, bool *late)
{
    char secs[24];
    long s = (db->wait_limit_ms + 999) / 1000 + 1;
    snprintf(secs, sizeof(secs), "%ld", s < 2 ? 2 : s);
    const char *const keys[] = {"dbname", "connect_timeout", NULL};
    const char *const values[] = {db->conninfo, secs, NULL};
    long long started = mono_ms();
    PGconn *c = PQconnectdbParams(keys, values, 1);
    *late = PQstatus(c) != CONNECTION_OK && mono_ms() - started >= db->wait_limit_ms;
    return c;
}

/* A new connection that a stop can end: libpq's connect loop, which
 * retries through signals, is driven here instead, within the wait
 * bound (all hosts together; else CONNECT_LIMIT_MS). *late: whether it
 * was given up at the bound; *why: set when a stop gave it up. */
static PGconn *
connect_stoppable(struct sp_db *db, bool *late, const char **why)
{
    const char *const keys[] = {"dbname", NULL};
    const char *const values[] = {db->conninfo, NULL};
    PGconn *c = PQconnectStartParams(keys, values, 1);
    if (c == NULL || PQstatus(c) == CONNECTION_BAD)
        return c;
    switch (connect_poll(c, db->wait_limit_ms > 0 ? db->wait_limit_ms : CONNECT_LIMIT_MS,
                         db->stop)) {
    case WAIT_LATE:
        *late = true;   /* connect_within says why */
        break;
    case WAIT_STOPPED:
        db->stop_gave_up = true;
        *why = "a stop signal ended the wait";
        break;
    case WAIT_ON:
        break;
    }
    return c;
}

/* A new connection; under a wait bound or a stop flag, a watched one.
 * *why: NULL, or why it was given up (then the result may be NULL). */
static PGconn *
connect_within(struct sp_db *db, const char **why)
{
    *why = NULL;
    if (!watched(db))
        return PQconnectdb(db->conninfo);
    uint64_t key = sp_fnv1a(SP_FNV1A_INIT, db->conninfo, strlen(db->conninfo));
    if (unanswered.key == key && mono_ms() < unanswered.until_ms) {
        db->timed_out = true;
        *why = "the server did not answer a connection a moment ago (not asked again yet)";
        return NULL;
    }
    bool late = false;
    PGconn *c = db->stop != NULL ? connect_stoppable(db, &late, why) : connect_blocking(db, &late);
    if (late) {
        /* libpq's "timeout expired" names no bound: say it as the
         * stoppable connect does, so every program logs one text. */
        *why = "the server did not answer within the wait limit";
        db->timed_out = true;
        unanswered.key = key;
        unanswered.until_ms =
            mono_ms() + (db->wait_limit_ms > 0 ? db->wait_limit_ms : CONNECT_LIMIT_MS);
    }
    return c;
}

enum sp_rc
sp_db_connect(struct sp_db *db, struct sp_problem *p)
{
    if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
        return SP_OK;
    drop_connection(db);
    /* A stop gave up on this server: the program is on its way out (no
     * database failure: its transaction, if any, is rolled back). */
    if (db->stop_gave_up)
        return sp_db_job_stop(p);
    /* A fresh connection would run the rest of a transaction outside it. */
    if (db->tx_depth > 0)
        return transaction_lost(p);
    const char *why;
    db->conn = connect_within(db, &why);
    if (db->stop_gave_up) {
        sp_log_msg(SP_LOG_WARN, "db_wait_stopped",
                   "a stop signal ended the wait for a connection");
        drop_connection(db);
        return sp_db_job_stop(p);
    }
    if (PQstatus(db->conn) != CONNECTION_OK) {
        sp_metrics_count(SP_M_DB_CONNECT_FAILURES);
        char buf[512];
        struct sp_log_line *l = sp_log_begin(SP_LOG_ERROR, "db_connect_failed");
        sp_log_str(l, "setting", db->setting);
        if (why != NULL && db->timed_out)
            sp_log_int(l, "limit_ms", db->wait_limit_ms);
        sp_log_str(l, "error", why != NULL ? why : safe_error(db, buf, sizeof(buf)));
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
    bool repeat = false;
    /* A stop cancelled the statement (give_up, db_wait_stopped): not a
     * database failure, no db_error (QA: "sqlstate":"none","error":null). */
    if (db->stop_gave_up)
        return sp_db_job_stop(p);
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
                if (strcmp(event, "db_not_migrated") == 0)
                    schema_error(db, &detail, &event, &repeat);
                hint = detail;   /* what the operator does about it */
            }
            break;
        }
    }
    sp_metrics_count(rc == SP_CONFLICT      ? SP_M_DB_ERRORS_CONFLICT
                     : rc == SP_UNAVAILABLE ? SP_M_DB_ERRORS_UNAVAILABLE
                                            : SP_M_DB_ERRORS_OTHER);
    struct sp_log_line *l = sp_log_begin(rc == SP_CONFLICT ? SP_LOG_INFO
                                         : repeat          ? SP_LOG_DEBUG
                                                           : SP_LOG_ERROR,
                                         event);
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
        PGresult *r = !watched(db)
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
        if (db->stop_gave_up) {   /* said once, as db_wait_stopped */
            fail(db, r, st->name, p);
            drop_connection(db);
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

PGresult *
sp_db_exec_id(struct sp_db *db, struct sp_arena *a, struct sp_stmt *st, long long id,
              struct sp_problem *p)
{
    const char *params[1] = {sp_arena_sprintf(a, "%lld", id)};
    return sp_db_exec(db, a, st, params, p);
}

PGresult *
sp_db_exec_id_at(struct sp_db *db, struct sp_arena *a, struct sp_stmt *st, long long id,
                 struct sp_versions if_match, struct sp_problem *p)
{
    const char *params[2] = {sp_arena_sprintf(a, "%lld", id), sp_versions_param(a, if_match)};
    return sp_db_exec(db, a, st, params, p);
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

bool
sp_db_retryable(const struct sp_problem *p)
{
    return p->rc == SP_UNAVAILABLE && strcmp(p->detail, SP_DB_RETRY_DETAIL) == 0;
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
    PGresult *r = exec_within(db, sql);
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
    /* Bounded, and ended by a stop: a stopped server must not hold a
     * daemon's retry, nor its exit, forever. */
    const char *const keys[] = {"dbname", "connect_timeout", NULL};
    const char *const values[] = {db->conninfo, "10", NULL};
    PGconn *c = PQconnectStartParams(keys, values, 1);
    enum wait_end why = WAIT_ON;
    if (c != NULL && PQstatus(c) != CONNECTION_BAD)
        why = connect_poll(c, db->wait_limit_ms > 0 ? db->wait_limit_ms : 10000, db->stop);
    bool up = PQstatus(c) == CONNECTION_OK;
    PQfinish(c);
    if (up)
        unanswered.until_ms = 0;   /* it answers again: ask it at once */
    if (up || why != WAIT_ON)
        return up;
    /* It failed at once: refused, or the server said no (a wrong
     * password: up; starting up: not yet), which PQping tells apart. */
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
    return sp_problem_set(p, SP_CONFLICT, "job_busy", "already running");
}

bool
sp_db_job_busy(enum sp_rc rc, const struct sp_problem *p)
{
    return rc == SP_CONFLICT && p != NULL && p->code != NULL && strcmp(p->code, "job_busy") == 0;
}

bool
sp_db_job_stopped(enum sp_rc rc, const struct sp_problem *p)
{
    return rc == SP_UNAVAILABLE && p != NULL && p->code != NULL &&
           strcmp(p->code, "stopped") == 0;
}

enum sp_log_level
sp_db_job_log_level(enum sp_rc rc, const struct sp_problem *p)
{
    if (sp_db_job_stopped(rc, p))
        return SP_LOG_WARN;
    return rc == SP_OK || sp_db_job_busy(rc, p) ? SP_LOG_INFO : SP_LOG_ERROR;
}

void
sp_db_job_log_detail(struct sp_log_line *l, enum sp_rc rc, const struct sp_problem *p)
{
    if (sp_db_job_busy(rc, p))
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
