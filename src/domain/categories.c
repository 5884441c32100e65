/*
 * categories: support_categories lookups and admin writes. See
 * categories.h.
 */
#include "domain/categories.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "db/db.h"

#define CATEGORY_COLS                                                               \
    "c.id, c.slug, c.is_active, c.routing, c.team, c.required_skill,"               \
    " c.default_priority"

static struct sp_stmt active_stmt = SP_STMT_READ(
    "category_active",
    "SELECT " CATEGORY_COLS " FROM support_categories c"
    " WHERE " SP_CATEGORY_ACTIVE_SLUG("c", "$1"),
    1);

static struct sp_stmt any_stmt = SP_STMT_READ(
    "category_any", "SELECT " CATEGORY_COLS " FROM support_categories c WHERE c.slug = $1", 1);

static struct sp_stmt slug_stmt = SP_STMT_READ(
    "category_slug", "SELECT slug FROM support_categories WHERE id = $1::bigint", 1);

static struct sp_stmt list_active_stmt = SP_STMT_READ(
    "category_list_active",
    "SELECT slug, name, description FROM support_categories WHERE is_active"
    " ORDER BY name, slug",
    0);

static struct sp_stmt routing_stmt = SP_STMT_READ(
    "category_routing",
    "SELECT routing, required_skill FROM support_categories WHERE id = $1::bigint", 1);

/* A category routed by skill names the skill: without one no agent ever
 * matches and its tickets and chats wait unrouted. Checked on what the
 * row will hold: a create's values over the defaults (routing manual, no
 * skill), a patch's over the row's current ones. */
static enum sp_rc
check_routing(struct sp_ctx *ctx, long long id, const struct sp_table_value *values,
              struct sp_problem *p)
{
    const struct sp_table_value *routing = &values[SP_CAT_ROUTING];
    const struct sp_table_value *skill = &values[SP_CAT_SKILL];
    /* A value refused is set with NULL: it is not a null given. */
    if ((routing->set && routing->value == NULL) ||
        (skill->set && sp_problem_refuses(p, "required_skill")))
        return p->rc;   /* refused: its own error says why */
    if (id != 0 && !routing->set && !skill->set)
        return p->rc;       /* neither changes */
    const char *now_routing = routing->set ? routing->value : "manual";
    const char *now_skill = skill->set ? skill->value : NULL;
    if (id != 0 && !(routing->set && skill->set)) {
        PGresult *r = sp_db_exec_id(ctx->db, ctx->arena, &routing_stmt, id, p);
        if (r == NULL || PQntuples(r) == 0)
            return p->rc;   /* no such row: the write answers 404 */
        if (!routing->set)
            now_routing = sp_db_str(r, 0, 0);
        if (!skill->set)
            now_skill = sp_db_str(r, 0, 1);
    }
    if (strcmp(now_routing, "skill") == 0 && now_skill == NULL)
        sp_problem_field(p, "required_skill", "required",
                         "is required when routing is skill: the skill agents need");
    return p->rc;
}

/* Versioned (sql/052): the version is the row's ETag, for If-Match. Not
 * deletable: the admin API has no DELETE for categories (one no longer
 * offered is deactivated: is_active). */
const struct sp_admin_store sp_category_store = {{
    "support_categories",
    "json_build_object('id', x.id, 'slug', x.slug, 'name', x.name, 'description',"
    " x.description, 'is_active', x.is_active, 'routing', x.routing, 'team', x.team,"
    " 'required_skill', x.required_skill, 'default_priority', x.default_priority,"
    " " SP_ADMIN_ROW_STAMPS ")",
    "slug_taken", "another category has this slug", true, SP_CAT_NFIELDS,
    {[SP_CAT_SLUG] = {"slug", "$"}, [SP_CAT_NAME] = {"name", "$"},
     [SP_CAT_DESCRIPTION] = {"description", "$"},
     [SP_CAT_IS_ACTIVE] = {"is_active", "$::boolean"}, [SP_CAT_ROUTING] = {"routing", "$"},
     [SP_CAT_TEAM] = {"team", "$"}, [SP_CAT_SKILL] = {"required_skill", "$"},
     [SP_CAT_DEFAULT_PRIORITY] = {"default_priority", "$"}}},
    .check_row = check_routing};

enum sp_rc
sp_category_unknown(struct sp_problem *p, enum sp_category_scope scope)
{
    sp_problem_field(p, "category", "unknown_category",
                     scope == SP_CATEGORY_ACTIVE ? "is not the slug of an active category"
                                                 : "is not the slug of a category");
    return SP_INVALID;
}

enum sp_rc
sp_category_by_slug(struct sp_ctx *ctx, const char *slug, enum sp_category_scope scope,
                    struct sp_category *out, struct sp_problem *p)
{
    const char *params[1] = {slug};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena,
                             scope == SP_CATEGORY_ACTIVE ? &active_stmt : &any_stmt, params, p);
    if (r == NULL)
        return p->rc;
    if (PQntuples(r) == 0)
        return sp_category_unknown(p, scope);
    out->id = sp_db_int(r, 0, PQfnumber(r, "id"));
    out->slug = sp_db_str(r, 0, PQfnumber(r, "slug"));
    out->is_active = sp_db_bool(r, 0, PQfnumber(r, "is_active"));
    out->routing = sp_db_str(r, 0, PQfnumber(r, "routing"));
    out->team = sp_db_str(r, 0, PQfnumber(r, "team"));
    out->required_skill = sp_db_str(r, 0, PQfnumber(r, "required_skill"));
    out->default_priority = sp_db_str(r, 0, PQfnumber(r, "default_priority"));
    return SP_OK;
}

const char *
sp_category_slug(struct sp_ctx *ctx, long long id, struct sp_problem *p)
{
    if (id == 0)
        return NULL;
    PGresult *r = sp_db_exec_id(ctx->db, ctx->arena, &slug_stmt, id, p);
    return r != NULL && PQntuples(r) == 1 ? sp_db_str(r, 0, 0) : NULL;
}

enum sp_rc
sp_category_list_active(struct sp_ctx *ctx, struct sp_category_entry **items, size_t *n,
                        struct sp_problem *p)
{
    *items = NULL;
    *n = 0;
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &list_active_stmt, NULL, p);
    if (r == NULL)
        return p->rc;
    size_t rows = (size_t)PQntuples(r);
    struct sp_category_entry *out = sp_arena_calloc(ctx->arena, rows + 1, sizeof(*out));
    for (size_t i = 0; i < rows; i++)
        out[i] = (struct sp_category_entry){sp_db_str(r, (int)i, 0), sp_db_str(r, (int)i, 1),
                                            sp_db_str(r, (int)i, 2)};
    *items = out;
    *n = rows;
    return SP_OK;
}
