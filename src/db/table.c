/*
 * table: statements assembled from a table's description. See table.h.
 */
#include "db/table.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "db/db.h"

/* Writes a column's cast with "$" replaced by the parameter number. */
static void
put_cast(struct sp_buf *b, const char *cast, int n)
{
    const char *dollar = strchr(cast, '$');
    sp_buf_append(b, cast, (size_t)(dollar - cast));
    sp_buf_printf(b, "$%d", n);
    sp_buf_puts(b, dollar + 1);
}

void
sp_table_rows_read(struct sp_arena *a, const PGresult *r, int limit, struct sp_table_rows *out)
{
    int rows = sp_db_page(r, limit, "id", &out->next_after), json = PQfnumber(r, "json");
    out->json = sp_arena_calloc(a, (size_t)rows + 1, sizeof(*out->json));
    for (out->n = 0; (int)out->n < rows; out->n++)
        out->json[out->n] = sp_db_str(r, (int)out->n, json);
}

enum sp_rc
sp_table_list(struct sp_db *db, struct sp_arena *a, const struct sp_table *t, long long after,
              int limit, struct sp_table_rows *out, struct sp_problem *p)
{
    const char *sql = sp_arena_sprintf(a,
                                       "SELECT x.id, %s::text AS json FROM %s x"
                                       " WHERE x.id > $1::bigint ORDER BY x.id LIMIT $2::int",
                                       t->json, t->name);
    const char *params[2] = {sp_arena_sprintf(a, "%lld", after),
                             sp_db_page_fetch(a, limit)};
    PGresult *r = sp_db_exec_dynamic(db, a, sql, 2, true, params, p);
    if (r == NULL)
        return p->rc;
    sp_table_rows_read(a, r, limit, out);
    return SP_OK;
}

/* sql, whose $1 is the row's id, run for id: its result, or NULL with p
 * filled (404 not_found when no row answers). */
static PGresult *
by_id(struct sp_db *db, struct sp_arena *a, const char *sql, long long id, bool read_only,
      struct sp_problem *p)
{
    const char *params[1] = {sp_arena_sprintf(a, "%lld", id)};
    PGresult *r = sp_db_exec_dynamic(db, a, sql, 1, read_only, params, p);
    if (r != NULL && PQntuples(r) == 0) {
        sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such resource");
        return NULL;
    }
    return r;
}

enum sp_rc
sp_table_get(struct sp_db *db, struct sp_arena *a, const struct sp_table *t, long long id,
             const char **row_json, struct sp_problem *p)
{
    const char *sql = sp_arena_sprintf(a, "SELECT x.id, %s::text AS json FROM %s x"
                                          " WHERE x.id = $1::bigint",
                                       t->json, t->name);
    PGresult *r = by_id(db, a, sql, id, true, p);
    if (r == NULL)
        return p->rc;
    *row_json = sp_db_str(r, 0, PQfnumber(r, "json"));
    return SP_OK;
}

/* Maps a unique violation to the table's own conflict code. */
static enum sp_rc
conflict(const struct sp_table *t, struct sp_problem *p)
{
    if (p->rc == SP_CONFLICT)
        sp_problem_set(p, SP_CONFLICT, t->conflict, "%s", t->conflict_detail);
    return p->rc;
}

static const char *
one_row(PGresult *r)
{
    return PQntuples(r) == 1 ? sp_db_str(r, 0, PQfnumber(r, "json")) : NULL;
}

enum sp_rc
sp_table_insert(struct sp_db *db, struct sp_arena *a, const struct sp_table *t,
                const struct sp_table_value *values, long long *id, const char **row_json,
                struct sp_problem *p)
{
    struct sp_buf cols, vals;
    sp_buf_init(&cols, a, 256);
    sp_buf_init(&vals, a, 256);
    const char *params[SP_TABLE_MAX_COLUMNS];
    int n = 0;
    for (size_t i = 0; i < t->ncolumns; i++) {
        if (!values[i].set)
            continue;
        params[n++] = values[i].value;
        sp_buf_printf(&cols, "%s%s", n > 1 ? ", " : "", t->columns[i].name);
        sp_buf_puts(&vals, n > 1 ? ", " : "");
        put_cast(&vals, t->columns[i].cast, n);
    }
    const char *sql = sp_arena_sprintf(a,
                                       "WITH x AS (INSERT INTO %s (%s) VALUES (%s) RETURNING *)"
                                       " SELECT x.id, %s::text AS json FROM x",
                                       t->name, cols.data, vals.data, t->json);
    PGresult *r = sp_db_exec_dynamic(db, a, sql, n, false, params, p);
    if (r == NULL)
        return conflict(t, p);
    *row_json = one_row(r);
    *id = *row_json != NULL ? sp_db_int(r, 0, PQfnumber(r, "id")) : 0;
    return SP_OK;
}

enum sp_rc
sp_table_update(struct sp_db *db, struct sp_arena *a, const struct sp_table *t, long long id,
                const struct sp_table_value *values, const char **row_json,
                struct sp_problem *p)
{
    struct sp_buf set;
    sp_buf_init(&set, a, 256);
    const char *params[SP_TABLE_MAX_COLUMNS + 1];
    int n = 0;
    params[n++] = sp_arena_sprintf(a, "%lld", id);
    sp_buf_puts(&set, "updated_at = now()");
    if (t->versioned)
        sp_buf_puts(&set, ", version = version + 1");
    for (size_t i = 0; i < t->ncolumns; i++) {
        if (!values[i].set)
            continue;
        params[n++] = values[i].value;
        sp_buf_printf(&set, ", %s = ", t->columns[i].name);
        put_cast(&set, t->columns[i].cast, n);
    }
    const char *sql = sp_arena_sprintf(a,
                                       "WITH x AS (UPDATE %s SET %s WHERE id = $1::bigint"
                                       " RETURNING *) SELECT x.id, %s::text AS json FROM x",
                                       t->name, set.data, t->json);
    PGresult *r = sp_db_exec_dynamic(db, a, sql, n, false, params, p);
    if (r == NULL)
        return conflict(t, p);
    *row_json = one_row(r);
    if (*row_json == NULL)
        return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such resource");
    return SP_OK;
}

enum sp_rc
sp_table_delete(struct sp_db *db, struct sp_arena *a, const struct sp_table *t, long long id,
                struct sp_problem *p)
{
    const char *sql = sp_arena_sprintf(a, "DELETE FROM %s WHERE id = $1::bigint RETURNING id",
                                       t->name);
    return by_id(db, a, sql, id, false, p) != NULL ? SP_OK : p->rc;
}
