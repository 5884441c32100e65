/*
 * mail_suppressions (api): the admins' suppressed addresses (API.md §11
 * "Bounces", role support_admin) — the list, and the lift of one, for a
 * customer who will never write mail to lift it herself (QA).
 * Parses, calls one domain command (domain/mail_suppressions), renders.
 * Holds no SQL; never includes db/. Never shows an address.
 */
#include "api/app.h"
#include "api/common.h"
#include "api/handlers.h"
#include "core/json_writer.h"
#include "domain/mail_suppressions.h"

static void
write_suppression(struct sp_jw *w, const void *item)
{
    const struct sp_mail_suppression *s = item;
    sp_jw_object(w);
    sp_jw_kint(w, "id", s->id);
    sp_jw_kraw(w, "customer_ids", s->customer_ids_json);
    sp_jw_kint(w, "outbox_id", s->outbox_id);
    sp_jw_kstr(w, "ticket_id", s->ticket_id);
    sp_jw_kstr(w, "dsn_status", s->dsn_status);
    sp_jw_kstr(w, "created_at", s->created_at);
    sp_jw_end(w);
}

static const struct sp_api_list suppression_list = {
    "ms", 25, sizeof(struct sp_mail_suppression), write_suppression};

enum sp_rc
sp_api_admin_mail_suppressions(struct sp_req *r, struct sp_problem *p)
{
    struct sp_api_page page;
    if (sp_api_page_params(r, &suppression_list, &page, p) != SP_OK)
        return p->rc;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_mail_suppression *items;
    if (sp_mail_suppressions_list(&ctx, page.after, page.limit, &items, &page.n, &page.next,
                                  p) != SP_OK)
        return p->rc;
    return sp_api_answer_page(r, &suppression_list, &page, items);
}

/* 204: the address is mailed again. */
enum sp_rc
sp_api_admin_mail_suppression_lift(struct sp_req *r, struct sp_problem *p)
{
    return sp_api_delete_by_id(r, sp_mail_suppression_lift, p);
}
