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
#include "domain/admin_store.h"
#include "domain/ctx.h"

/* The columns, in the order the values arrays are indexed. The category
 * is given by slug. */
enum { SP_RULE_POSITION, SP_RULE_NAME, SP_RULE_IS_ACTIVE, SP_RULE_CATEGORY, SP_RULE_TIER,
       SP_RULE_PATTERN, SP_RULE_SENTIMENT_BELOW, SP_RULE_PRIORITY, SP_RULE_NFIELDS };

/* The admin's list, create, update and delete (API.md §6). A create or
 * update is refused first with 422 invalid_pattern (PCRE2's message) or
 * unknown_category. */
extern const struct sp_admin_store sp_rule_store;

#endif
