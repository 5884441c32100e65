/*
 * webhooks (api): the webhook admin endpoints of API.md §11/§6 (role
 * support_admin) — create (the secret shown once, Idempotency-Key),
 * list, get, patch, delete, rotate-secret, ping, the deliveries log and
 * redeliver.
 * Parses, calls one domain command (domain/webhooks,
 * domain/webhook_delivery), renders.
 * Holds no SQL; never includes db/. Never logs a secret; the answers
 * that carry one say Cache-Control: no-store.
 */
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/common.h"
#include "api/handlers.h"
#include "core/arena.h"
#include "core/ids.h"
#include "core/json_writer.h"
#include "domain/webhook_delivery.h"
#include "domain/webhooks.h"

static struct sp_webhook_env
webhook_env(struct sp_req *r)
{
    const struct sp_app *app = r->env->app;
    return (struct sp_webhook_env){app->crypto, app->cfg.webhook_allow_loopback != 0};
}

/* --- rendering ------------------------------------------------------------- */

/* Every answer of one webhook carries its ETag, "<id>-v<version>", as
 * the other admin rows' (docs/API.md §6): the If-Match of the next
 * PATCH, DELETE or rotate-secret. */

/* Items of a list (sp_api_item_writer): a struct sp_webhook or a struct
 * sp_webhook_delivery. */
static void
write_webhook(struct sp_jw *w, const void *item)
{
    const struct sp_webhook *h = item;
    sp_jw_object(w);
    sp_jw_kint(w, "id", h->id);
    sp_jw_kstr(w, "url", h->url);
    sp_jw_kraw(w, "events", h->events_json);
    sp_jw_kstr(w, "description", h->description);
    sp_jw_kbool(w, "is_active", h->is_active);
    sp_jw_kbool(w, "redact_text", h->redact_text);
    sp_jw_kint(w, "version", h->version);
    if (h->secret != NULL)
        sp_jw_kstr(w, "secret", h->secret);
    sp_jw_kstr(w, "previous_secret_expires_at", h->previous_secret_until);
    sp_jw_kstr(w, "created_at", h->created_at);
    sp_jw_kstr(w, "updated_at", h->updated_at);
    sp_jw_end(w);
}

static void
write_delivery(struct sp_jw *w, const void *item)
{
    const struct sp_webhook_delivery *d = item;
    sp_jw_object(w);
    sp_jw_kint(w, "id", d->id);
    sp_jw_kstr(w, "event_id", d->event_id);
    sp_jw_kstr(w, "type", d->event_type);
    sp_jw_kstr(w, "status", d->status);
    sp_jw_kint(w, "attempts", d->attempts);
    sp_jw_kint_or_null(w, "last_status_code", d->last_status_code);
    sp_jw_kstr(w, "last_error", d->last_error);
    sp_jw_kstr(w, "next_attempt_at", d->next_attempt_at);
    sp_jw_kstr(w, "delivered_at", d->delivered_at);
    sp_jw_kstr(w, "created_at", d->created_at);
    sp_jw_end(w);
}

/* The admins' lists of webhooks and of one webhook's deliveries. */
static const struct sp_api_list webhook_list = {"w", 25, sizeof(struct sp_webhook),
                                                write_webhook};
static const struct sp_api_list delivery_list = {"wd", 25, sizeof(struct sp_webhook_delivery),
                                                 write_delivery};

static enum sp_rc
answer(struct sp_req *r, int status, const struct sp_webhook *h)
{
    struct sp_jw *w = sp_api_json(r);
    write_webhook(w, h);
    sp_api_etag(r, h->id, h->version);
    if (h->secret != NULL)
        sp_resp_header(r, "Cache-Control", "no-store");
    return sp_api_send(r, status, w);
}

/* --- input ----------------------------------------------------------------- */

enum { WF_URL, WF_EVENTS, WF_DESCRIPTION, WF_ACTIVE, WF_REDACT, WF_COUNT };

/* A url's length is the domain's: 2048 bytes, invalid_url like its other
 * faults (API.md §11), not the table's too_long in characters (QA). */
