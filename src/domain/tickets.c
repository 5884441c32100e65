/*
 * tickets: customer-side ticket operations and their SQL. See tickets.h.
 */
#include "domain/tickets.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/ids.h"
#include "db/db.h"

const char *const sp_source_names[SP_SOURCE_MAX + 1] = {"web", "email", "chat", NULL};

/* Columns of the customer view, shared by every read below (order matters:
 * see read_ticket()). */
#define TICKET_COLS                                                                 \
    "t.id, t.public_id, t.customer_id, t.subject, t.description, t.status,"         \
    " t.priority, t.source, c.slug, t.provider_id, t.booking_id, t.metadata,"       \
    " support_ts(t.created_at), support_ts(t.updated_at), support_ts(t.closed_at)," \
    " support_ts(t.last_message_at), t.version, t.message_count,"                   \
    " t.assigned_agent_id"
#define TICKET_NCOLS 19

#define MESSAGE_COLS                                                                \
    "m.id, m.sender_type, m.sender_id, m.body, m.attachments, m.is_internal,"       \
    " support_ts(m.created_at)"

static struct sp_stmt create_stmt = SP_STMT(
    "ticket_create",
    "WITH cat AS ("
    "  SELECT id, slug FROM support_categories WHERE slug = $3 AND is_active"
    "), t AS ("
    "  INSERT INTO support_tickets (public_id, customer_id, category_id, source, subject,"
    "    description, provider_id, booking_id, metadata, message_count, last_message_at)"
    "  SELECT $1, $2, (SELECT id FROM cat), $4, $5, $6, $7::bigint, $8,"
    "    coalesce($9::jsonb, '{}'), 1, now()"
    "  WHERE $3::text IS NULL OR EXISTS (SELECT 1 FROM cat)"
    "  RETURNING *"
    "), m AS ("
    "  INSERT INTO support_ticket_messages (ticket_id, sender_type, sender_id, body)"
    "  SELECT id, 'customer', customer_id, description FROM t"
    "  RETURNING id, ticket_id, sender_type, sender_id, body, attachments, is_internal,"
    "    created_at"
    "), e AS ("
    "  INSERT INTO support_ticket_events (ticket_id, event_type, actor_type, performed_by,"
    "    metadata)"
    "  SELECT id, 'created', 'customer', customer_id,"
    "    jsonb_build_object('to', status, 'source', source) FROM t"
    ")"
    " SELECT " TICKET_COLS ", " MESSAGE_COLS
    " FROM t LEFT JOIN cat c ON c.id = t.category_id, m",
    9);

static struct sp_stmt get_stmt = SP_STMT(
    "ticket_get_customer",
    "SELECT " TICKET_COLS ", " MESSAGE_COLS
    " FROM support_tickets t"
    " LEFT JOIN support_categories c ON c.id = t.category_id"
    " LEFT JOIN LATERAL ("
    "   SELECT * FROM support_ticket_messages m"
    "   WHERE m.ticket_id = t.id AND NOT m.is_internal AND m.id > $3::bigint"
    "   ORDER BY m.id LIMIT $4::int"
    " ) m ON true"
    " WHERE t.public_id = $1 AND t.customer_id = $2"
    " ORDER BY m.id",
    4);

static struct sp_stmt list_stmt = SP_STMT(
    "ticket_list_customer",
    "SELECT " TICKET_COLS
    " FROM support_tickets t"
    " LEFT JOIN support_categories c ON c.id = t.category_id"
    " WHERE t.customer_id = $1"
    "   AND ($2::text[] IS NULL OR t.status = ANY ($2::text[]))"
    "   AND t.id < $3::bigint"
    " ORDER BY t.id DESC LIMIT $4::int",
    4);

static struct sp_stmt lock_stmt = SP_STMT(
    "ticket_lock_customer",
    "SELECT id, status, assigned_agent_id IS NOT NULL FROM support_tickets"
    " WHERE public_id = $1 AND customer_id = $2 FOR UPDATE",
    2);

