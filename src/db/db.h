/*
 * db: one PostgreSQL connection per worker, named prepared statements
 * prepared lazily once per connection, transactions, and the single
 * SQLSTATE -> outcome table. Reconnects transparently when the server went
 * away (a restarted database must not need a worker restart), but never
 * runs a statement twice if the first run may have been applied: see
 * sp_db_may_retry().
 * Must not: know HTTP or any domain concept.
 */
#ifndef SP_DB_H
#define SP_DB_H

#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>

#include "core/log.h"
#include "core/problem.h"
#include "core/versions.h"

struct sp_arena;
struct sp_db;

/* A statement declared beside the domain code that owns it:
 *   static struct sp_stmt get_ticket = SP_STMT_READ("ticket_get", "SELECT ...", 2);
 * slot is assigned on first use; nparams must match the SQL.
 * SP_STMT_READ only for statements that change nothing when run twice: a
 * plain SELECT, without FOR UPDATE/SHARE, locks or side-effecting
 * functions. Everything else (writes, locks) is SP_STMT. */
struct sp_stmt {
    const char *name;
    const char *sql;
    int nparams;
    bool read_only;     /* may run again after its connection was lost */
    int slot;           /* 0 = not registered yet */
    /* Named parameters (SP_STMT_NAMED): the SQL says :name, params[i] is
     * the value of names[i]; rewritten to $n once per process. */
    const char *const *names;
    char *positional_sql;
};
#define SP_STMT(name, sql, nparams) {name, sql, nparams, false, 0, NULL, NULL}
#define SP_STMT_READ(name, sql, nparams) {name, sql, nparams, true, 0, NULL, NULL}
/* For long statements, where $17 means nothing to a reader and one added
 * parameter would shift the others: names is NULL-terminated and indexed
 * by the caller's enum, so params[] is filled by name too:
 *   enum { CP_ID, CP_NOW, CP_COUNT };
 *   static const char *const create_names[CP_COUNT + 1] = {
 *       [CP_ID] = "id", [CP_NOW] = "now", NULL};
 *   static struct sp_stmt create = SP_STMT_NAMED("x_create",
 *       "INSERT … VALUES (:id, :now, :now)", create_names, CP_COUNT);
 *   const char *params[CP_COUNT] = {[CP_ID] = …, [CP_NOW] = …}; */
#define SP_STMT_NAMED(name, sql, names, count) {name, sql, count, false, 0, names, NULL}

/* Column lists that make the SELECT list, the enum of its indices and
 * the row reader at once, so a column added, removed or moved moves its
 * index and its read with it. Each column says how it is read (str, int,
 * bool, double, opt_str: the sp_db_ accessor of that name) and into which
 * member of *out:
 *   #define THING_COLUMNS(C, SEP)                                     \
 *       C(TH_ID, "t.id", int, id) SEP C(TH_NAME, "t.name", str, name)
 *   #define THING_COLS THING_COLUMNS(SP_COL_SQL, ", ")
 *   enum thing_column { THING_COLUMNS(SP_COL_ENUM, ) TH_COUNT };
 * SP_COL_READ is the reader's body, where r, row, col (the list's first
 * column in the row) and out are in scope:
 *   static void read_thing(const PGresult *r, int row, int col, struct thing *out)
 *   { THING_COLUMNS(SP_COL_READ, ) }
 * A column that is selected but not read leaves read and member empty. */
#define SP_COL_SQL(name, expr, read, member) expr
#define SP_COL_ENUM(name, expr, read, member) name,
#define SP_COL_READ(name, expr, read, member) out->member = sp_db_##read(r, row, col + name);
/* The usual reader, for a result whose columns are exactly one list read
 * into one struct: a static sp_db_row_reader fn that zeroes *item (a
 * type) and reads the list from column 0 of row into it:
 *   SP_ROW_READER(read_thing, struct thing, THING_COLUMNS) */
#define SP_ROW_READER(fn, type, COLUMNS)                                                   \
    static void fn(const PGresult *r, int row, void *item)                                 \
    {                                                                                      \
        const int col = 0;                                                                 \
        type *out = item;                                                                  \
        *out = (type){0};                                                                  \
        COLUMNS(SP_COL_READ, )                                                             \
    }

/* Keyset pages (API.md §1): a list statement fetches one row more than
 * the page, so knowing whether a next page exists costs nothing.
 * sp_db_page_fetch() is that LIMIT ("limit + 1"); sp_db_page() says how
 * many rows of r the page shows (at most limit) and sets *next to the key
 * (column key_col, by name) of the last one shown when more rows follow,
 * else 0. */
