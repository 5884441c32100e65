/*
 * table: the plain writes of a small table its owner describes once —
 * a keyset list by id, one row by id, an insert of the columns given (the others take
 * their defaults), a partial update, a delete — each one statement
 * assembled from the description and prepared once per connection
 * (sp_db_exec_dynamic). Rows come back as one JSON object text each,
 * rendered by the owner's expression, ready to embed in a reply: compact
 * as the API's own JSON (json_build_object's " : " and ", " taken out).
 * The domain module that owns a table declares its struct sp_table, in
 * its struct sp_admin_store (domain/admin_store.h: categories, agents,
 * rule_store, sla_policies); column names come from that description
 * only, never from a request.
 * Must not: know HTTP or any domain concept, open transactions.
 */
#ifndef SP_TABLE_H
#define SP_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "core/problem.h"
#include "core/versions.h"

struct sp_arena;
struct sp_db;

#define SP_TABLE_MAX_COLUMNS 8

struct sp_table_column {
    const char *name;
    const char *cast;       /* how the text parameter ("$") becomes the column */
};

struct sp_table {
    const char *name;
    const char *json;       /* a row as a json object, the row aliased x */
    const char *conflict;   /* code for a unique violation */
    const char *conflict_detail;
    bool versioned;         /* an update also bumps `version` */
    size_t ncolumns;
    struct sp_table_column columns[SP_TABLE_MAX_COLUMNS];
};

/* A column of an insert or a partial update: set=false leaves it alone
 * (its default on insert); value NULL (with set) writes SQL NULL. Values
 * are text as PostgreSQL reads them ("true", "42", "{a,b}"). An array of
 * these is indexed like the table's columns. */
struct sp_table_value {
    bool set;
    const char *value;
};

/* One row: its id, its version (0 when the table is not versioned) and
 * its compact JSON text (in the arena). */
struct sp_table_row {
    long long id;
    long long version;
    const char *json;
};

/* Rows as compact JSON object texts (in the arena). */
struct sp_table_rows {
    const char **json;
    size_t n;
    long long next_after;    /* the id to continue after; 0 = end */
};

/* The rows of r, with columns id and json (the row's JSON text): at most
 * limit of them; next_after is set when r holds more (a list queries
 * limit + 1). */
void sp_table_rows_read(struct sp_arena *a, const PGresult *r, int limit,
                        struct sp_table_rows *out);

/* Up to limit rows with id > after, by id. */
enum sp_rc sp_table_list(struct sp_db *db, struct sp_arena *a, const struct sp_table *t,
                         long long after, int limit, struct sp_table_rows *out,
                         struct sp_problem *p);
/* Row id; SP_NOT_FOUND when there is none. */
enum sp_rc sp_table_get(struct sp_db *db, struct sp_arena *a, const struct sp_table *t,
                        long long id, struct sp_table_row *out, struct sp_problem *p);
/* Inserts and returns the row. A unique violation is SP_CONFLICT with the
 * table's own code. */
enum sp_rc sp_table_insert(struct sp_db *db, struct sp_arena *a, const struct sp_table *t,
                           const struct sp_table_value *values, struct sp_table_row *out,
                           struct sp_problem *p);
/* Updates the set columns of row id (and updated_at, and version when
 * versioned) and returns the row; SP_NOT_FOUND when there is none;
 * SP_PRECONDITION when if_match (versioned tables; SP_VERSIONS_ANY: any)
 * does not hold its version. */
enum sp_rc sp_table_update(struct sp_db *db, struct sp_arena *a, const struct sp_table *t,
                           long long id, const struct sp_table_value *values,
                           struct sp_versions if_match, struct sp_table_row *out,
                           struct sp_problem *p);
/* SP_NOT_FOUND when there is no row id; SP_PRECONDITION as an update. */
enum sp_rc sp_table_delete(struct sp_db *db, struct sp_arena *a, const struct sp_table *t,
                           long long id, struct sp_versions if_match, struct sp_problem *p);
/* For an owner's own write of row id (text) of versioned table t that
 * found no row at a version of if_match: SP_NOT_FOUND when the row is gone,
 * else SP_PRECONDITION naming the version it is at. */
enum sp_rc sp_table_missed(struct sp_db *db, struct sp_arena *a, const struct sp_table *t,
                           const char *id, struct sp_versions if_match, struct sp_problem *p);

#endif