static struct sp_stmt reply_stmt = SP_STMT(
    "ticket_customer_reply",
    "WITH m AS ("
    "  INSERT INTO support_ticket_messages (ticket_id, sender_type, sender_id, body)"
    "  VALUES ($1::bigint, 'customer', $2, $3)"
    "  RETURNING id, sender_type, sender_id, body, attachments, is_internal, created_at"
    "), u AS ("
    "  UPDATE support_tickets SET message_count = message_count + 1,"
    "    last_message_at = (SELECT created_at FROM m),"
    "    status = coalesce($4, status),"
    "    version = version + CASE WHEN $4 IS NULL THEN 0 ELSE 1 END,"
    "    updated_at = now()"
    "  WHERE id = $1::bigint"
    "), e AS ("
    "  INSERT INTO support_ticket_events (ticket_id, event_type, actor_type, performed_by,"
    "    metadata)"
    "  SELECT $1::bigint, $5, 'customer', $2, jsonb_build_object('from', $6::text, 'to', $4::text)"
    "  WHERE $4::text IS NOT NULL"
    ")"
    " SELECT " MESSAGE_COLS " FROM m",
    6);

static void
read_ticket(const PGresult *r, int row, struct sp_ticket *t)
{
    memset(t, 0, sizeof(*t));
    t->id = sp_db_int(r, row, 0);
    t->public_id = sp_db_str(r, row, 1);
    t->customer_id = sp_db_str(r, row, 2);
    t->subject = sp_db_str(r, row, 3);
    t->description = sp_db_str(r, row, 4);
    t->status = sp_db_str(r, row, 5);
    t->priority = sp_db_str(r, row, 6);
    t->source = sp_db_str(r, row, 7);
    t->category = sp_db_str(r, row, 8);
    t->provider_id = sp_db_str(r, row, 9);
    t->booking_id = sp_db_str(r, row, 10);
    t->metadata_json = sp_db_str(r, row, 11);
    t->created_at = sp_db_str(r, row, 12);
    t->updated_at = sp_db_str(r, row, 13);
    t->closed_at = sp_db_str(r, row, 14);
    t->last_message_at = sp_db_str(r, row, 15);
    t->version = sp_db_int(r, row, 16);
    t->message_count = sp_db_int(r, row, 17);
    t->assigned_agent_id = sp_db_int(r, row, 18);
}

static void
read_message(const PGresult *r, int row, int col, struct sp_message *m)
{
    m->id = sp_db_int(r, row, col);
    m->sender_type = sp_db_str(r, row, col + 1);
    m->sender_id = sp_db_str(r, row, col + 2);
    m->body = sp_db_str(r, row, col + 3);
    m->attachments_json = sp_db_str(r, row, col + 4);
    m->is_internal = sp_db_bool(r, row, col + 5);
    m->created_at = sp_db_str(r, row, col + 6);
}

enum sp_rc
sp_ticket_create(struct sp_ctx *ctx, const struct sp_ticket_new *in, struct sp_ticket *out,
                 struct sp_problem *p)
{
    /* A public id collision is astronomically rare (60 bits) but handled. */
    for (int attempt = 0; attempt < 3; attempt++) {
        char public_id[SP_PUBLIC_ID_LEN + 1];
        sp_public_id(public_id);
        const char *params[9] = {
            public_id, in->customer_id, in->category_slug, sp_source_names[in->source],
            in->subject, in->description, in->provider_id, in->booking_id, in->metadata_json,
        };
        struct sp_problem attempt_p;
        sp_problem_init(&attempt_p);
        PGresult *r = sp_db_exec(ctx->db, ctx->arena, &create_stmt, params, &attempt_p);
        if (r == NULL) {
            if (attempt_p.rc == SP_CONFLICT && strstr(attempt_p.detail, "public_id") != NULL)
                continue;
            *p = attempt_p;
            return p->rc;
        }
        if (PQntuples(r) == 0) {
            sp_problem_field(p, "category", "unknown_category",
                             "is not the slug of an active category");
            return SP_INVALID;
        }
        read_ticket(r, 0, out);
        out->messages = sp_arena_calloc(ctx->arena, 1, sizeof(*out->messages));
        read_message(r, 0, TICKET_NCOLS, &out->messages[0]);
        out->nmessages = 1;
        return SP_OK;
    }
    return sp_problem_set(p, SP_ERROR, "internal", "could not allocate a public id");
}

