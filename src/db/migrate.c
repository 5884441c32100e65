/*
 * migrate: the schema migration runner. See migrate.h.
 */
#include "db/migrate.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/log.h"
#include "db/db.h"

/* Arbitrary but fixed: every migrator of this schema takes the same lock. */
#define SP_MIGRATE_LOCK "7311946"

int
sp_migration_version(const char *f)
{
    size_t n = strlen(f);
    if (n < 9 || !isdigit((unsigned char)f[0]) || !isdigit((unsigned char)f[1]) ||
        !isdigit((unsigned char)f[2]) || f[3] != '_' || strcmp(f + n - 4, ".sql") != 0)
        return -1;
    for (size_t i = 4; i < n - 4; i++)
        if (!(isalnum((unsigned char)f[i]) || f[i] == '_' || f[i] == '-'))
            return -1;
    int v = (f[0] - '0') * 100 + (f[1] - '0') * 10 + (f[2] - '0');
    return v > 0 ? v : -1;  /* 0 means "nothing applied" */
}

static int
by_version(const void *a, const void *b)
{
    return ((const struct sp_migration *)a)->version - ((const struct sp_migration *)b)->version;
}

bool
sp_migrations_list(const char *dir, struct sp_migration **out, size_t *n, char *err,
                   size_t errlen)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(err, errlen, "cannot open migrations directory %s: %s", dir, strerror(errno));
        return false;
    }
    size_t cap = 16;
    struct sp_migration *list = malloc(cap * sizeof(*list));
    struct dirent *e;
    while (list != NULL && (e = readdir(d)) != NULL) {
        int v = sp_migration_version(e->d_name);
        if (v < 0 || strlen(e->d_name) >= sizeof(list[0].name))
            continue;
        if (*n == cap) {
            cap *= 2;
            struct sp_migration *grown = realloc(list, cap * sizeof(*list));
            if (grown == NULL) {
                free(list);
                list = NULL;
                break;
            }
            list = grown;
        }
        list[*n].version = v;
        snprintf(list[*n].name, sizeof(list[*n].name), "%s", e->d_name);
        (*n)++;
    }
    closedir(d);
    if (list == NULL) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    qsort(list, *n, sizeof(*list), by_version);
    for (size_t i = 1; i < *n; i++) {
        if (list[i].version == list[i - 1].version) {
            snprintf(err, errlen, "two migrations share version %03d: %s and %s", list[i].version,
                     list[i - 1].name, list[i].name);
            free(list);
            *n = 0;
            return false;
        }
    }
    *out = list;
    return true;
}

static char *
read_file(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = size >= 0 ? malloc((size_t)size + 1) : NULL;
    if (s != NULL && fread(s, 1, (size_t)size, f) != (size_t)size) {
        free(s);
        s = NULL;
    }
    if (s != NULL)
        s[size] = '\0';
    fclose(f);
    return s;
}

static const char ensure_table_sql[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY,"
    " name text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

int
sp_migrate_current(struct sp_db *db, struct sp_problem *p)
{
    struct sp_arena a;
    sp_arena_init(&a, 1024);
    static struct sp_stmt current = SP_STMT_READ(
        "migrate_current",
        "SELECT coalesce(max(version), 0) FROM schema_migrations", 0);
    /* A fresh database has no table yet: that is version 0, not an error. */
    static struct sp_stmt exists = SP_STMT_READ(
        "migrate_table_exists", "SELECT to_regclass('schema_migrations') IS NOT NULL", 0);
    int v = -1;
    PGresult *r = sp_db_exec(db, &a, &exists, NULL, p);
    if (r != NULL) {
        if (!sp_db_bool(r, 0, 0)) {
            v = 0;
        } else {
            r = sp_db_exec(db, &a, &current, NULL, p);
            if (r != NULL)
                v = (int)sp_db_int(r, 0, 0);
        }
    }
    sp_arena_destroy(&a);
    return v;
}

enum sp_rc
sp_migrate(struct sp_db *db, const char *dir, int *applied, struct sp_problem *p)
{
    *applied = 0;
    char err[512];
    struct sp_migration *list;
    size_t n;
    if (!sp_migrations_list(dir, &list, &n, err, sizeof(err)))
        return sp_problem_set(p, SP_ERROR, "internal", "%s", err);
    if (n == 0) {   /* a wrong path: the database would look up to date */
        free(list);
        return sp_problem_set(p, SP_INVALID, "no_migrations",
                              "no NNN_*.sql migrations in %s (SUPPORT_MIGRATIONS_DIR or --dir)",
                              dir);
    }

    struct sp_arena a;
    sp_arena_init(&a, 4096);
    enum sp_rc rc = SP_OK;
    /* A session lock: held across the per-migration transactions below. */
    if (sp_db_exec_sql(db, &a, "SELECT pg_advisory_lock(" SP_MIGRATE_LOCK ")", p) == NULL ||
        sp_db_exec_sql(db, &a, ensure_table_sql, p) == NULL) {
        rc = p->rc;
        goto out;
    }
    int current = sp_migrate_current(db, p);
    if (current < 0) {
        rc = p->rc;
        goto out;
    }
    int newest = n > 0 ? list[n - 1].version : 0;
    if (current > newest) {
        rc = sp_problem_set(p, SP_CONFLICT, "database_ahead",
                            "the database is at version %d but the newest migration here is %d;"
                            " refusing to run an older release against it",
                            current, newest);
        goto unlock;
    }
    for (size_t i = 0; i < n; i++) {
        if (list[i].version <= current)
            continue;
        char *sql = read_file(dir, list[i].name);
        if (sql == NULL) {
            rc = sp_problem_set(p, SP_ERROR, "internal", "cannot read %s", list[i].name);
            goto unlock;
        }
        char record[512];
        snprintf(record, sizeof(record),
                 "INSERT INTO schema_migrations (version, name) VALUES (%d, '%s')",
                 list[i].version, list[i].name); /* name charset checked by the parser */
        bool ok = sp_db_begin(db, &a, p) == SP_OK && sp_db_exec_sql(db, &a, sql, p) != NULL &&
                  sp_db_exec_sql(db, &a, record, p) != NULL && sp_db_commit(db, &a, p) == SP_OK;
        free(sql);
        if (!ok) {
            sp_db_rollback(db, &a);
            sp_problem_set(p, SP_ERROR, "migration_failed", "migration %s failed", list[i].name);
            rc = SP_ERROR;
            goto unlock;
        }
        struct sp_log_line *l = sp_log_begin(SP_LOG_INFO, "migration_applied");
        sp_log_str(l, "name", list[i].name);
        sp_log_end(l);
        (*applied)++;
        sp_arena_reset(&a);
    }
unlock:
    {
        struct sp_problem ignored;
        sp_problem_init(&ignored);
        sp_db_exec_sql(db, &a, "SELECT pg_advisory_unlock(" SP_MIGRATE_LOCK ")", &ignored);
    }
out:
    sp_arena_destroy(&a);
    free(list);
    return rc;
}
