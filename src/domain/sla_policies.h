/*
 * sla_policies: the SLA policy rows (support_sla_policies) — the admin's
 * list, upsert and override removal of API.md §6: one default per priority, and one
 * override per (priority, category). The SQL half of the SLA concept:
 * domain/sla.c, beside it, is the pure arithmetic and must stay free of
 * SQL. New targets apply to tickets created or re-prioritized afterwards
 * (ticket_state reads the policies when it sets a ticket's dues).
 * Must not: know HTTP; compute due dates (sla.c does).
 */
#ifndef SP_SLA_POLICIES_H
#define SP_SLA_POLICIES_H

#include "core/problem.h"
#include "domain/admin_store.h"
#include "domain/ctx.h"

/* The admin's list, by id like every admin list: the defaults, seeded
 * first, come first. Read only: it has no columns to create or patch. */
extern const struct sp_admin_store sp_sla_policy_store;
/* Upserts the policy of (priority, category_slug or NULL for the default)
 * and returns the row; an unknown slug is 422 unknown_category, a first
 * response later than the resolution 422 (field first_response_minutes). */
enum sp_rc sp_sla_policy_put(struct sp_ctx *ctx, const char *priority, const char *category_slug,
                             long first_response_minutes, long resolution_minutes,
                             const char **row_json, struct sp_problem *p);

/* The checks of a put past the fields' shapes: a first response later
 * than the resolution (either 0: not given well-formed, not compared);
 * then, when p holds any field error (these or the caller's), the
 * category's slug is looked up too, so one 422 lists unknown_category
 * with the rest (API.md §1). */
enum sp_rc sp_sla_policy_check(struct sp_ctx *ctx, const char *category_slug,
                               long first_response_minutes, long resolution_minutes,
                               struct sp_problem *p);

/* Removes a category's override (id): the category's tickets take the
 * priority's default from then on (as a PUT, for tickets created or
 * re-prioritized afterwards). A default is 409 default_policy (every
 * priority keeps one); no such row SP_NOT_FOUND. */
enum sp_rc sp_sla_policy_delete(struct sp_ctx *ctx, long long id, struct sp_problem *p);

#endif
