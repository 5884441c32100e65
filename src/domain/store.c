/*
 * store: see store.h.
 */
#include "domain/store.h"

#include <stdlib.h>

#include "core/problem.h"
#include "db/db.h"
#include "db/migrate.h"

struct sp_db *
sp_store_open(const char *conninfo, long statement_timeout_ms)
{
    struct sp_db *db = malloc(sizeof(*db));
    if (db != NULL)
        sp_db_init(db, conninfo, statement_timeout_ms);
    return db;
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
    if (!sp_migrations_list(dir, &list, &n, err, errlen))
        return false;
    *latest = n > 0 ? list[n - 1].version : 0;
    free(list);
    return true;
}

int
sp_store_schema_version(struct sp_db *db)
{
    struct sp_problem p;
    sp_problem_init(&p);
    return sp_migrate_current(db, &p);
}
