/*
 * admin_store: the admin's list and writes of a described table. See
 * admin_store.h.
 */
#include "domain/admin_store.h"

#include "db/db.h"

enum sp_rc
sp_admin_store_list(struct sp_ctx *ctx, const struct sp_admin_store *s, long long after,
                    int limit, struct sp_table_rows *out, struct sp_problem *p)
{
    return sp_table_list(ctx->db, ctx->arena, &s->table, after, limit, out, p);
}

enum sp_rc
sp_admin_store_get(struct sp_ctx *ctx, const struct sp_admin_store *s, long long id,
                   struct sp_table_row *row, struct sp_problem *p)
{
    return sp_table_get(ctx->db, ctx->arena, &s->table, id, row, p);
}

/* Both rules, every error of both: p->rc is SP_INVALID after either. */
enum sp_rc
sp_admin_store_check(struct sp_ctx *ctx, const struct sp_admin_store *s, long long id,
                     const struct sp_table_value *values, struct sp_problem *p)
{
    if (s->check != NULL && s->check(ctx, values, p) != SP_OK && p->rc != SP_INVALID)
        return p->rc;
    if (s->check_row != NULL)
        s->check_row(ctx, id, values, p);
    return p->rc;
}

/* The module's after_write on the row just written, which is then read
 * again (after_write may have changed it), in the caller's transaction. */
static enum sp_rc
after_write(struct sp_ctx *ctx, const struct sp_admin_store *s, struct sp_table_row *row,
            struct sp_problem *p)
{
    if (s->after_write == NULL)
        return SP_OK;
    if (s->after_write(ctx, row->id, p) != SP_OK)
        return p->rc;
    return sp_table_get(ctx->db, ctx->arena, &s->table, row->id, row, p);
}

/* The module's before_update, the update and its after_write in one
 * transaction (begun here when there is one). */
static enum sp_rc
update(struct sp_ctx *ctx, const struct sp_admin_store *s, long long id,
       const struct sp_table_value *values, struct sp_versions if_match, struct sp_table_row *row,
       struct sp_problem *p)
{
    if (s->after_write == NULL && s->before_update == NULL)
        return sp_table_update(ctx->db, ctx->arena, &s->table, id, values, if_match, row, p);
    if (sp_db_begin(ctx->db, ctx->arena, p) != SP_OK)
        return p->rc;
    if ((s->before_update != NULL && s->before_update(ctx, id, values, p) != SP_OK) ||
        sp_table_update(ctx->db, ctx->arena, &s->table, id, values, if_match, row, p) != SP_OK ||
        after_write(ctx, s, row, p) != SP_OK || sp_db_commit(ctx->db, ctx->arena, p) != SP_OK) {
        sp_db_rollback(ctx->db, ctx->arena);
        return p->rc;
    }
    return SP_OK;
}

enum sp_rc
sp_admin_store_create(struct sp_ctx *ctx, const struct sp_admin_store *s,
                      const struct sp_table_value *values, struct sp_table_row *row,
                      struct sp_problem *p)
{
    if (sp_admin_store_check(ctx, s, 0, values, p) != SP_OK ||
        sp_table_insert(ctx->db, ctx->arena, &s->table, values, row, p) != SP_OK)
        return p->rc;
    return after_write(ctx, s, row, p);
}

enum sp_rc
sp_admin_store_patch(struct sp_ctx *ctx, const struct sp_admin_store *s, long long id,
                     const struct sp_table_value *values, struct sp_versions if_match,
                     struct sp_table_row *row, struct sp_problem *p)
{
    if (sp_admin_store_check(ctx, s, id, values, p) != SP_OK)
        return p->rc;
    if (update(ctx, s, id, values, if_match, row, p) == SP_INVALID &&
        s->check_row != NULL)
        /* The table refused the row (sql/042): a write committed since the
         * check made the values break the rule; the rule, run again on
         * the row as it is now, names the field. No transaction is open
         * here (update rolled back its own), so the read can run after the
         * failed write. */
        s->check_row(ctx, id, values, p);
    return p->rc;
}

enum sp_rc
sp_admin_store_delete(struct sp_ctx *ctx, const struct sp_admin_store *s, long long id,
                      struct sp_versions if_match, struct sp_problem *p)
{
    if (!s->deletable)
        return sp_problem_set(p, SP_ERROR, "internal", "%s rows are not deleted",
                              s->table.name);
    return sp_table_delete(ctx->db, ctx->arena, &s->table, id, if_match, p);
}
