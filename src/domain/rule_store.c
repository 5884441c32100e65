/*
 * rule_store: support_priority_rules writes. See rule_store.h.
 */
#include "domain/rule_store.h"

#include <stddef.h>
#include <string.h>

#include "core/arena.h"
#include "db/db.h"
#include "domain/categories.h"
#include "domain/rules.h"

/* Bad patterns are refused here, never at ticket time (API.md §5.3); a
 * category must exist (active or not). Both are reported at once. */
static enum sp_rc
check(struct sp_ctx *ctx, const struct sp_table_value *values, struct sp_problem *p)
{
    const char *pattern = values[SP_RULE_PATTERN].set ? values[SP_RULE_PATTERN].value : NULL;
    char err[256];
    if (pattern != NULL && !sp_rules_pattern_valid(pattern, err, sizeof(err)))
        sp_problem_field(p, "pattern", "invalid_pattern", sp_arena_strdup(ctx->arena, err));
    const char *slug = values[SP_RULE_CATEGORY].set ? values[SP_RULE_CATEGORY].value : NULL;
    struct sp_category cat;
    if (slug != NULL)
        sp_category_by_slug(ctx, slug, SP_CATEGORY_ANY, &cat, p);
    return p->rc;
}

/* What the row holds now: whether it is active, then whether each
 * condition is set, in the order of conditions[] below. */
static struct sp_stmt conditions_stmt = SP_STMT_READ(
    "rule_conditions",
    "SELECT is_active, category_id IS NOT NULL, customer_tier IS NOT NULL, pattern IS NOT NULL,"
    " sentiment_below IS NOT NULL FROM support_priority_rules WHERE id = $1::bigint",
    1);

static const struct {
    int value;          /* index in the values */
    const char *field;  /* as the API names it */
} conditions[] = {{SP_RULE_CATEGORY, "category"}, {SP_RULE_TIER, "customer_tier"},
                  {SP_RULE_PATTERN, "pattern"}, {SP_RULE_SENTIMENT_BELOW, "sentiment_below"}};
#define NCONDITIONS (sizeof(conditions) / sizeof(conditions[0]))

/* An active rule names at least one condition (QA: a rule without any,
 * made by mistake or by PATCHing the last one to null, matched every
 * ticket and overrode every category's default_priority; Zendesk refuses
 * a trigger without conditions). Checked on what the row will hold, as a
 * category's skill routing is (categories.c); sql/068 holds it too. Each
 * condition field gets the error: any one of them satisfies it. */
static enum sp_rc
check_conditions(struct sp_ctx *ctx, long long id, const struct sp_table_value *values,
                 struct sp_problem *p)
{
    const struct sp_table_value *active = &values[SP_RULE_IS_ACTIVE];
    if (active->set && active->value == NULL)
        return p->rc;   /* refused: its own error says why */
    bool now_active = !active->set || strcmp(active->value, "false") != 0, any = false;
    PGresult *r = NULL;
    if (id != 0) {
        if ((r = sp_db_exec_id(ctx->db, ctx->arena, &conditions_stmt, id, p)) == NULL ||
            PQntuples(r) == 0)
            return p->rc;   /* no such row: the write answers 404 */
        if (!active->set)
            now_active = sp_db_bool(r, 0, 0);
    }
    for (size_t i = 0; i < NCONDITIONS; i++) {
        const struct sp_table_value *v = &values[conditions[i].value];
        /* a value refused is set with NULL: it is not a null given */
        if (v->set ? v->value != NULL || sp_problem_refuses(p, conditions[i].field)
                   : r != NULL && sp_db_bool(r, 0, (int)i + 1))
            any = true;
    }
    if (now_active && !any)
        for (size_t i = 0; i < NCONDITIONS; i++)
            sp_problem_field(p, conditions[i].field, "required",
                             "an active rule needs at least one condition: category,"
                             " customer_tier, pattern or sentiment_below");
    return p->rc;
}

/* versioned: every update that changes the row bumps the version the
 * workers' caches key on (one that changes nothing leaves them valid). */
const struct sp_admin_store sp_rule_store = {{
    "support_priority_rules",
    "json_build_object('id', x.id, 'position', x.position, 'name', x.name, 'is_active',"
    " x.is_active, 'category', " SP_CATEGORY_SLUG_OF("x.category_id") ","
    " 'customer_tier', x.customer_tier, 'pattern', x.pattern,"
    " 'sentiment_below', x.sentiment_below, 'priority', x.priority, " SP_ADMIN_ROW_STAMPS ")",
    "conflict", "conflict", true, SP_RULE_NFIELDS,
    {[SP_RULE_POSITION] = {"position", "$::int"}, [SP_RULE_NAME] = {"name", "$"},
     [SP_RULE_IS_ACTIVE] = {"is_active", "$::boolean"},
     [SP_RULE_CATEGORY] = {"category_id", SP_CATEGORY_ID_OF("$")},
     [SP_RULE_TIER] = {"customer_tier", "$"}, [SP_RULE_PATTERN] = {"pattern", "$"},
     [SP_RULE_SENTIMENT_BELOW] = {"sentiment_below", "$::real"},
     [SP_RULE_PRIORITY] = {"priority", "$"}}},
    .check = check, .deletable = true, .check_row = check_conditions};
