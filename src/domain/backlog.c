/*
 * backlog: what waits, counted for operators. See backlog.h.
 */
#include "domain/backlog.h"

#include <string.h>

#include "db/db.h"

/* Each count reads a partial index (support_outbox_pending,
 * support_outbox_failed, support_tickets_live): no scan of sent rows or
 * closed tickets. */
static struct sp_stmt backlog_stmt = SP_STMT_READ(
    "backlog_read",
    "SELECT o.pending, o.oldest_age_s, f.failed, t.breached FROM"
    " (SELECT count(*) AS pending,"
    "    coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_s"
    "  FROM support_outbox WHERE status = 'pending') o,"
    " (SELECT count(*) AS failed FROM support_outbox WHERE status = 'failed') f,"
    " (SELECT count(*) AS breached FROM support_tickets"
    "  WHERE status <> 'closed' AND sla_breached) t",
    0);

enum sp_rc
sp_backlog_read(struct sp_ctx *ctx, struct sp_backlog *out, struct sp_problem *p)
{
    memset(out, 0, sizeof(*out));
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &backlog_stmt, NULL, p);
    if (r == NULL)
        return p->rc;
    out->outbox_pending = sp_db_int(r, 0, PQfnumber(r, "pending"));
    out->outbox_oldest_pending_age_s = sp_db_double(r, 0, PQfnumber(r, "oldest_age_s"));
    out->outbox_failed = sp_db_int(r, 0, PQfnumber(r, "failed"));
    out->tickets_sla_breached_open = sp_db_int(r, 0, PQfnumber(r, "breached"));
    return SP_OK;
}