const char *sp_db_page_fetch(struct sp_arena *a, int limit);
int sp_db_page(const PGresult *r, int limit, const char *key_col, long long *next);
/* Every keyset list in one call: runs st (the caller set its LIMIT
 * parameter to sp_db_page_fetch(limit)) and reads the rows the page shows
 * (sp_db_page, key_col) into a new zeroed arena array of *n items of size
 * bytes, each filled by read(r, row, item); the array has one item more
 * than *n, so it is never NULL. NULL with p filled when st failed. */
typedef void sp_db_row_reader(const PGresult *r, int row, void *item);
void *sp_db_page_read(struct sp_db *db, struct sp_arena *a, struct sp_stmt *st,
                      const char *const *params, int limit, const char *key_col, size_t size,
                      sp_db_row_reader *read, size_t *n, long long *next, struct sp_problem *p);
/* sp_db_page_read of one parent's rows (a ticket's events, a session's
 * messages) by id: st's parameters are the parent's id, the id to
 * continue after and the LIMIT, in that order. */
void *sp_db_page_of(struct sp_db *db, struct sp_arena *a, struct sp_stmt *st, long long parent,
                    long long after, int limit, size_t size, sp_db_row_reader *read, size_t *n,
                    long long *next, struct sp_problem *p);
/* For a statement that answers at most one row: its failure (r NULL, p
 * already filled by sp_db_exec), SP_NOT_FOUND not_found "no such <what>"
 * when it answered none, else SP_OK. */
enum sp_rc sp_db_found(const PGresult *r, const char *what, struct sp_problem *p);
/* The same where answering no row means something else (a conflict, an
 * unknown sender): p gets rc, code and detail (a literal) instead. */
enum sp_rc sp_db_found_or(const PGresult *r, enum sp_rc rc, const char *code, const char *detail,
                          struct sp_problem *p);
/* The same for a write without RETURNING (UPDATE, DELETE): SP_NOT_FOUND
 * not_found "no such <what>" when it changed no row. */
enum sp_rc sp_db_changed(const PGresult *r, const char *what, struct sp_problem *p);
/* Every one-row lookup in one call: runs st and, when it answered a row,
 * fills item from row 0 with read; else as sp_db_found. */
enum sp_rc sp_db_one(struct sp_db *db, struct sp_arena *a, struct sp_stmt *st,
                     const char *const *params, const char *what, sp_db_row_reader *read,
                     void *item, struct sp_problem *p);
/* The same where answering no row means something else (a conflict: a
 * write whose condition failed): as sp_db_found_or. */
enum sp_rc sp_db_one_or(struct sp_db *db, struct sp_arena *a, struct sp_stmt *st,
                        const char *const *params, enum sp_rc rc, const char *code,
                        const char *detail, sp_db_row_reader *read, void *item,
                        struct sp_problem *p);

/* The SQL of a named-parameter statement with $n for each :name (n = its
 * index in names + 1); "::" casts and quoted strings are left alone.
 * malloc'd; NULL with err filled for a name not in names. */
char *sp_db_positional_sql(const char *sql, const char *const *names, char *err, size_t errlen);
#define SP_DB_MAX_STMTS 256
#define SP_DB_MAX_DYNAMIC 128

struct sp_db {
    PGconn *conn;
    char *conninfo;
    const char *setting;   /* the variable conninfo came from: named in its errors */
    long statement_timeout_ms;
    int tx_depth;          /* 1 inside the (one, never nested) transaction */
    /* sp_db_begin sent nothing yet: BEGIN goes out with the transaction's
     * first statement, in one round trip (db.c, begin_and_run). */
    bool begin_pending;
    bool prepared[SP_DB_MAX_STMTS];
    /* Statements built from fragments (e.g. the queue's filter
     * combinations): prepared under a name derived from their text. */
    unsigned long long dynamic[SP_DB_MAX_DYNAMIC];
    bool dynamic_ready[SP_DB_MAX_DYNAMIC];
    int ndynamic;
    bool listening;        /* LISTEN issued on this connection (sp_db_wait_notify) */
    long wait_limit_ms;    /* sp_db_wait_limit; 0 = none */
    bool timed_out;        /* a wait passed wait_limit_ms since it was set */
    volatile sig_atomic_t *stop;  /* sp_db_stop_flag; NULL = none */
    bool stop_gave_up;     /* a stop ended a wait: no new connection is tried */
    bool async_commit;     /* synchronous_commit = off on this session (sp_db_async_commit) */
};