enum sp_rc
sp_ticket_get_for_customer(struct sp_ctx *ctx, const char *public_id, const char *customer_id,
                           long long after_message_id, int limit, struct sp_ticket *out,
                           struct sp_problem *p)
{
    char after[24], lim[16];
    snprintf(after, sizeof(after), "%lld", after_message_id);
    snprintf(lim, sizeof(lim), "%d", limit + 1);  /* one extra row tells "more" */
    const char *params[4] = {public_id, customer_id, after, lim};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &get_stmt, params, p);
    if (r == NULL)
        return p->rc;
    int n = PQntuples(r);
    if (n == 0)
        return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such ticket");
    read_ticket(r, 0, out);
    out->messages = sp_arena_calloc(ctx->arena, (size_t)n, sizeof(*out->messages));
    for (int i = 0; i < n && i < limit; i++) {
        if (PQgetisnull(r, i, TICKET_NCOLS))
            break;  /* the LEFT JOIN row of a ticket without (more) messages */
        read_message(r, i, TICKET_NCOLS, &out->messages[out->nmessages++]);
    }
    if (n > limit && out->nmessages > 0)
        out->messages_next_after = out->messages[out->nmessages - 1].id;
    return SP_OK;
}

enum sp_rc
sp_ticket_list_for_customer(struct sp_ctx *ctx, const char *customer_id,
                            const bool statuses[SP_STATUS_MAX], long long before_id, int limit,
                            struct sp_ticket_page *out, struct sp_problem *p)
{
    char before[24], lim[16], status_array[128];
    snprintf(before, sizeof(before), "%lld", before_id > 0 ? before_id : (long long)INT64_MAX);
    snprintf(lim, sizeof(lim), "%d", limit + 1);
    const char *status_param = NULL;
    if (statuses != NULL) {
        size_t o = 0;
        status_array[o++] = '{';
        for (int i = 0; i < SP_STATUS_MAX; i++) {
            if (!statuses[i])
                continue;
            o += (size_t)snprintf(status_array + o, sizeof(status_array) - o, "%s%s",
                                  o > 1 ? "," : "", sp_status_name((enum sp_status)i));
        }
        snprintf(status_array + o, sizeof(status_array) - o, "}");
        status_param = status_array;
    }
    const char *params[4] = {customer_id, status_param, before, lim};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &list_stmt, params, p);
    if (r == NULL)
        return p->rc;
    int n = PQntuples(r);
    out->items = sp_arena_calloc(ctx->arena, (size_t)n + 1, sizeof(*out->items));
    out->n = 0;
    for (int i = 0; i < n && i < limit; i++)
        read_ticket(r, i, &out->items[out->n++]);
    out->next_before = n > limit ? out->items[out->n - 1].id : 0;
    return SP_OK;
}

enum sp_rc
sp_ticket_customer_reply(struct sp_ctx *ctx, const char *public_id, const char *customer_id,
                         const char *body, struct sp_message *out, struct sp_problem *p)
{
    if (sp_db_begin(ctx->db, ctx->arena, p) != SP_OK)
        return p->rc;
    const char *lock_params[2] = {public_id, customer_id};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &lock_stmt, lock_params, p);
    if (r == NULL)
        goto fail;
    if (PQntuples(r) == 0) {
        sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such ticket");
        goto fail;
    }
    const char *id = sp_db_str(r, 0, 0);
    enum sp_status from, to;
    if (!sp_status_parse(sp_db_str(r, 0, 1), &from)) {
        sp_problem_set(p, SP_ERROR, "internal", "ticket has an unknown status");
        goto fail;
    }
    if (from == SP_STATUS_CLOSED) {
        sp_problem_set(p, SP_CONFLICT, "ticket_closed",
                       "the ticket is closed; open a new ticket instead");
        goto fail;
    }
    bool moves = sp_status_after_customer_reply(from, sp_db_bool(r, 0, 2), &to);
    const char *params[6] = {
        id, customer_id, body,
        moves ? sp_status_name(to) : NULL,
        moves ? sp_status_event(from, to) : NULL,
        sp_status_name(from),
    };
    r = sp_db_exec(ctx->db, ctx->arena, &reply_stmt, params, p);
    if (r == NULL)
        goto fail;
    read_message(r, 0, 0, out);
    if (sp_db_commit(ctx->db, ctx->arena, p) != SP_OK)
        goto fail;
    return SP_OK;
fail:
    sp_db_rollback(ctx->db, ctx->arena);
    return p->rc;
}