static const struct sp_field_spec webhook_fields[WF_COUNT] = {
    [WF_URL] = {"url", SP_FIELD_STRING, true, false, 1, 0, NULL, 0, 0},
    [WF_EVENTS] = {"events", SP_FIELD_LIST, true, false, 0, SP_WEBHOOK_EVENTS_MAX, NULL, 0, 0},
    [WF_DESCRIPTION] = {"description", SP_FIELD_STRING, false, true, 0,
                        SP_WEBHOOK_DESCRIPTION_MAX, NULL, 0, 0},
    [WF_ACTIVE] = {"is_active", SP_FIELD_BOOL, false, false, 0, 0, NULL, 0, 0},
    [WF_REDACT] = {"redact_text", SP_FIELD_BOOL, false, false, 0, 0, NULL, 0, 0},
};

/* The body of a create (url and events required) or a patch (any). A
 * description given as null clears it. */
static enum sp_rc
read_input(struct sp_req *r, bool create, struct sp_webhook_input *in, struct sp_problem *p)
{
    struct sp_field_value v[WF_COUNT];
    struct json_object *body = sp_api_read_body_for(r, create, webhook_fields, WF_COUNT, v, p);
    if (body == NULL && p->nerrors == 0)
        return p->rc; /* not a JSON object: no fields to check */
    *in = (struct sp_webhook_input){
        .url = v[WF_URL].present ? v[WF_URL].str : NULL,
        .description = v[WF_DESCRIPTION].present ? v[WF_DESCRIPTION].str : NULL,
        .description_set = v[WF_DESCRIPTION].present ||
                           (body != NULL && json_object_object_get_ex(body, "description", NULL)),
        .is_active = v[WF_ACTIVE].present ? v[WF_ACTIVE].b : -1,
        .redact_text = v[WF_REDACT].present ? v[WF_REDACT].b : -1,
    };
    /* An events fault is a field error, reported with the rest below. */
    (void)sp_api_string_array(r, "events", &v[WF_EVENTS], &in->events, &in->nevents,
                              &in->events_set, p);
    /* A field of the wrong shape (a url that is no string) does not hide
     * the others' faults (an unknown event type): the fields that were
     * read are still checked, so one 422 lists every field error (API.md
     * §1), as for articles. A missing one is reported already. */
    if (p->nerrors > 0)
        (void)sp_webhook_check(r->arena, in, false, webhook_env(r).allow_loopback, p);
    return p->rc;
}

/* --- endpoints --------------------------------------------------------------- */

enum sp_rc
sp_api_admin_webhooks_list(struct sp_req *r, struct sp_problem *p)
{
    struct sp_api_page page;
    if (sp_api_page_params(r, &webhook_list, &page, p) != SP_OK)
        return p->rc;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_webhook *items;
    if (sp_webhook_list(&ctx, page.after, page.limit, &items, &page.n, &page.next, p) != SP_OK)
        return p->rc;
    return sp_api_answer_page(r, &webhook_list, &page, items);
}

/* An answer with the secret, through the create protocol, which sets
 * the ETag out names. */
static void
render_created(struct sp_req *r, struct sp_buf *body, const struct sp_webhook *h,
               struct sp_api_created *out)
{
    struct sp_jw w;
    sp_jw_init(&w, body);
    write_webhook(&w, h);
    sp_resp_header(r, "Cache-Control", "no-store");
    out->version = h->version;
    out->etag_id = h->id;
}

static enum sp_rc
create_webhook(struct sp_req *r, void *input, struct sp_buf *body, struct sp_api_created *out,
               struct sp_problem *p)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_webhook_env env = webhook_env(r);
    struct sp_webhook h;
    if (sp_webhook_create(&ctx, &env, input, r->principal.sub, &h, p) != SP_OK)
        return p->rc;
    render_created(r, body, &h, out);
    out->location = sp_arena_sprintf(r->arena, "/support/admin/webhooks/%lld", h.id);
    return SP_OK;
}