/* The reconnect rule, for a statement whose connection was found lost
 * when it failed. It runs again, once, on a fresh connection only when
 * its first run cannot have been applied, or applying it twice changes
 * nothing:
 *   - never inside a transaction: the transaction died with the
 *     connection, its earlier statements with it (the caller gets 503
 *     dependency_unavailable and every further statement of that
 *     transaction fails until it is rolled back);
 *   - never more than once (retries_done > 0);
 *   - otherwise when it was never sent (the connection was known dead
 *     before, or the send itself failed), or it is read-only.
 * A write that was sent and then lost its connection answers 503: it may
 * or may not have been applied, and running it again could apply it
 * twice. A connection the server closed while the worker was idle (a
 * restart) is noticed before the next statement is sent, so the common
 * case never reaches this rule. Pure; t/unit/test_db.c. */
bool sp_db_may_retry(bool in_transaction, bool sent, bool read_only, int retries_done);

/* Does not connect yet; the first query does. Its errors name
 * SUPPORT_DATABASE_URL as where conninfo came from, unless
 * sp_db_set_setting says otherwise (a static string). */
void sp_db_init(struct sp_db *db, const char *conninfo, long statement_timeout_ms);
void sp_db_set_setting(struct sp_db *db, const char *setting);
/* Whether libpq can read conninfo (a connection string or URI; unset or
 * empty: libpq's defaults), checked as PQconnectdb would. false with err
 * naming setting, never its value: libpq's own message quotes the text,
 * password and all. */
bool sp_db_conninfo_ok(const char *setting, const char *conninfo, char *err, size_t errlen);
struct sp_config;
/* SUPPORT_DATABASE_URL and SUPPORT_DATABASE_READ_URL as sp_db_conninfo_ok
 * reads them: every program that connects checks them at start (and
 * --check-config), so a typo is a refusal naming the variable rather than
 * a connect error on every request. */
bool sp_db_check_settings(const struct sp_config *cfg, char *err, size_t errlen);
void sp_db_close(struct sp_db *db);
/* Commits of this session return before their WAL reaches the disk
 * (synchronous_commit = off, on this and every later connection of db).
 * Only for sessions whose writes may be lost in a server crash without
 * harm (support-dispatch's bookkeeping: see domain/dispatch.h); a crash
 * loses at most the last ~0.6 s of them, never makes a commit half
 * applied, and never shows other sessions what later vanishes except
 * through such a crash. */
void sp_db_async_commit(struct sp_db *db);
/* A client-side bound, in ms, on each wait for the server: a statement's
 * result, a new connection (connect_timeout, whole seconds, at least 2,
 * for each host; with a stop flag, all hosts together). After a new
 * connection waited the bound out, the process does not ask that server
 * (that conninfo) again for one more bound: connects fail at once.
 * 0 (the default) = none: statement_timeout bounds a server that runs,
 * nothing bounds one that is stopped or cut off (docs/operations.md,
 * "A database that does not answer"). Past the bound the connection is
 * given up as lost — a statement already sent is never run again, and
 * the caller gets SP_UNAVAILABLE — and sp_db_timed_out says so. Returns
 * the bound it replaces; clears sp_db_timed_out. The workers' handles
 * carry one (sp_store_open), and so do the jobs' (jobs/job.c); readyz
 * sets a shorter one for its check. */
long sp_db_wait_limit(struct sp_db *db, long ms);
bool sp_db_timed_out(const struct sp_db *db);
/* A flag a signal handler sets (a job's SIGTERM, SIGINT): once set, a
 * wait of db's for the server — a new connection, a statement's result —
 * goes on for at most 1 s more (a server that answers finishes what it
 * was asked), then ends: its statement cancelled (without waiting for
 * the server to confirm), the connection given up as lost, no new one
 * tried; the caller gets SP_UNAVAILABLE, and the program exits instead
 * of waiting for a server that does not answer. NULL: none (the
 * default). */
void sp_db_stop_flag(struct sp_db *db, volatile sig_atomic_t *stop);
/* db's waits bounded and stopped as like's are (a second handle of one
 * program: support-dispatch's LISTEN connection). */
