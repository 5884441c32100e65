/*
 * rule_store: support_priority_rules writes. See rule_store.h.
 */
#include "domain/rule_store.h"

#include <stddef.h>

#include "core/arena.h"
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
     [SP_RULE_PRIORITY] = {"priority", "$"}}}, check, true, NULL, NULL};
