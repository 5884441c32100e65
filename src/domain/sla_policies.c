/*
 * sla_policies: support_sla_policies reads and writes. See
 * sla_policies.h.
 */
#include "domain/sla_policies.h"

#include <stdio.h>

#include "core/arena.h"
#include "core/json.h"
#include "db/db.h"
#include "domain/categories.h"

#define POLICY_JSON                                                                 \
    "json_build_object('id', x.id, 'priority', x.priority, 'category', "           \
    SP_CATEGORY_SLUG_OF("x.category_id") ","                                        \
    " 'first_response_minutes', x.first_response_minutes, 'resolution_minutes',"   \
    " x.resolution_minutes, 'version', x.version, 'updated_at', support_ts(x.updated_at))"

/* A written row x as the admin API answers it: its id and version (the
 * ETag's) and its JSON. */
#define POLICY_ROW(C, SEP)                                                          \
    C(PR_ID, "x.id", int, id) SEP C(PR_VERSION, "x.version", int, version)          \
    SEP C(PR_JSON, POLICY_JSON "::text", str, json)
enum { POLICY_ROW(SP_COL_ENUM, ) PR_COUNT };
SP_ROW_READER(read_policy_row, struct sp_table_row, POLICY_ROW)

/* Row 0 of a put, compact as the store's other rows are (db/table.c). */
static void
read_put_row(struct sp_ctx *ctx, const PGresult *r, struct sp_table_row *row)
{
    read_policy_row(r, 0, row);
    row->json = sp_json_minify(ctx->arena, row->json);
}

/* No columns: the writes are sp_sla_policy_put's. Versioned (sql/053):
 * every write that changes a row bumps its version, the ETag If-Match
 * compares. */
const struct sp_admin_store sp_sla_policy_store = {
    .table = {.name = "support_sla_policies", .json = POLICY_JSON, .versioned = true}};

/* A put that changes nothing keeps the version and updated_at (QA: a
 * retried PUT made another admin's ETag stale), as an article PATCH does:
 * SET items of `table`'s old targets against the new ones. */
#define SAME_TARGETS_KEEP_VERSION(table, first, resolution)                                    \
    "  updated_at = CASE WHEN " SAME_TARGETS(table, first, resolution)                         \
    "    THEN " table ".updated_at ELSE now() END,"                                             \
    "  version = " table ".version + CASE WHEN " SAME_TARGETS(table, first, resolution)        \
    "    THEN 0 ELSE 1 END"
#define SAME_TARGETS(table, first, resolution)                                                  \
    "(" table ".first_response_minutes, " table ".resolution_minutes) IS NOT DISTINCT FROM"     \
    " (" first ", " resolution ")"

/* A put without If-Match: last write wins, and an update that changes a
 * target is a new version. */
static struct sp_stmt put_stmt = SP_STMT(
    "sla_policy_put",
    "WITH x AS ("
    "  INSERT INTO support_sla_policies (priority, category_id, first_response_minutes,"
    "    resolution_minutes)"
    "  SELECT $1, c.id, $3::int, $4::int"
    "  FROM (SELECT 1) one LEFT JOIN support_categories c ON c.slug = $2"
    "  WHERE $2::text IS NULL OR c.id IS NOT NULL"
    "  ON CONFLICT (priority, coalesce(category_id, 0)) DO UPDATE SET"
    "    first_response_minutes = EXCLUDED.first_response_minutes,"
    "    resolution_minutes = EXCLUDED.resolution_minutes," SAME_TARGETS_KEEP_VERSION(
        "support_sla_policies", "EXCLUDED.first_response_minutes",
        "EXCLUDED.resolution_minutes")
    "  RETURNING *"
    ") SELECT " POLICY_ROW(SP_COL_SQL, ", ") " FROM x",
    4);

/* A put with If-Match: row $1 (the policy of its priority and category,
 * which never change), only at a version of $4 (NULL: any). */
static struct sp_stmt update_stmt = SP_STMT(
    "sla_policy_update",
    "WITH x AS (UPDATE support_sla_policies SET first_response_minutes = $2::int,"
    "  resolution_minutes = $3::int," SAME_TARGETS_KEEP_VERSION("support_sla_policies",
                                                              "$2::int", "$3::int")
    "  WHERE id = $1::bigint AND ($4::integer[] IS NULL OR version = ANY($4::integer[]))"
    " RETURNING *"
    ") SELECT " POLICY_ROW(SP_COL_SQL, ", ") " FROM x",
    4);

/* The policy of (priority $1, category slug $2 or NULL), if any, and
 * whether the slug names a category. */
static struct sp_stmt current_stmt = SP_STMT_READ(
    "sla_policy_current",
    "SELECT c.id IS NOT NULL OR $2::text IS NULL AS category_known, s.id"
    " FROM (SELECT 1) one LEFT JOIN support_categories c ON c.slug = $2"
    " LEFT JOIN support_sla_policies s ON s.priority = $1"
    "  AND s.category_id IS NOT DISTINCT FROM c.id AND ($2::text IS NULL OR c.id IS NOT NULL)",
    2);

/* Row $1 as a write that missed it finds it: its version, and whether it
 * is a priority's default. */
static struct sp_stmt state_stmt = SP_STMT(
    "sla_policy_state",
    "SELECT version, category_id IS NULL AS is_default FROM support_sla_policies"
    " WHERE id = $1::bigint",
    1);

