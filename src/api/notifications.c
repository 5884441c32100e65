/*
 * notifications (api): the admins' notifications (API.md §11
 * "Notifications given up", role support_admin) — the list, filtered by
 * status and ticket, and the retry of one failed or skipped.
 * Parses, calls one domain command (domain/notifications), renders.
 * Holds no SQL; never includes db/. Never shows a recipient or a body.
 */
#include "api/app.h"
#include "api/common.h"
#include "api/handlers.h"
#include "core/arena.h"
#include "core/ids.h"
#include "core/json_writer.h"
#include "domain/notifications.h"

static void
write_notification(struct sp_jw *w, const void *item)
{
    const struct sp_notification *n = item;
    sp_jw_object(w);
    sp_jw_kint(w, "id", n->id);
    sp_jw_kstr(w, "ticket_id", n->ticket_id);
    sp_jw_kstr(w, "channel", n->channel);
    sp_jw_kstr(w, "event_type", n->event_type);
    sp_jw_kstr(w, "status", n->status);
    sp_jw_kint(w, "attempts", n->attempts);
    sp_jw_kint_or_null(w, "last_status_code", n->last_status_code);
    sp_jw_kstr(w, "last_error", n->last_error);
    sp_jw_kstr(w, "created_at", n->created_at);
    sp_jw_kstr(w, "next_attempt_at", n->next_attempt_at);
    sp_jw_kstr(w, "delivered_at", n->delivered_at);
    sp_jw_end(w);
}

static const struct sp_api_list notification_list = {"n", 25, sizeof(struct sp_notification),
                                                     write_notification};

static const char *const statuses[] = {"failed", "skipped", "pending", "sent", NULL};

/* The list's filters; its paging is notification_list's. */
enum { NQ_STATUS, NQ_TICKET, NQ_COUNT };
static const struct sp_query_spec filters[NQ_COUNT] = {
    [NQ_STATUS] = {"status", SP_QUERY_ENUM, 0, 0, 0, statuses, NULL, NULL, NULL,
                   "must be failed, skipped, pending or sent"},
    [NQ_TICKET] = {"ticket_id", SP_QUERY_STRING, SP_PUBLIC_ID_LEN, SP_PUBLIC_ID_LEN, 0, NULL,
                   NULL, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", NULL,
                   "must be a ticket's public id"},
};

enum sp_rc
sp_api_admin_notifications(struct sp_req *r, struct sp_problem *p)
{
    struct sp_query_value q[NQ_COUNT];
    struct sp_api_page page;
    if (sp_api_page_query(r, &notification_list, filters, NQ_COUNT, q, &page, p) != SP_OK)
        return p->rc;
    char ticket[SP_PUBLIC_ID_LEN + 1];
    if (q[NQ_TICKET].present && !sp_public_id_read(q[NQ_TICKET].str, ticket)) {
        sp_problem_query_field(p, "ticket_id", "invalid", filters[NQ_TICKET].message);
        return p->rc;
    }
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_notification *items;
    if (sp_notifications_list(&ctx, q[NQ_STATUS].present ? statuses[q[NQ_STATUS].i] : NULL,
                              q[NQ_TICKET].present ? ticket : NULL, page.after, page.limit,
                              &items, &page.n, &page.next, p) != SP_OK)
        return p->rc;
    return sp_api_answer_page(r, &notification_list, &page, items);
}

/* 202: the row is pending again, support-dispatch sends it. */
static enum sp_rc
retry(struct sp_req *r, void *input, struct sp_buf *body, struct sp_api_created *out,
      struct sp_problem *p)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_notification n;
    if (sp_notification_retry(&ctx, *(const long long *)input, r->principal.sub, &n, p) != SP_OK)
        return p->rc;
    struct sp_jw w;
    sp_jw_init(&w, body);
    write_notification(&w, &n);
    out->status = 202;
    return SP_OK;
}

/* As a webhook's redeliver: with an Idempotency-Key, a replay retries
 * nothing again. */
enum sp_rc
sp_api_admin_notification_retry(struct sp_req *r, struct sp_problem *p)
{
    long long id;
    if (sp_api_id_param(r, &id, p) != SP_OK)
        return p->rc;
    return sp_api_create(r, retry, &id, p);
}
