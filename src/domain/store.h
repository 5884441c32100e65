/*
 * store: the worker's database as the layers above the domain see it —
 * opened at worker start (connecting lazily, so a worker starts and
 * answers readyz while the database is down), closed at exit, and whether
 * its schema is this release's (readyz, API.md §3). The handle stays
 * opaque above the domain: handlers pass it along in struct sp_ctx and
 * never run SQL.
 * Must not: know HTTP.
 */
#ifndef SP_STORE_H
#define SP_STORE_H

#include <stdbool.h>
#include <stddef.h>

struct sp_arena;
struct sp_db;

/* A new handle for conninfo, read from the variable setting (named in
 * its errors; a static string); malloc'd, NULL when out of memory.
 * With a statement timeout, each wait for the server is bounded too, at
 * statement_timeout_ms + SP_STORE_WAIT_MARGIN_MS (sp_db_wait_limit): a
 * running server has answered by then — it cancels its own statement at
 * the timeout — so a longer wait is a server stopped or cut off. The
 * connection is given up (the request answers 503 before nginx's 504),
 * and a transaction whose COMMIT was not sent rolls back instead of
 * applying when the server wakes, after its client has given up. */
#define SP_STORE_WAIT_MARGIN_MS 5000
struct sp_db *sp_store_open(const char *conninfo, const char *setting, long statement_timeout_ms);
/* The same bound on a handle of the caller's (a job's, on its stack). */
void sp_store_init(struct sp_db *db, const char *conninfo, const char *setting,
                   long statement_timeout_ms);
struct sp_config;
/* The database settings as libpq reads them (sp_db_check_settings). */
bool sp_store_check_settings(const struct sp_config *cfg, char *err, size_t errlen);
void sp_store_close(struct sp_db *db);

/* The newest migration shipped in dir (SUPPORT_MIGRATIONS_DIR); false
 * with err naming the setting when the directory cannot be read or holds
 * no migration. */
bool sp_store_latest_migration(const char *dir, int *latest, char *err, size_t errlen);

/* The migration the database is at; -1 when it does not answer, and then
 * *timed_out says whether it gave up after wait_ms (sp_db_wait_limit:
 * a server stopped or cut off) rather than finding it unreachable. */
int sp_store_schema_version(struct sp_db *db, long wait_ms, bool *timed_out);

/* The handle a read-mostly endpoint reads from (docs/operations.md, "Two
 * nodes"): replica when there is one and it can be reached, else primary.
 * A replica that could not be reached is not tried again for
 * SP_STORE_REPLICA_RETRY_MS, so a dead replica costs one failed connect
 * per worker per interval, not one per request. Its data may lag the
 * primary by the replication lag: never for a read that must see the
 * caller's own write. */
#define SP_STORE_REPLICA_RETRY_MS 5000
struct sp_db *sp_store_reader(struct sp_db *primary, struct sp_db *replica);

/* A replica's state, read on db (one cheap statement, for /metrics). */
struct sp_store_replica {
    bool in_recovery;      /* false: db is a primary (promoted, or misconfigured) */
    double lag_s;          /* age of the newest replayed commit while WAL is
                            * still waiting to be replayed; 0 when caught up */
    double replay_lag_bytes; /* WAL received but not replayed yet */
};
bool sp_store_replica_status(struct sp_db *db, struct sp_arena *a, struct sp_store_replica *out);

#endif
