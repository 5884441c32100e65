/*
 * backlog: what waits, counted for operators. See backlog.h.
 */
#include "domain/backlog.h"

#include <string.h>

#include "db/db.h"
#include "domain/tickets.h"

/* The counts, read into struct sp_backlog by name. */
#define BACKLOG_COLUMNS(C, SEP)                                                              \
    C(BL_PENDING, "o.pending", int, outbox_pending)                                          \
    SEP C(BL_OLDEST_AGE, "o.oldest_age_s", double, outbox_oldest_pending_age_s)              \
    SEP C(BL_FAILED, "f.failed", int, outbox_failed)                                         \
    SEP C(BL_WH_PENDING, "w.pending", int, webhook_pending)                                  \
    SEP C(BL_WH_OLDEST_AGE, "w.oldest_age_s", double, webhook_oldest_pending_age_s)          \
    SEP C(BL_WH_FAILED, "wf.failed", int, webhook_failed_24h)                                \
    SEP C(BL_BREACHED, SP_TICKETS_SLA_BREACHED_OPEN_COUNT, int, tickets_sla_breached_open)
enum backlog_column { BACKLOG_COLUMNS(SP_COL_ENUM, ) BL_COUNT };

/* Each count reads a partial index (support_outbox_due,
 * support_outbox_failed, support_webhook_deliveries_due (those of active
 * webhooks: a paused one's wait by choice), and the range of
 * the last 24 hours of support_webhook_deliveries_failed: that log is never
 * pruned) or, for the breached tickets, the dashboard's counters and index
 * range: no scan of sent or delivered rows or of the tickets. */
static struct sp_stmt backlog_stmt = SP_STMT_READ(
    "backlog_read",
    "SELECT " BACKLOG_COLUMNS(SP_COL_SQL, ", ") " FROM"
    " (SELECT count(*) AS pending,"
    "    coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_s"
    "  FROM support_outbox WHERE status = 'pending') o,"
    " (SELECT count(*) AS failed FROM support_outbox WHERE status = 'failed') f,"
    " (SELECT count(*) AS pending,"
    "    coalesce(extract(epoch FROM now() - min(d.created_at)), 0)::float8 AS oldest_age_s"
    "  FROM support_webhook_deliveries d JOIN support_webhooks h ON h.id = d.webhook_id"
    "  WHERE d.status = 'pending' AND h.is_active) w,"
    " (SELECT count(*) AS failed FROM support_webhook_deliveries"
    "  WHERE status = 'failed' AND next_attempt_at > now() - interval '24 hours') wf",
    0);

SP_ROW_READER(read_backlog, struct sp_backlog, BACKLOG_COLUMNS)

enum sp_rc
sp_backlog_read(struct sp_ctx *ctx, struct sp_backlog *out, struct sp_problem *p)
{
    memset(out, 0, sizeof(*out));
    return sp_db_one(ctx->db, ctx->arena, &backlog_stmt, NULL, "backlog", read_backlog, out, p);
}
