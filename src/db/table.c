/*
 * table: statements assembled from a table's description. See table.h.
 */
#include "db/table.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/json.h"
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
        out->json[out->n] = sp_json_minify(a, sp_db_str(r, (int)out->n, json));
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

/* The columns a row is answered with: id, version (0 unversioned), json. */
static const char *
row_cols(struct sp_arena *a, const struct sp_table *t)
{
    return sp_arena_sprintf(a, "x.id, %s AS version, %s::text AS json",
                            t->versioned ? "x.version" : "0", t->json);
}

/* Row 0 of r, read into out; false when r has no row. */
static bool
read_row(struct sp_arena *a, PGresult *r, struct sp_table_row *out)
{
    if (PQntuples(r) != 1)
        return false;
    out->id = sp_db_int(r, 0, PQfnumber(r, "id"));
    out->version = sp_db_int(r, 0, PQfnumber(r, "version"));
    out->json = sp_json_minify(a, sp_db_str(r, 0, PQfnumber(r, "json")));
    return true;
}

enum sp_rc
sp_table_get(struct sp_db *db, struct sp_arena *a, const struct sp_table *t, long long id,
             struct sp_table_row *out, struct sp_problem *p)
{
    const char *sql = sp_arena_sprintf(a, "SELECT %s FROM %s x WHERE x.id = $1::bigint",
                                       row_cols(a, t), t->name);
    PGresult *r = by_id(db, a, sql, id, true, p);
    if (r == NULL)
        return p->rc;
    read_row(a, r, out);
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

enum sp_rc
sp_table_insert(struct sp_db *db, struct sp_arena *a, const struct sp_table *t,
                const struct sp_table_value *values, struct sp_table_row *out,
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
                                       " SELECT %s FROM x",
                                       t->name, cols.data, vals.data, row_cols(a, t));
    PGresult *r = sp_db_exec_dynamic(db, a, sql, n, false, params, p);
    if (r == NULL)
        return conflict(t, p);
    *out = (struct sp_table_row){0};
    read_row(a, r, out);
    return SP_OK;
}

enum sp_rc
sp_table_missed(struct sp_db *db, struct sp_arena *a, const struct sp_table *t, const char *id,
                struct sp_versions if_match, struct sp_problem *p)
{
    const char *sql = sp_arena_sprintf(a, "SELECT version FROM %s WHERE id = $1::bigint",
                                       t->name);
    const char *params[1] = {id};
    PGresult *r = sp_db_exec_dynamic(db, a, sql, 1, false, params, p);
    if (r == NULL)
        return p->rc;
    if (PQntuples(r) == 0)
        return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such resource");
    return sp_problem_set(p, SP_PRECONDITION, "precondition_failed",
                          "the resource is at version %lld, not %s", sp_db_int(r, 0, 0),
                          sp_versions_text(a, if_match));
}

/* " AND version = ANY($n)" when if_match is a precondition of t, its
 * versions as parameter n; "" otherwise. */
static const char *
version_is(struct sp_arena *a, const struct sp_table *t, struct sp_versions if_match,
           const char **param, int n)
{
    if (!t->versioned || if_match.n == 0)
        return "";
    *param = sp_versions_param(a, if_match);
    return sp_arena_sprintf(a, " AND version = ANY($%d::integer[])", n);
}

enum sp_rc
sp_table_update(struct sp_db *db, struct sp_arena *a, const struct sp_table *t, long long id,
                const struct sp_table_value *values, struct sp_versions if_match,
                struct sp_table_row *out, struct sp_problem *p)
{
    /* set: the new values; was/now: the same columns before and after,
     * so that a write which changes nothing (a PATCH of {} or of the
     * current values) keeps updated_at and the version, as tickets and
     * articles do: no ETag goes stale for nothing (QA). */
    struct sp_buf set, was, now;
    sp_buf_init(&set, a, 256);
    sp_buf_init(&was, a, 128);
    sp_buf_init(&now, a, 128);
    const char *params[SP_TABLE_MAX_COLUMNS + 2];
    int n = 0;
    params[n++] = sp_arena_sprintf(a, "%lld", id);
    for (size_t i = 0; i < t->ncolumns; i++) {
        if (!values[i].set)
            continue;
        params[n++] = values[i].value;
        sp_buf_printf(&set, ", %s = ", t->columns[i].name);
        put_cast(&set, t->columns[i].cast, n);
        sp_buf_printf(&was, "%s%s", was.len > 0 ? ", " : "", t->columns[i].name);
        if (now.len > 0)
            sp_buf_puts(&now, ", ");
        put_cast(&now, t->columns[i].cast, n);
    }
    const char *changed = n > 1 ? sp_arena_sprintf(a, "ROW(%s) IS DISTINCT FROM ROW(%s)",
                                                   was.data, now.data)
                                : "false";
    const char *cond = version_is(a, t, if_match, &params[n], n + 1);
    n += *cond != '\0';
    const char *sql = sp_arena_sprintf(
        a,
        "WITH x AS (UPDATE %s SET updated_at = CASE WHEN %s THEN now() ELSE updated_at END%s%s"
        " WHERE id = $1::bigint%s RETURNING *) SELECT %s FROM x",
        t->name, changed,
        t->versioned ? sp_arena_sprintf(a, ", version = version + (%s)::integer", changed) : "",
        set.len > 0 ? set.data : "", cond, row_cols(a, t));
    PGresult *r = sp_db_exec_dynamic(db, a, sql, n, false, params, p);
    if (r == NULL)
        return conflict(t, p);
    if (!read_row(a, r, out))
        return sp_table_missed(db, a, t, params[0], if_match, p);
    return SP_OK;
}

enum sp_rc
sp_table_delete(struct sp_db *db, struct sp_arena *a, const struct sp_table *t, long long id,
                struct sp_versions if_match, struct sp_problem *p)
{
    const char *params[2] = {sp_arena_sprintf(a, "%lld", id), NULL};
    const char *cond = version_is(a, t, if_match, &params[1], 2);
    const char *sql = sp_arena_sprintf(a, "DELETE FROM %s WHERE id = $1::bigint%s RETURNING id",
                                       t->name, cond);
    PGresult *r = sp_db_exec_dynamic(db, a, sql, *cond != '\0' ? 2 : 1, false, params, p);
    if (r == NULL)
        return p->rc;
    return PQntuples(r) == 1 ? SP_OK : sp_table_missed(db, a, t, params[0], if_match, p);
}