void sp_db_watch_as(struct sp_db *db, const struct sp_db *like);
/* Connects if needed; SP_UNAVAILABLE when the server cannot be reached. */
enum sp_rc sp_db_connect(struct sp_db *db, struct sp_problem *p);
/* sp_db_connect, after finding out (without blocking) whether the server
 * closed the idle connection meanwhile: SP_OK means the next statement
 * has a connection that was alive a moment ago (choosing between a
 * replica and the primary). Outside a transaction only. */
enum sp_rc sp_db_ready(struct sp_db *db, struct sp_problem *p);

/* Runs a prepared statement. params[i] NULL = SQL NULL. Returns the result
 * (registered on the arena: never PQclear it) or NULL with p filled. */
PGresult *sp_db_exec(struct sp_db *db, struct sp_arena *a, struct sp_stmt *st,
                     const char *const *params, struct sp_problem *p);
/* sp_db_exec of a statement whose one parameter is an id ($1::bigint). */
PGresult *sp_db_exec_id(struct sp_db *db, struct sp_arena *a, struct sp_stmt *st, long long id,
                        struct sp_problem *p);
/* The same for a write of row id under If-Match: $1 the id, $2 the
 * versions it accepts (sp_versions_param: NULL for any). */
PGresult *sp_db_exec_id_at(struct sp_db *db, struct sp_arena *a, struct sp_stmt *st,
                           long long id, struct sp_versions if_match, struct sp_problem *p);
/* Runs lock (a lock taken until the transaction ends, e.g. an advisory
 * lock), then st: a check under a lock (a count against a cap). st is a
 * statement of its own because a statement's snapshot is taken when it
 * starts: one started after the lock was granted sees every write
 * committed by whoever held it before, one that waited inside does not.
 * st's result, or NULL with p filled when either failed. */
PGresult *sp_db_exec_locked(struct sp_db *db, struct sp_arena *a, struct sp_stmt *lock,
                            const char *const *lock_params, struct sp_stmt *st,
                            const char *const *params, struct sp_problem *p);
/* Runs SQL assembled at run time from a bounded set of fragments, prepared
 * once per connection like a named statement (falls back to an unnamed
 * one when the per-connection table is full). read_only as SP_STMT_READ.
 * Same ownership. */
PGresult *sp_db_exec_dynamic(struct sp_db *db, struct sp_arena *a, const char *sql, int nparams,
                             bool read_only, const char *const *params, struct sp_problem *p);
/* Runs literal SQL (BEGIN, migrations), never twice. Same ownership as
 * sp_db_exec. */
PGresult *sp_db_exec_sql(struct sp_db *db, struct sp_arena *a, const char *sql,
                         struct sp_problem *p);

/* LISTEN/NOTIFY, on a handle of its own that runs nothing else (a
 * statement on it would read and drop waiting notifications). Listens on
 * channel, connecting first. */
enum sp_rc sp_db_listen(struct sp_db *db, struct sp_arena *a, const char *channel,
                        struct sp_problem *p);
/* The socket to poll for notifications; -1 without a connection. */
int sp_db_socket(const struct sp_db *db);
/* Reads what arrived without blocking: the number of notifications
 * consumed, or -1 when the connection is gone (it is dropped; listen
 * again, and assume something may have been missed). */
int sp_db_notifications(struct sp_db *db);
/* Waits up to timeout_ms for a NOTIFY on channel (an SQL identifier of
 * the caller's, never user input), LISTENing first on a new connection,
 * or until a signal interrupts the wait. 1 when a notification came (all
 * queued ones are consumed), and at once when it has just LISTENed on a
 * new connection (a notification sent before could not be heard: the
 * caller looks for itself), 0 when none did; -1 when it cannot listen
 * (no connection: at once) or the connection was lost while waiting —
 * the caller waits before it tries again (jobs/job.c backs off), and
 * may have missed a notification. */
int sp_db_wait_notify(struct sp_db *db, const char *channel, long timeout_ms);
/* Whether the server accepts connections (as PQping: nothing logged;
 * within the wait bound, else 10 s, and ended by the stop flag as any
 * wait): a daemon waiting out an outage asks this before it runs again. */
bool sp_db_ping(const struct sp_db *db);

/* One transaction at a time, owned by the domain command that began it
 * (docs/development.md): functions that run inside a caller's transaction
 * say so and never begin one. A begin inside a transaction is refused
 * (internal error, logged): nesting would let an inner rollback end the
 * outer transaction behind its back. sp_db_begin makes sure of a live
 * connection but sends nothing: BEGIN travels with the first statement
 * (one round trip for both), and a commit or rollback before any
 * statement sends nothing either. */
