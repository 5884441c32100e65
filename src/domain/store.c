/*
 * store: see store.h.
 */
#include "domain/store.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/metrics.h"
#include "core/problem.h"
#include "db/db.h"
#include "db/migrate.h"

void
sp_store_init(struct sp_db *db, const char *conninfo, const char *setting,
              long statement_timeout_ms)
{
    sp_db_init(db, conninfo, statement_timeout_ms);
    sp_db_set_setting(db, setting);
    if (statement_timeout_ms > 0)
        sp_db_wait_limit(db, statement_timeout_ms + SP_STORE_WAIT_MARGIN_MS);
}

struct sp_db *
sp_store_open(const char *conninfo, const char *setting, long statement_timeout_ms)
{
    struct sp_db *db = malloc(sizeof(*db));
    if (db != NULL)
        sp_store_init(db, conninfo, setting, statement_timeout_ms);
    return db;
}

bool
sp_store_check_settings(const struct sp_config *cfg, char *err, size_t errlen)
{
    return sp_db_check_settings(cfg, err, errlen);
}

void
sp_store_close(struct sp_db *db)
{
    if (db == NULL)
        return;
    sp_db_close(db);
    free(db);
}

bool
sp_store_latest_migration(const char *dir, int *latest, char *err, size_t errlen)
{
    struct sp_migration *list;
    size_t n;
    char why[400];
    if (!sp_migrations_list(dir, &list, &n, why, sizeof(why))) {
        snprintf(err, errlen, "SUPPORT_MIGRATIONS_DIR: %s", why);
        return false;
    }
    /* readyz would wait for migration 0 forever: a wrong path, not a
     * release without migrations. */
    if (n == 0)
        snprintf(err, errlen, "SUPPORT_MIGRATIONS_DIR: no NNN_*.sql migrations in %s", dir);
    *latest = n > 0 ? list[n - 1].version : 0;
    free(list);
    return n > 0;
}

int
sp_store_schema_version(struct sp_db *db, long wait_ms, bool *timed_out)
{
    struct sp_problem p;
    sp_problem_init(&p);
    long was = sp_db_wait_limit(db, wait_ms);
    int v = sp_migrate_current(db, &p);
    *timed_out = v < 0 && sp_db_timed_out(db);
    sp_db_wait_limit(db, was);
    return v;
}

/* Per worker: when the replica was last found unreachable. */
static long long replica_down_at_ms = -1;

struct sp_db *
sp_store_reader(struct sp_db *primary, struct sp_db *replica)
{
    if (replica == NULL)
        return primary;
    long long now = sp_clock_mono_us() / 1000;
    if (replica_down_at_ms >= 0 && now - replica_down_at_ms < SP_STORE_REPLICA_RETRY_MS) {
        sp_metrics_count(SP_M_DB_READS_FALLBACK);
        return primary;
    }
    struct sp_problem p;
    sp_problem_init(&p);
    if (sp_db_ready(replica, &p) != SP_OK) {
        replica_down_at_ms = now;
        sp_metrics_count(SP_M_DB_READS_FALLBACK);
        return primary;
    }
    replica_down_at_ms = -1;
    sp_metrics_count(SP_M_DB_READS_REPLICA);
    return replica;
}

/* While WAL waits to be replayed, the lag is the age of the newest
 * replayed commit; with nothing waiting the replica is current, however
 * long ago the primary last committed. */
static struct sp_stmt replica_status = SP_STMT_READ(
    "store_replica_status",
    "SELECT pg_is_in_recovery(),"
    " CASE WHEN NOT pg_is_in_recovery()"
    "        OR pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0"
    "      ELSE COALESCE(EXTRACT(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END,"
    " COALESCE(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)",
    0);

bool
sp_store_replica_status(struct sp_db *db, struct sp_arena *a, struct sp_store_replica *out)
{
    struct sp_problem p;
    sp_problem_init(&p);
    PGresult *r = sp_db_exec(db, a, &replica_status, NULL, &p);
    if (r == NULL || PQntuples(r) != 1)
        return false;
    out->in_recovery = sp_db_bool(r, 0, 0);
    out->lag_s = sp_db_double(r, 0, 1);
    out->replay_lag_bytes = sp_db_double(r, 0, 2);
    return true;
}