/* Webhook id with a fresh secret, if at a version of if_match (none: any); the
 * one replaced keeps signing through the rotation overlap. */
static enum sp_rc
rotate_secret(struct sp_req *r, long long id, struct sp_versions if_match, struct sp_webhook *h,
              struct sp_problem *p)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_webhook_env env = webhook_env(r);
    return sp_webhook_rotate_secret(&ctx, &env, id, if_match, h, p);
}

/* A replayed create: the same webhook with a fresh secret (the first was
 * never stored in the clear, so it cannot be answered again). */
static enum sp_rc
replay_webhook(struct sp_req *r, void *input, const char *resource_id, struct sp_buf *body,
               struct sp_api_created *out, struct sp_problem *p)
{
    (void)input;
    long long id = sp_row_id_read(resource_id);
    if (id <= 0)
        return sp_problem_set(p, SP_ERROR, "internal", "unreadable stored Location");
    struct sp_webhook h;
    if (rotate_secret(r, id, SP_VERSIONS_ANY, &h, p) != SP_OK)
        return p->rc;
    render_created(r, body, &h, out);
    return SP_OK;
}

enum sp_rc
sp_api_admin_webhooks_create(struct sp_req *r, struct sp_problem *p)
{
    struct sp_webhook_input in;
    if (read_input(r, true, &in, p) != SP_OK)
        return p->rc;
    return sp_api_create_secret(r, create_webhook, replay_webhook, &in, p);
}

/* One webhook as the list shows it (never its secret); authenticated, so
 * no-store like every admin read. */
enum sp_rc
sp_api_admin_webhook_get(struct sp_req *r, struct sp_problem *p)
{
    long long id;
    if (sp_api_id_param(r, &id, p) != SP_OK)
        return p->rc;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_webhook h;
    if (sp_webhook_get(&ctx, id, &h, p) != SP_OK)
        return p->rc;
    return answer(r, 200, &h);
}

/* If-Match (the webhook's ETag or *; 412 otherwise) is checked after
 * the body, as for the other admin rows: a bad body is 422 whatever it. */
enum sp_rc
sp_api_admin_webhook_patch(struct sp_req *r, struct sp_problem *p)
{
    long long id;
    struct sp_versions if_match;
    struct sp_webhook_input in;
    if (sp_api_id_param(r, &id, p) != SP_OK || read_input(r, false, &in, p) != SP_OK ||
        sp_api_if_match(r, id, &if_match, p) != SP_OK)
        return p->rc;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_webhook_env env = webhook_env(r);
    struct sp_webhook h;
    if (sp_webhook_patch(&ctx, &env, id, if_match, &in, &h, p) != SP_OK)
        return p->rc;
    return answer(r, 200, &h);
}

enum sp_rc
sp_api_admin_webhook_delete(struct sp_req *r, struct sp_problem *p)
{
    return sp_api_delete_by_id(r, sp_webhook_delete, p);
}

/* The webhook a rotation is of, and the versions If-Match names (none: any). */
struct rotation {
    long long id;
    struct sp_versions if_match;
};

/* Rotation and ping honour Idempotency-Key as creates do (API.md §1): a
 * retry with the same key changes nothing and answers the first answer. */
static enum sp_rc
rotate_webhook(struct sp_req *r, void *input, struct sp_buf *body, struct sp_api_created *out,
               struct sp_problem *p)
{
    const struct rotation *in = input;
    struct sp_webhook h;
    if (rotate_secret(r, in->id, in->if_match, &h, p) != SP_OK)
        return p->rc;
    render_created(r, body, &h, out);
    out->location = sp_arena_sprintf(r->arena, "/support/admin/webhooks/%lld", in->id);
    out->status = 200;
    return SP_OK;
}

/* A replayed rotation rotates nothing (a second one would drop the
 * secret receivers hold at once): the webhook with the secret that signs
 * now, the first answer's unless it was rotated again since. */
