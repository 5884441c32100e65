/*
 * sla_policies: support_sla_policies reads and writes. See
 * sla_policies.h.
 */
#include "domain/sla_policies.h"

#include <stdio.h>

#include "core/arena.h"
#include "db/db.h"
#include "domain/categories.h"

#define POLICY_JSON                                                                 \
    "json_build_object('id', x.id, 'priority', x.priority, 'category', "           \
    SP_CATEGORY_SLUG_OF("x.category_id") ","                                        \
    " 'first_response_minutes', x.first_response_minutes, 'resolution_minutes',"   \
    " x.resolution_minutes, 'updated_at', support_ts(x.updated_at))"

/* No columns: the only write is sp_sla_policy_put's upsert. */
const struct sp_admin_store sp_sla_policy_store = {
    .table = {.name = "support_sla_policies", .json = POLICY_JSON}};

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
    "    resolution_minutes = EXCLUDED.resolution_minutes, updated_at = now()"
    "  RETURNING *"
    ") SELECT x.id, " POLICY_JSON "::text AS json FROM x",
    4);

enum sp_rc
sp_sla_policy_check(struct sp_ctx *ctx, const char *category_slug, long first_response_minutes,
                    long resolution_minutes, struct sp_problem *p)
{
    /* A first response due after the resolution would never be the
     * earlier target (API.md §5.2): the two dues would contradict. */
    if (first_response_minutes > 0 && resolution_minutes > 0 &&
        first_response_minutes > resolution_minutes)
        sp_problem_field(p, "first_response_minutes", "out_of_range",
                         "must not be more than resolution_minutes");
    /* Looked up here only on the way to a 422; a valid body's category
     * is read by the upsert itself, at no extra round trip. */
    if (p->nerrors > 0 && category_slug != NULL) {
        struct sp_category cat;
        (void)sp_category_by_slug(ctx, category_slug, SP_CATEGORY_ANY, &cat, p);
    }
    return p->rc;
}

enum sp_rc
sp_sla_policy_put(struct sp_ctx *ctx, const char *priority, const char *category_slug,
                  long first_response_minutes, long resolution_minutes, const char **row_json,
                  struct sp_problem *p)
{
    if (sp_sla_policy_check(ctx, category_slug, first_response_minutes, resolution_minutes, p) !=
        SP_OK)
        return p->rc;
    const char *params[4] = {priority, category_slug,
                             sp_arena_sprintf(ctx->arena, "%ld", first_response_minutes),
                             sp_arena_sprintf(ctx->arena, "%ld", resolution_minutes)};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &put_stmt, params, p);
    if (r == NULL)
        return p->rc;
    if (PQntuples(r) != 1)
        return sp_category_unknown(p, SP_CATEGORY_ANY);
    *row_json = sp_db_str(r, 0, PQfnumber(r, "json"));
    return SP_OK;
}

/* Both sub-statements see the rows as they were: `kept` tells a default
 * (still there, not deleted) from no row at all. */
static struct sp_stmt delete_stmt = SP_STMT(
    "sla_policy_delete",
    "WITH d AS (DELETE FROM support_sla_policies"
    "  WHERE id = $1::bigint AND category_id IS NOT NULL RETURNING id)"
    " SELECT EXISTS (SELECT 1 FROM d) AS deleted,"
    "  EXISTS (SELECT 1 FROM support_sla_policies WHERE id = $1::bigint) AS existed",
    1);

enum sp_rc
sp_sla_policy_delete(struct sp_ctx *ctx, long long id, struct sp_problem *p)
{
    const char *params[1] = {sp_arena_sprintf(ctx->arena, "%lld", id)};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &delete_stmt, params, p);
    if (r == NULL)
        return p->rc;
    if (sp_db_bool(r, 0, PQfnumber(r, "deleted")))
        return SP_OK;
    if (!sp_db_bool(r, 0, PQfnumber(r, "existed")))
        return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such SLA policy");
    return sp_problem_set(p, SP_CONFLICT, "default_policy",
                          "SLA policy %lld is a priority's default: change it with PUT, a"
                          " default is never removed", id);
}
