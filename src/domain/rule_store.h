/*
 * rule_store: the priority rules as rows (support_priority_rules) — the
 * admin's list, create, update and delete of API.md §6. It lives beside
 * domain/rules.c, the engine, which must stay free of SQL (like sla.c
 * beside sla_policies.c). A rule is saved only when its pattern passes
 * sp_rules_pattern_valid and its category slug names a category, so a bad
 * pattern never reaches ticket time (§5.3). Every update bumps the rule's
 * version: the workers' pattern caches recompile on it.
 * Must not: know HTTP; match rules (rules.c); load the active rules for a
 * new ticket (the intake reads them in its own statement, tickets.c).
 */
#ifndef SP_RULE_STORE_H
#define SP_RULE_STORE_H

#include "core/problem.h"
#include "db/table.h"
#include "domain/ctx.h"

/* The columns, in the order the values arrays are indexed. The category
 * is given by slug. */
enum { SP_RULE_POSITION, SP_RULE_NAME, SP_RULE_IS_ACTIVE, SP_RULE_CATEGORY, SP_RULE_TIER,
       SP_RULE_PATTERN, SP_RULE_SENTIMENT_BELOW, SP_RULE_PRIORITY, SP_RULE_NFIELDS };

/* By id, after `after`; rows as JSON (API.md §6). */
enum sp_rc sp_rule_list(struct sp_ctx *ctx, long long after, int limit,
                        struct sp_table_rows *out, struct sp_problem *p);
/* 422 invalid_pattern (PCRE2's message) or unknown_category first. */
enum sp_rc sp_rule_create(struct sp_ctx *ctx, const struct sp_table_value *values,
                          const char **row_json, struct sp_problem *p);
/* The set values only, as create checks them; SP_NOT_FOUND when there is
 * no rule id. */
enum sp_rc sp_rule_patch(struct sp_ctx *ctx, long long id, const struct sp_table_value *values,
                         const char **row_json, struct sp_problem *p);
/* SP_NOT_FOUND when there is no rule id. */
enum sp_rc sp_rule_delete(struct sp_ctx *ctx, long long id, struct sp_problem *p);

#endif