static enum sp_rc
replay_rotation(struct sp_req *r, void *input, const char *resource_id, struct sp_buf *body,
                struct sp_api_created *out, struct sp_problem *p)
{
    (void)resource_id;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_webhook_env env = webhook_env(r);
    struct sp_webhook h;
    if (sp_webhook_current_secret(&ctx, &env, ((const struct rotation *)input)->id, &h, p) !=
        SP_OK)
        return p->rc;
    render_created(r, body, &h, out);
    return SP_OK;
}

/* If-Match as a PATCH: a rotation is an admin write of the webhook. */
enum sp_rc
sp_api_admin_webhook_rotate(struct sp_req *r, struct sp_problem *p)
{
    struct rotation in;
    if (sp_api_id_param(r, &in.id, p) != SP_OK ||
        sp_api_if_match(r, in.id, &in.if_match, p) != SP_OK)
        return p->rc;
    return sp_api_create_secret(r, rotate_webhook, replay_rotation, &in, p);
}

/* 202 with a delivery just queued (a ping's, a redelivery's). */
static enum sp_rc
queued(const struct sp_webhook_delivery *d, struct sp_buf *body, struct sp_api_created *out)
{
    struct sp_jw w;
    sp_jw_init(&w, body);
    write_delivery(&w, d);
    out->status = 202;
    return SP_OK;
}

/* 202: the ping is queued, support-dispatch sends it. */
static enum sp_rc
ping_webhook(struct sp_req *r, void *input, struct sp_buf *body, struct sp_api_created *out,
             struct sp_problem *p)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_webhook_delivery d;
    if (sp_webhook_ping(&ctx, *(const long long *)input, &d, p) != SP_OK)
        return p->rc;
    return queued(&d, body, out);
}

enum sp_rc
sp_api_admin_webhook_ping(struct sp_req *r, struct sp_problem *p)
{
    long long id;
    if (sp_api_id_param(r, &id, p) != SP_OK)
        return p->rc;
    return sp_api_create(r, ping_webhook, &id, p);
}

/* 202: the delivery is queued again, support-dispatch sends it. */
static enum sp_rc
redeliver(struct sp_req *r, void *input, struct sp_buf *body, struct sp_api_created *out,
          struct sp_problem *p)
{
    const long long *ids = input;   /* webhook, delivery */
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_webhook_delivery d;
    if (sp_webhook_redeliver(&ctx, ids[0], ids[1], &d, p) != SP_OK)
        return p->rc;
    return queued(&d, body, out);
}

/* As ping: with an Idempotency-Key, a replay queues nothing again. */
enum sp_rc
sp_api_admin_webhook_redeliver(struct sp_req *r, struct sp_problem *p)
{
    long long ids[2];
    if (sp_api_id_param(r, &ids[0], p) != SP_OK || sp_api_id_param_at(r, 1, &ids[1], p) != SP_OK)
        return p->rc;
    return sp_api_create(r, redeliver, ids, p);
}

/* The deliveries log's filter (QA: ?status=failed was ignored, so the
 * whole log came back); its paging is delivery_list's. */
static const struct sp_query_spec delivery_status_query = {
    "status", SP_QUERY_SET, 0, 0, 0, sp_webhook_delivery_statuses, NULL, NULL, NULL,
    "must be a comma list of pending, delivered, failed", false};

enum sp_rc
sp_api_admin_webhook_deliveries(struct sp_req *r, struct sp_problem *p)
{
    long long id;
    struct sp_query_value q;
    struct sp_api_page page;
    if (sp_api_id_param(r, &id, p) != SP_OK ||
        sp_api_page_query(r, &delivery_list, &delivery_status_query, 1, &q, &page, p) != SP_OK)
        return p->rc;
    bool statuses[SP_WEBHOOK_DELIVERY_STATUS_MAX];
    sp_api_set_flags(q.set, statuses, SP_WEBHOOK_DELIVERY_STATUS_MAX);
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_webhook_delivery *items;
    if (sp_webhook_deliveries(&ctx, id, q.present ? statuses : NULL, page.after, page.limit,
                              &items, &page.n, &page.next, p) != SP_OK)
        return p->rc;
    return sp_api_answer_page(r, &delivery_list, &page, items);
}