/* A write of policy id expected at version if_match found nothing to
 * write: SP_NOT_FOUND when the row is gone; 409 default_policy for a
 * default when is_default_conflicts (a delete); else 412, naming the
 * version it is at (as db/table's admin rows do). */
static enum sp_rc
missed(struct sp_ctx *ctx, const char *id, struct sp_versions if_match, bool is_default_conflicts,
       struct sp_problem *p)
{
    const char *params[1] = {id};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &state_stmt, params, p);
    if (r == NULL)
        return p->rc;
    if (PQntuples(r) == 0)
        return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such SLA policy");
    if (is_default_conflicts && sp_db_bool(r, 0, PQfnumber(r, "is_default")))
        return sp_problem_set(p, SP_CONFLICT, "default_policy",
                              "SLA policy %s is a priority's default: change it with PUT, a"
                              " default is never removed", id);
    return sp_problem_set(p, SP_PRECONDITION, "precondition_failed",
                          "the resource is at version %lld, not %s",
                          sp_db_int(r, 0, PQfnumber(r, "version")),
                          sp_versions_text(ctx->arena, if_match));
}

enum sp_rc
sp_sla_policy_check(struct sp_ctx *ctx, const struct sp_sla_policy_input *in,
                    struct sp_problem *p)
{
    /* A first response due after the resolution would never be the
     * earlier target (API.md §5.2): the two dues would contradict. */
    if (in->first_response_minutes > 0 && in->resolution_minutes > 0 &&
        in->first_response_minutes > in->resolution_minutes)
        sp_problem_field(p, "first_response_minutes", "out_of_range",
                         "must not be more than resolution_minutes");
    /* Looked up here only on the way to a 422; a valid body's category
     * is read by the upsert itself, at no extra round trip. */
    if (p->nerrors > 0 && in->category != NULL) {
        struct sp_category cat;
        (void)sp_category_by_slug(ctx, in->category, SP_CATEGORY_ANY, &cat, p);
    }
    return p->rc;
}

enum sp_rc
sp_sla_policy_current(struct sp_ctx *ctx, const struct sp_sla_policy_input *in, long long *id,
                      struct sp_problem *p)
{
    const char *params[2] = {in->priority, in->category};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &current_stmt, params, p);
    if (r == NULL)
        return p->rc;
    if (!sp_db_bool(r, 0, PQfnumber(r, "category_known")))
        return sp_category_unknown(p, SP_CATEGORY_ANY);
    if ((*id = sp_db_int(r, 0, PQfnumber(r, "id"))) == 0)
        return sp_problem_set(p, SP_PRECONDITION, "precondition_failed",
                              "there is no SLA policy of this priority and category yet: create"
                              " it without If-Match");
    return SP_OK;
}

enum sp_rc
sp_sla_policy_put(struct sp_ctx *ctx, const struct sp_sla_policy_input *in, long long id,
                  struct sp_versions if_match, struct sp_table_row *row, struct sp_problem *p)
{
    if (sp_sla_policy_check(ctx, in, p) != SP_OK)
        return p->rc;
    const char *first = sp_arena_sprintf(ctx->arena, "%ld", in->first_response_minutes);
    const char *resolution = sp_arena_sprintf(ctx->arena, "%ld", in->resolution_minutes);
    if (id == 0) {
        const char *params[4] = {in->priority, in->category, first, resolution};
        PGresult *r = sp_db_exec(ctx->db, ctx->arena, &put_stmt, params, p);
        if (r == NULL)
            return p->rc;
        if (PQntuples(r) != 1)
            return sp_category_unknown(p, SP_CATEGORY_ANY);
        read_put_row(ctx, r, row);
        return SP_OK;
    }
    const char *params[4] = {sp_arena_sprintf(ctx->arena, "%lld", id), first, resolution,
                             sp_versions_param(ctx->arena, if_match)};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &update_stmt, params, p);
    if (r == NULL)
        return p->rc;
    if (PQntuples(r) == 1) {
        read_put_row(ctx, r, row);
        return SP_OK;
    }
    /* Removed since sp_sla_policy_current found it: no current row for
     * the If-Match either (412, as there). */
    if (missed(ctx, params[0], if_match, false, p) == SP_NOT_FOUND)
        sp_problem_set(p, SP_PRECONDITION, "precondition_failed",
                       "SLA policy %lld was removed meanwhile: create it again without"
                       " If-Match", id);
    return p->rc;
}

/* A default is never deleted (category_id IS NOT NULL), whatever the
 * If-Match. */
static struct sp_stmt delete_stmt = SP_STMT(
    "sla_policy_delete",
    "DELETE FROM support_sla_policies WHERE id = $1::bigint AND category_id IS NOT NULL"
    " AND ($2::integer[] IS NULL OR version = ANY($2::integer[])) RETURNING id",
    2);

enum sp_rc
sp_sla_policy_delete(struct sp_ctx *ctx, long long id, struct sp_versions if_match,
                     struct sp_problem *p)
{
    PGresult *r = sp_db_exec_id_at(ctx->db, ctx->arena, &delete_stmt, id, if_match, p);
    if (r == NULL)
        return p->rc;
    if (PQntuples(r) == 1)
        return SP_OK;
    return missed(ctx, sp_arena_sprintf(ctx->arena, "%lld", id), if_match, true, p);
}
