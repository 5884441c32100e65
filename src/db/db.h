/*
 * db: one PostgreSQL connection per worker, named prepared statements
 * prepared lazily once per connection, transactions, and the single
 * SQLSTATE -> outcome table. Reconnects transparently when the server went
 * away (a restarted database must not need a worker restart): a statement
 * outside a transaction is retried once on a fresh connection.
 * Must not: know HTTP or any domain concept.
 */
#ifndef SP_DB_H
#define SP_DB_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "core/problem.h"

struct sp_arena;

/* A statement declared beside the domain code that owns it:
 *   static struct sp_stmt get_ticket = SP_STMT("ticket_get", "SELECT ...", 2);
 * slot is assigned on first use; nparams must match the SQL. */
struct sp_stmt {
    const char *name;
    const char *sql;
    int nparams;
    int slot;           /* 0 = not registered yet */
};
#define SP_STMT(name, sql, nparams) {name, sql, nparams, 0}
#define SP_DB_MAX_STMTS 256
#define SP_DB_MAX_DYNAMIC 128

struct sp_db {
    PGconn *conn;
    char *conninfo;
    long statement_timeout_ms;
    int tx_depth;          /* nested begin/commit pairs share one transaction */
    bool prepared[SP_DB_MAX_STMTS];
    /* Statements built from fragments (e.g. the queue's filter
     * combinations): prepared under a name derived from their text. */
    unsigned long long dynamic[SP_DB_MAX_DYNAMIC];
    bool dynamic_ready[SP_DB_MAX_DYNAMIC];
    int ndynamic;
};

/* Does not connect yet; the first query does. */
void sp_db_init(struct sp_db *db, const char *conninfo, long statement_timeout_ms);
void sp_db_close(struct sp_db *db);
/* Connects if needed; SP_UNAVAILABLE when the server cannot be reached. */
enum sp_rc sp_db_connect(struct sp_db *db, struct sp_problem *p);

/* Runs a prepared statement. params[i] NULL = SQL NULL. Returns the result
 * (registered on the arena: never PQclear it) or NULL with p filled. */
PGresult *sp_db_exec(struct sp_db *db, struct sp_arena *a, struct sp_stmt *st,
                     const char *const *params, struct sp_problem *p);
/* Runs SQL assembled at run time from a bounded set of fragments, prepared
 * once per connection like a named statement (falls back to an unnamed
 * one when the per-connection table is full). Same ownership. */
PGresult *sp_db_exec_dynamic(struct sp_db *db, struct sp_arena *a, const char *sql, int nparams,
                             const char *const *params, struct sp_problem *p);
/* Runs literal SQL (BEGIN, migrations). Same ownership as sp_db_exec. */
PGresult *sp_db_exec_sql(struct sp_db *db, struct sp_arena *a, const char *sql,
                         struct sp_problem *p);

/* Transactions nest by counting: only the outermost begin/commit reach the
 * server, so a domain function can be transactional on its own and still
 * join its caller's transaction (e.g. the idempotency key's). */
enum sp_rc sp_db_begin(struct sp_db *db, struct sp_arena *a, struct sp_problem *p);
enum sp_rc sp_db_commit(struct sp_db *db, struct sp_arena *a, struct sp_problem *p);
/* Rolls back the whole transaction whatever the depth; safe when none is
 * open; never fails loudly. */
void sp_db_rollback(struct sp_db *db, struct sp_arena *a);

/* Accessors that treat SQL NULL as NULL. Strings are owned by the result. */
const char *sp_db_str(const PGresult *r, int row, int col);
long long   sp_db_int(const PGresult *r, int row, int col);
bool        sp_db_bool(const PGresult *r, int row, int col);

#endif
