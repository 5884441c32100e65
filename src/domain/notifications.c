/*
 * notifications: the admins' list of notification rows and the retry of
 * one given up. See notifications.h.
 */
#include "domain/notifications.h"

#include <string.h>

#include "core/arena.h"
#include "db/db.h"

/* A row as admins see it (x: the outbox row, t: its ticket). */
#define NOTIFICATION_COLUMNS(C, SEP)                                                          \
    C(NC_ID, "x.id", int, id) SEP C(NC_TICKET, "t.public_id", str, ticket_id)                 \
    SEP C(NC_CHANNEL, "x.channel", str, channel)                                              \
    SEP C(NC_EVENT_TYPE, "x.event_type", str, event_type)                                     \
    SEP C(NC_STATUS, "x.status", str, status)                                                 \
    SEP C(NC_ATTEMPTS, "x.attempts", int, attempts)                                           \
    SEP C(NC_LAST_STATUS, "coalesce(x.last_status_code, 0)", int, last_status_code)           \
    SEP C(NC_LAST_ERROR, "x.last_error", str, last_error)                                     \
    SEP C(NC_CREATED_AT, "support_ts(x.created_at)", str, created_at)                         \
    SEP C(NC_NEXT_AT, "CASE WHEN x.status = 'pending' THEN support_ts(x.next_attempt_at) END", \
          str, next_attempt_at)                                                               \
    SEP C(NC_DELIVERED_AT, "support_ts(x.delivered_at)", str, delivered_at)
#define NOTIFICATION_COLS NOTIFICATION_COLUMNS(SP_COL_SQL, ", ")
enum notification_column { NOTIFICATION_COLUMNS(SP_COL_ENUM, ) NC_COUNT };

SP_ROW_READER(read_notification, struct sp_notification, NOTIFICATION_COLUMNS)

/* $1 status, $2 ticket public id (NULL: any), $3 the id to continue
 * after (0: newest), $4 the LIMIT. Newest first: the primary key read
 * backwards, or the failed / skipped rows' own indexes (sql/018, 069). */
static struct sp_stmt list_stmt = SP_STMT_READ(
    "notifications_list",
    "SELECT " NOTIFICATION_COLS " FROM support_outbox x"
    " LEFT JOIN support_tickets t ON t.id = x.ticket_id"
    " WHERE x.kind = 'notification' AND ($1::text IS NULL OR x.status = $1::text)"
    "  AND ($2::text IS NULL OR x.ticket_id = (SELECT id FROM support_tickets"
    "   WHERE public_id = $2::text))"
    "  AND ($3::bigint = 0 OR x.id < $3::bigint)"
    " ORDER BY x.id DESC LIMIT $4::int",
    4);

/* $1 the row, $2 the admin. Locked first, so of two retries at once the
 * second sees the first's pending row (409). The row as it is now, then
 * its status before (NULL: no such notification). The 24 h window counts
 * from created_at (dispatch.c): it starts again. Dispatchers are woken by
 * the outbox's trigger on a row made pending (sql/069). */
static struct sp_stmt retry_stmt = SP_STMT(
    "notification_retry",
    "WITH o AS ("
    "  SELECT id, status FROM support_outbox WHERE id = $1::bigint AND kind = 'notification'"
    "  FOR UPDATE"
    "), x AS ("
    "  UPDATE support_outbox s SET status = 'pending', attempts = 0, next_attempt_at = now(),"
    "   created_at = now(), delivered_at = NULL, claim_token = NULL, claimed_until = NULL"
    "  FROM o WHERE s.id = o.id AND o.status IN ('failed', 'skipped')"
    "  RETURNING s.*"
    "), e AS ("
    "  INSERT INTO support_ticket_events (ticket_id, event_type, actor_type, performed_by,"
    "   metadata)"
    "  SELECT x.ticket_id, 'notification_retried', 'agent', $2::text,"
    "   jsonb_build_object('outbox_id', x.id)"
    "  FROM x WHERE x.ticket_id IS NOT NULL"
    ")"
    " SELECT " NOTIFICATION_COLS ", o.status FROM o LEFT JOIN x ON true"
    " LEFT JOIN support_tickets t ON t.id = x.ticket_id",
    2);

enum sp_rc
sp_notifications_list(struct sp_ctx *ctx, const char *status, const char *ticket,
                      long long after, int limit, struct sp_notification **items, size_t *n,
                      long long *next, struct sp_problem *p)
{
    const char *params[4] = {status, ticket, sp_arena_sprintf(ctx->arena, "%lld", after),
                             sp_db_page_fetch(ctx->arena, limit)};
    *items = sp_db_page_read(ctx->db, ctx->arena, &list_stmt, params, limit, "id",
                             sizeof(**items), read_notification, n, next, p);
    return *items != NULL ? SP_OK : p->rc;
}

enum sp_rc
sp_notification_retry(struct sp_ctx *ctx, long long id, const char *admin,
                      struct sp_notification *out, struct sp_problem *p)
{
    const char *params[2] = {sp_arena_sprintf(ctx->arena, "%lld", id), admin};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &retry_stmt, params, p);
    if (sp_db_found(r, "notification", p) != SP_OK)
        return p->rc;
    if (PQgetisnull(r, 0, NC_ID))
        return sp_problem_set(p, SP_CONFLICT, "not_retryable",
                              "the notification is %s: only a failed or skipped one is retried",
                              sp_db_str(r, 0, NC_COUNT));
    read_notification(r, 0, out);
    return SP_OK;
}
