/*
 * migrate: applies sql/NNN_name.sql files in version order, each in its own
 * transaction, recording them in schema_migrations. Safe to run from
 * several processes at once (a session advisory lock serializes them) and
 * refuses a database whose newest applied version is ahead of the files.
 * Must not: edit or re-apply a migration that is already recorded.
 */
#ifndef SP_MIGRATE_H
#define SP_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/problem.h"

struct sp_db;

struct sp_migration {
    int version;
    char name[200];   /* file name, e.g. "001_init.sql" */
};

/* Lists NNN_*.sql files of dir sorted by version; rejects duplicates.
 * *out is malloc'ed (free it); returns false with err filled. */
bool sp_migrations_list(const char *dir, struct sp_migration **out, size_t *n, char *err,
                        size_t errlen);
/* Parses "NNN_name.sql"; returns the version or -1. */
int sp_migration_version(const char *filename);

/* Applies pending migrations; *applied counts them. */
enum sp_rc sp_migrate(struct sp_db *db, const char *dir, int *applied, struct sp_problem *p);
/* Newest applied version (0 when none or the table is missing), -1 on error. */
int sp_migrate_current(struct sp_db *db, struct sp_problem *p);

#endif
