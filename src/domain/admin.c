/*
 * admin: SQL of the admin resources. See admin.h.
 *
 * Each table is described once (columns, how a row renders as JSON); the
 * INSERT and UPDATE statements are assembled from that description and
 * prepared per connection like any dynamic statement. Column names come
 * from this file only, never from a request.
 */
#include "domain/admin.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "db/db.h"

struct column {
    const char *name;
    const char *cast;       /* how the text parameter ("$") becomes the column */
};

struct table {
    const char *name;
    const char *json;       /* row as a json object, alias x */
    const char *conflict;   /* code for a unique violation */
    const char *conflict_detail;
    bool versioned;
    size_t ncolumns;
    struct column columns[8];
};

static const struct table tables[SP_ADMIN_TABLE_MAX] = {
    [SP_ADMIN_CATEGORIES] = {
        "support_categories",
        "json_build_object('id', x.id, 'slug', x.slug, 'name', x.name, 'description',"
        " x.description, 'is_active', x.is_active, 'routing', x.routing, 'team', x.team,"
        " 'required_skill', x.required_skill, 'default_priority', x.default_priority,"
        " 'created_at', support_ts(x.created_at), 'updated_at', support_ts(x.updated_at))",
        "slug_taken", "another category has this slug", false, SP_CAT_NFIELDS,
        {{"slug", "$"}, {"name", "$"}, {"description", "$"},
         {"is_active", "$::boolean"}, {"routing", "$"}, {"team", "$"},
         {"required_skill", "$"}, {"default_priority", "$"}}},
    [SP_ADMIN_PRIORITY_RULES] = {
        "support_priority_rules",
        "json_build_object('id', x.id, 'position', x.position, 'name', x.name, 'is_active',"
        " x.is_active, 'category', (SELECT slug FROM support_categories c"
        " WHERE c.id = x.category_id), 'customer_tier', x.customer_tier, 'pattern', x.pattern,"
        " 'sentiment_below', x.sentiment_below, 'priority', x.priority, 'version', x.version,"
        " 'created_at', support_ts(x.created_at), 'updated_at', support_ts(x.updated_at))",
        "conflict", "conflict", true, SP_RULE_NFIELDS,
        {{"position", "$::int"}, {"name", "$"}, {"is_active", "$::boolean"},
         {"category_id", "(SELECT id FROM support_categories WHERE slug = $)"},
         {"customer_tier", "$"}, {"pattern", "$"}, {"sentiment_below", "$::real"},
         {"priority", "$"}}},
    [SP_ADMIN_AGENTS] = {
        "support_agents",
        "json_build_object('id', x.id, 'user_id', x.user_id, 'display_name', x.display_name,"
        " 'team', x.team, 'skills', x.skills, 'status', x.status, 'max_concurrent_chats',"
        " x.max_concurrent_chats, 'last_assigned_at', support_ts(x.last_assigned_at),"
        " 'created_at', support_ts(x.created_at), 'updated_at', support_ts(x.updated_at))",
        "user_id_taken", "another agent has this user_id", false, SP_AGENT_NFIELDS,
        {{"user_id", "$"}, {"display_name", "$"}, {"team", "$"},
         {"skills", "ARRAY(SELECT jsonb_array_elements_text($::jsonb))"}, {"status", "$"}, {"max_concurrent_chats", "$::int"}}},
};

/* Writes a column's cast with "$" replaced by the parameter number. */
static void
put_cast(struct sp_buf *b, const char *cast, int n)
{
    const char *dollar = strchr(cast, '$');
    sp_buf_append(b, cast, (size_t)(dollar - cast));
    sp_buf_printf(b, "$%d", n);
    sp_buf_puts(b, dollar + 1);
}

static enum sp_rc
rows(struct sp_ctx *ctx, PGresult *r, int limit, struct sp_admin_rows *out)
{
    int n = PQntuples(r);
    out->json = sp_arena_calloc(ctx->arena, (size_t)n + 1, sizeof(*out->json));
    out->n = 0;
    for (int i = 0; i < n && (limit <= 0 || i < limit); i++)
        out->json[out->n++] = sp_db_str(r, i, 1);
    out->next_after = limit > 0 && n > limit ? sp_db_int(r, limit - 1, 0) : 0;
    return SP_OK;
}

