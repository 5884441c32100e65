/*
 * mail_suppressions: the admins' list of suppressed addresses and the
 * lift of one. See mail_suppressions.h.
 */
#include "domain/mail_suppressions.h"

#include "core/arena.h"
#include "db/db.h"

/* A suppression as admins see it (s: the row, o: the outbox row that
 * bounced, t: its ticket). The customers by support_contacts'
 * email_index (the lookup index every mail-in uses), never the index. */
#define SUPPRESSION_COLUMNS(C, SEP)                                                        \
    C(SC_ID, "s.id", int, id)                                                              \
    SEP C(SC_CUSTOMERS,                                                                    \
          "(SELECT coalesce(json_agg(ct.customer_id ORDER BY ct.customer_id), '[]')::text" \
          " FROM support_contacts ct WHERE ct.email_index = s.email_index)",               \
          str, customer_ids_json)                                                          \
    SEP C(SC_OUTBOX, "s.outbox_id", int, outbox_id)                                        \
    SEP C(SC_TICKET, "t.public_id", str, ticket_id)                                        \
    SEP C(SC_DSN_STATUS, "s.dsn_status", str, dsn_status)                                  \
    SEP C(SC_CREATED_AT, "support_ts(s.created_at)", str, created_at)
#define SUPPRESSION_COLS SUPPRESSION_COLUMNS(SP_COL_SQL, ", ")
enum suppression_column { SUPPRESSION_COLUMNS(SP_COL_ENUM, ) SC_COUNT };

SP_ROW_READER(read_suppression, struct sp_mail_suppression, SUPPRESSION_COLUMNS)

/* $1 the id to continue after (0: newest), $2 the LIMIT. Newest first:
 * the id's unique index (sql/082) read backwards. */
static struct sp_stmt list_stmt = SP_STMT_READ(
    "mail_suppressions_list",
    "SELECT " SUPPRESSION_COLS " FROM support_mail_suppressions s"
    " LEFT JOIN support_outbox o ON o.id = s.outbox_id"
    " LEFT JOIN support_tickets t ON t.id = o.ticket_id"
    " WHERE ($1::bigint = 0 OR s.id < $1::bigint)"
    " ORDER BY s.id DESC LIMIT $2::int",
    2);

static struct sp_stmt lift_stmt = SP_STMT(
    "mail_suppression_lift",
    "DELETE FROM support_mail_suppressions WHERE id = $1::bigint RETURNING id", 1);

enum sp_rc
sp_mail_suppressions_list(struct sp_ctx *ctx, long long after, int limit,
                          struct sp_mail_suppression **items, size_t *n, long long *next,
                          struct sp_problem *p)
{
    const char *params[2] = {sp_arena_sprintf(ctx->arena, "%lld", after),
                             sp_db_page_fetch(ctx->arena, limit)};
    *items = sp_db_page_read(ctx->db, ctx->arena, &list_stmt, params, limit, "id",
                             sizeof(**items), read_suppression, n, next, p);
    return *items != NULL ? SP_OK : p->rc;
}

enum sp_rc
sp_mail_suppression_lift(struct sp_ctx *ctx, long long id, struct sp_versions if_match,
                         struct sp_problem *p)
{
    if (if_match.n > 0)
        return sp_problem_set(p, SP_PRECONDITION, "precondition_failed",
                              "a mail suppression has no ETag: send no If-Match, or *");
    const char *params[1] = {sp_arena_sprintf(ctx->arena, "%lld", id)};
    return sp_db_found(sp_db_exec(ctx->db, ctx->arena, &lift_stmt, params, p),
                       "mail suppression", p);
}
