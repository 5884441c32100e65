/*
 * admin_store: the rows an admin lists and edits through API.md §6 —
 * categories, priority rules, agents, SLA policies. Each of those
 * modules describes its table once and exports one const struct
 * sp_admin_store (sp_category_store, sp_rule_store, sp_agent_store,
 * sp_sla_policy_store) with its own rule on what may be written; the
 * list, create, patch and delete here are the same for all of them:
 * db/table's statements, after that rule.
 * Must not: know HTTP; validate the shape of input (the API does, from
 * its field tables); hold a resource's rules (its module does).
 */
#ifndef SP_ADMIN_STORE_H
#define SP_ADMIN_STORE_H

#include <stdbool.h>

#include "core/problem.h"
#include "core/versions.h"
#include "db/table.h"
#include "domain/ctx.h"

/* The members a versioned admin row's JSON (struct sp_table's json, the
 * row aliased x) ends with: its version, the ETag's, and its stamps —
 * the same in every such row (API.md §6). The SLA policies have no
 * created_at: theirs are written out. */
#define SP_ADMIN_ROW_STAMPS                                                                  \
    "'version', x.version, 'created_at', support_ts(x.created_at),"                          \
    " 'updated_at', support_ts(x.updated_at)"

struct sp_admin_store {
    struct sp_table table;
    /* The module's rule on the values of a create or a patch, run before
     * the write (e.g. a rule's pattern must compile); NULL: none. */
    enum sp_rc (*check)(struct sp_ctx *ctx, const struct sp_table_value *values,
                        struct sp_problem *p);
    /* false: the admin API deletes none of these rows (routes.c has no
     * DELETE for them), and sp_admin_store_delete refuses. */
    bool deletable;
    /* The module's rule across columns, on what row id will hold after
     * the write: the values set over its current ones (id 0: a create,
     * over the columns' defaults), e.g. a category routed by skill needs
     * its required_skill; NULL: none. No row id: nothing to say (the
     * write answers 404). */
    enum sp_rc (*check_row)(struct sp_ctx *ctx, long long id,
                            const struct sp_table_value *values, struct sp_problem *p);
    /* What the module does once row id is written (created or patched),
     * in the write's transaction (e.g. an agent freed takes waiting
     * chats); NULL: nothing, and a patch needs no transaction. */
    enum sp_rc (*after_write)(struct sp_ctx *ctx, long long id, struct sp_problem *p);
    /* What the module takes before a patch writes row id with values, in
     * the write's transaction (e.g. the locks that every other writer of
     * the row takes before it); NULL: nothing. */
    enum sp_rc (*before_update)(struct sp_ctx *ctx, long long id,
                                const struct sp_table_value *values, struct sp_problem *p);
};

/* By id, after `after`; rows as JSON (API.md §6). */
enum sp_rc sp_admin_store_list(struct sp_ctx *ctx, const struct sp_admin_store *s,
                               long long after, int limit, struct sp_table_rows *out,
                               struct sp_problem *p);
/* Row id as the list shows it (its JSON), with its version (the ETag's;
 * 0 for a table without one); SP_NOT_FOUND when there is none. */
enum sp_rc sp_admin_store_get(struct sp_ctx *ctx, const struct sp_admin_store *s, long long id,
                              struct sp_table_row *row, struct sp_problem *p);
/* The module's rules alone (for row id, 0 on a create), adding their
 * field errors to p: how the API reports them with the body's other
 * errors when it refuses the body anyway (API.md §1, every field error
 * at once). Values whose field was refused are set with a NULL value and
 * have their error in p; the rules skip them. */
enum sp_rc sp_admin_store_check(struct sp_ctx *ctx, const struct sp_admin_store *s, long long id,
                                const struct sp_table_value *values, struct sp_problem *p);
/* The checks, then the insert; a unique violation is 409 with the table's
 * own code. The new row. Runs in the caller's transaction: the create
 * protocol's (sp_idem_run), which keeps the create's Idempotency-Key with
 * the row. */
enum sp_rc sp_admin_store_create(struct sp_ctx *ctx, const struct sp_admin_store *s,
                                 const struct sp_table_value *values, struct sp_table_row *row,
                                 struct sp_problem *p);
/* The checks, then the set values only; SP_NOT_FOUND when there is no row
 * id, SP_PRECONDITION when if_match (none: any) does not hold its version: another
 * admin saved it since (two admins never silently overwrite each other). */
enum sp_rc sp_admin_store_patch(struct sp_ctx *ctx, const struct sp_admin_store *s, long long id,
                                const struct sp_table_value *values, struct sp_versions if_match,
                                struct sp_table_row *row, struct sp_problem *p);
/* SP_NOT_FOUND when there is no row id, SP_PRECONDITION as a patch; an
 * internal error when the store is not deletable (no route reaches that). */
enum sp_rc sp_admin_store_delete(struct sp_ctx *ctx, const struct sp_admin_store *s, long long id,
                                 struct sp_versions if_match, struct sp_problem *p);

#endif