enum sp_rc sp_db_begin(struct sp_db *db, struct sp_arena *a, struct sp_problem *p);
enum sp_rc sp_db_commit(struct sp_db *db, struct sp_arena *a, struct sp_problem *p);
/* Rolls back the whole transaction whatever the depth; safe when none is
 * open; never fails loudly. */
void sp_db_rollback(struct sp_db *db, struct sp_arena *a);
/* The detail of a transaction undone by a deadlock or a serialization
 * failure (SQLSTATE 40P01, 40001): still a 503, but the database is up
 * and the same request again is expected to pass. */
#define SP_DB_RETRY_DETAIL                                                                      \
    "the request met another one changing the same rows at the same moment and was undone;"    \
    " try again"
/* Whether p is such a failure: a command that owns its transaction,
 * rolled back, may run it once more. */
bool sp_db_retryable(const struct sp_problem *p);

/* The one-run-at-a-time lock of a batch job (API.md §12): a session-level
 * pg_try_advisory_lock(key). SP_OK when this session now holds it;
 * SP_CONFLICT job_busy "already running" (logged at info as busy_event, unless
 * NULL: the job logs it its own way) when another does. Released by
 * sp_db_job_unlock (or the session's end). */
enum sp_rc sp_db_job_lock(struct sp_db *db, struct sp_arena *a, long long key,
                          const char *busy_event, struct sp_problem *p);
void sp_db_job_unlock(struct sp_db *db, struct sp_arena *a, long long key);
/* Whether a pass's outcome is sp_db_job_lock's "already running" (its
 * problem code job_busy): nothing to do. Any other SP_CONFLICT (a unique
 * violation, a chat linked meanwhile) is a failed pass like any error. */
bool sp_db_job_busy(enum sp_rc rc, const struct sp_problem *p);
/* A pass cut short by a stop (SIGTERM/SIGINT): SP_UNAVAILABLE, code
 * "stopped", "stopped by a signal before it finished", marked logged.
 * What a statement the stop cancelled fails with (after db_wait_stopped,
 * no db_error), and what a pass that stops between its items returns,
 * so the runner neither records it as a run nor exits 0 (jobs/job.h). */
enum sp_rc sp_db_job_stop(struct sp_problem *p);
/* Whether a pass's outcome is sp_db_job_stop's. */
bool sp_db_job_stopped(enum sp_rc rc, const struct sp_problem *p);
/* The level of such a job's summary line: info when the pass worked or
 * found the lock taken (sp_db_job_busy), warn when a stop cut it short
 * (sp_db_job_stopped), error otherwise. p may be NULL (a progress line:
 * SP_OK). */
enum sp_log_level sp_db_job_log_level(enum sp_rc rc, const struct sp_problem *p);
/* Adds to such a line, when the pass failed as a whole (not SP_OK, not
 * busy), "detail": p's detail ("the database is unavailable"), so
 * that every job's failed pass says why in one shape rather than a line
 * of zero counts (QA); when another run held the lock (sp_db_job_busy),
 * "skipped_pass": "busy", so its zero counts do not read as a pass that
 * found nothing (QA; not "skipped": some jobs count skipped items). p
 * may be NULL (a progress line). */
void sp_db_job_log_detail(struct sp_log_line *l, enum sp_rc rc, const struct sp_problem *p);

/* Accessors that treat SQL NULL as NULL. Strings are owned by the result. */
const char *sp_db_str(const PGresult *r, int row, int col);
/* v as a bigint[] parameter ("{1,2,3}"). Arena-owned. */
const char *sp_db_int_array(struct sp_arena *a, const long long *v, size_t n);
/* v as a text[] parameter: every element double-quoted, '"' and '\\'
 * escaped, so none reads as NULL or splits ("{\"a\",\"b c\"}"). Arena-owned. */
const char *sp_db_text_array(struct sp_arena *a, const char *const *v, size_t n);
long long   sp_db_int(const PGresult *r, int row, int col);
bool        sp_db_bool(const PGresult *r, int row, int col);
/* A numeric column as a double; 0 for NULL. */
double      sp_db_double(const PGresult *r, int row, int col);
/* sp_db_str, or NULL when r has no column col (a statement that selects
 * fewer columns than the list it shares). */
const char *sp_db_opt_str(const PGresult *r, int row, int col);

#endif