enum sp_rc
sp_admin_list(struct sp_ctx *ctx, enum sp_admin_table t, long long after, int limit,
              struct sp_admin_rows *out, struct sp_problem *p)
{
    const struct table *tb = &tables[t];
    const char *sql = sp_arena_sprintf(ctx->arena,
                                       "SELECT x.id, %s::text FROM %s x WHERE x.id > $1::bigint"
                                       " ORDER BY x.id LIMIT $2::int",
                                       tb->json, tb->name);
    const char *params[2] = {sp_arena_sprintf(ctx->arena, "%lld", after),
                             sp_arena_sprintf(ctx->arena, "%d", limit + 1)};
    PGresult *r = sp_db_exec_dynamic(ctx->db, ctx->arena, sql, 2, true, params, p);
    return r == NULL ? p->rc : rows(ctx, r, limit, out);
}

/* Maps a unique violation to the table's own conflict code. */
static enum sp_rc
conflict(const struct table *tb, struct sp_problem *p)
{
    if (p->rc == SP_CONFLICT)
        sp_problem_set(p, SP_CONFLICT, tb->conflict, "%s", tb->conflict_detail);
    return p->rc;
}

static const char *
one_row(PGresult *r)
{
    return PQntuples(r) == 1 ? sp_db_str(r, 0, 1) : NULL;
}

enum sp_rc
sp_admin_create(struct sp_ctx *ctx, enum sp_admin_table t, const struct sp_admin_field *fields,
                const char **row_json, struct sp_problem *p)
{
    const struct table *tb = &tables[t];
    struct sp_buf cols, vals;
    sp_buf_init(&cols, ctx->arena, 256);
    sp_buf_init(&vals, ctx->arena, 256);
    const char *params[8];
    int n = 0;
    for (size_t i = 0; i < tb->ncolumns; i++) {
        if (!fields[i].set)
            continue;
        params[n++] = fields[i].value;
        sp_buf_printf(&cols, "%s%s", n > 1 ? ", " : "", tb->columns[i].name);
        sp_buf_puts(&vals, n > 1 ? ", " : "");
        put_cast(&vals, tb->columns[i].cast, n);
    }
    const char *sql = sp_arena_sprintf(ctx->arena,
                                       "WITH x AS (INSERT INTO %s (%s) VALUES (%s) RETURNING *)"
                                       " SELECT x.id, %s::text FROM x",
                                       tb->name, cols.data, vals.data, tb->json);
    PGresult *r = sp_db_exec_dynamic(ctx->db, ctx->arena, sql, n, false, params, p);
    if (r == NULL)
        return conflict(tb, p);
    *row_json = one_row(r);
    return SP_OK;
}

enum sp_rc
sp_admin_update(struct sp_ctx *ctx, enum sp_admin_table t, long long id,
                const struct sp_admin_field *fields, const char **row_json, struct sp_problem *p)
{
    const struct table *tb = &tables[t];
    struct sp_buf set;
    sp_buf_init(&set, ctx->arena, 256);
    const char *params[9];
    int n = 0;
    params[n++] = sp_arena_sprintf(ctx->arena, "%lld", id);
    sp_buf_puts(&set, "updated_at = now()");
    if (tb->versioned)
        sp_buf_puts(&set, ", version = version + 1");
    for (size_t i = 0; i < tb->ncolumns; i++) {
        if (!fields[i].set)
            continue;
        params[n++] = fields[i].value;
        sp_buf_printf(&set, ", %s = ", tb->columns[i].name);
        put_cast(&set, tb->columns[i].cast, n);
    }
    const char *sql = sp_arena_sprintf(ctx->arena,
                                       "WITH x AS (UPDATE %s SET %s WHERE id = $1::bigint"
                                       " RETURNING *) SELECT x.id, %s::text FROM x",
                                       tb->name, set.data, tb->json);
    PGresult *r = sp_db_exec_dynamic(ctx->db, ctx->arena, sql, n, false, params, p);
    if (r == NULL)
        return conflict(tb, p);
    *row_json = one_row(r);
    if (*row_json == NULL)
        return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such resource");
    return SP_OK;
}

