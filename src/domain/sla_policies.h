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
#include "core/versions.h"
#include "domain/admin_store.h"
#include "domain/ctx.h"

/* The admin's list, by id like every admin list: the defaults, seeded
 * first, come first. Versioned (sql/053): the row's version is its ETag.
 * Read only: it has no columns to create or patch. */
extern const struct sp_admin_store sp_sla_policy_store;

/* A put: the targets of (priority, category slug or NULL for the
 * priority's default). */
struct sp_sla_policy_input {
    const char *priority;
    const char *category;
    long first_response_minutes;
    long resolution_minutes;
};

/* The checks of a put past the fields' shapes: a first response later
 * than the resolution (either 0: not given well-formed, not compared);
 * then, when p holds any field error (these or the caller's), the
 * category's slug is looked up too, so one 422 lists unknown_category
 * with the rest (API.md §1). */
enum sp_rc sp_sla_policy_check(struct sp_ctx *ctx, const struct sp_sla_policy_input *in,
                               struct sp_problem *p);

/* The id of the policy a put of in would update, for the put's If-Match
 * (its ETag names the row): 422 unknown_category for an unknown slug;
 * 412 precondition_failed when there is none yet, as If-Match (even *)
 * needs a current row (RFC 9110 §13.1.1): a new override is created
 * without it. */
enum sp_rc sp_sla_policy_current(struct sp_ctx *ctx, const struct sp_sla_policy_input *in,
                                 long long *id, struct sp_problem *p);

/* The checks, then the write, and the row with its version: id 0
 * upserts the policy of in (a new version when it was there); else
 * (a put with If-Match) it updates row id, the one
 * sp_sla_policy_current found, when it is at a version of if_match (none: any),
 * and anything else (another version, or the row removed since) is 412
 * with nothing written. Errors: 422 unknown_category, a first response
 * later than the resolution 422 (field first_response_minutes). */
enum sp_rc sp_sla_policy_put(struct sp_ctx *ctx, const struct sp_sla_policy_input *in,
                             long long id, struct sp_versions if_match, struct sp_table_row *row,
                             struct sp_problem *p);

/* Removes a category's override (id): the category's tickets take the
 * priority's default from then on (as a PUT, for tickets created or
 * re-prioritized afterwards). A default is 409 default_policy (every
 * priority keeps one); no such row SP_NOT_FOUND; SP_PRECONDITION when
 * if_match (none: any) does not hold its version, and nothing is removed. */
enum sp_rc sp_sla_policy_delete(struct sp_ctx *ctx, long long id, struct sp_versions if_match,
                                struct sp_problem *p);

#endif
