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

struct sp_db;

/* A new handle for conninfo (malloc'd; NULL when out of memory). */
struct sp_db *sp_store_open(const char *conninfo, long statement_timeout_ms);
void sp_store_close(struct sp_db *db);

/* The newest migration shipped in dir (0: none); false with err when the
 * directory cannot be read. */
bool sp_store_latest_migration(const char *dir, int *latest, char *err, size_t errlen);

/* The migration the database is at; -1 when it does not answer. */
int sp_store_schema_version(struct sp_db *db);

#endif