enum sp_rc
sp_admin_delete(struct sp_ctx *ctx, enum sp_admin_table t, long long id, struct sp_problem *p)
{
    const char *sql = sp_arena_sprintf(ctx->arena, "DELETE FROM %s WHERE id = $1::bigint"
                                                   " RETURNING id",
                                       tables[t].name);
    const char *params[1] = {sp_arena_sprintf(ctx->arena, "%lld", id)};
    PGresult *r = sp_db_exec_dynamic(ctx->db, ctx->arena, sql, 1, false, params, p);
    if (r == NULL)
        return p->rc;
    if (PQntuples(r) == 0)
        return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such resource");
    return SP_OK;
}

#define SLA_JSON                                                                    \
    "json_build_object('id', x.id, 'priority', x.priority, 'category',"            \
    " (SELECT slug FROM support_categories c WHERE c.id = x.category_id),"         \
    " 'first_response_minutes', x.first_response_minutes, 'resolution_minutes',"   \
    " x.resolution_minutes, 'updated_at', support_ts(x.updated_at))::text"

static struct sp_stmt sla_list_stmt = SP_STMT_READ(
    "admin_sla_list",
    "SELECT x.id, " SLA_JSON " FROM support_sla_policies x"
    " ORDER BY x.category_id NULLS FIRST, support_priority_rank(x.priority)",
    0);

static struct sp_stmt sla_put_stmt = SP_STMT(
    "admin_sla_put",
    "WITH x AS ("
    "  INSERT INTO support_sla_policies (priority, category_id, first_response_minutes,"
    "    resolution_minutes)"
    "  SELECT $1, c.id, $3::int, $4::int"
    "  FROM (SELECT 1) one LEFT JOIN support_categories c ON c.slug = $2"
    "  WHERE $2::text IS NULL OR c.id IS NOT NULL"
    "  ON CONFLICT (priority, coalesce(category_id, 0)) DO UPDATE SET"
    "    first_response_minutes = EXCLUDED.first_response_minutes,"
    "    resolution_minutes = EXCLUDED.resolution_minutes, updated_at = now()"
    "  RETURNING *"
    ") SELECT x.id, " SLA_JSON " FROM x",
    4);

enum sp_rc
sp_admin_sla_list(struct sp_ctx *ctx, struct sp_admin_rows *out, struct sp_problem *p)
{
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &sla_list_stmt, NULL, p);
    return r == NULL ? p->rc : rows(ctx, r, 0, out);
}

enum sp_rc
sp_admin_sla_put(struct sp_ctx *ctx, const char *priority, const char *category_slug,
                 long first_response_minutes, long resolution_minutes, const char **row_json,
                 struct sp_problem *p)
{
    const char *params[4] = {priority, category_slug,
                             sp_arena_sprintf(ctx->arena, "%ld", first_response_minutes),
                             sp_arena_sprintf(ctx->arena, "%ld", resolution_minutes)};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &sla_put_stmt, params, p);
    if (r == NULL)
        return p->rc;
    *row_json = one_row(r);
    if (*row_json == NULL) {
        sp_problem_field(p, "category", "unknown_category", "is not the slug of a category");
        return SP_INVALID;
    }
    return SP_OK;
}

static struct sp_stmt category_id_stmt = SP_STMT_READ(
    "admin_category_id", "SELECT id FROM support_categories WHERE slug = $1", 1);

enum sp_rc
sp_admin_category_id(struct sp_ctx *ctx, const char *slug, long long *id, struct sp_problem *p)
{
    const char *params[1] = {slug};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &category_id_stmt, params, p);
    if (r == NULL)
        return p->rc;
    *id = PQntuples(r) == 1 ? sp_db_int(r, 0, 0) : 0;
    return SP_OK;
}
