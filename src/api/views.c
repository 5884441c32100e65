/*
 * views: JSON renderers. See views.h.
 */
#include "api/views.h"

#include <string.h>

#include "api/app.h"
#include "api/common.h"
#include "core/arena.h"
#include "core/crypto.h"
#include "core/json_writer.h"
#include "domain/attachment_json.h"
#include "domain/ticket_json.h"

/* The members of a message; the caller opened the object. */
static void
message_members(struct sp_jw *w, const struct sp_message *m, bool agent)
{
    sp_jw_kint(w, "id", m->id);
    sp_jw_kstr(w, "sender_type", m->sender_type);
    /* Who answered, by name (as a chat's staff messages): customers see
     * the name, never the staff user id in sender_id. */
    sp_jw_kstr(w, "sender_name", m->sender_name);
    if (agent) {
        sp_jw_kstr(w, "sender_id", m->sender_id);
        sp_jw_kbool(w, "is_internal", m->is_internal);
    }
    sp_jw_kstr(w, "body", m->body);
    sp_attachment_json_list(w, "attachments", m->attachments_json);
    sp_jw_kstr(w, "created_at", m->created_at);
}

void
sp_view_message(struct sp_buf *b, const struct sp_message *m, bool agent)
{
    struct sp_jw w;
    sp_jw_begin_object(&w, b);
    message_members(&w, m, agent);
    sp_jw_end(&w);
}

/* The decrypted contact (API.md §5): agents only. The ciphertexts are bound
 * to their customer and field, so a value moved between rows won't open. */
static void
contact(struct sp_req *r, struct sp_jw *w, const struct sp_ticket *t)
{
    const struct sp_app *app = r->env->app;
    const struct sp_crypto *c = app ? app->crypto : NULL;
    const char *enc[3] = {t->contact_name_enc, t->contact_email_enc, t->contact_phone_enc};
    static const char *const names[3] = {"name", "email", "phone"};
    sp_jw_kobject(w, "customer");
    for (int i = 0; i < 3; i++) {
        const char *plain = NULL;
        if (enc[i] != NULL && c != NULL)
            plain = sp_crypto_decrypt(c, r->arena, enc[i],
                                      sp_arena_sprintf(r->arena, "contact:%s:%s", names[i],
                                                       t->customer_id));
        sp_jw_kstr(w, names[i], plain);
    }
    sp_jw_kstr(w, "tier", t->contact_tier ? t->contact_tier : "standard");
    /* mail to the address is not sent (a hard bounce, API.md §11 "Bounces"): staff
     * see why the customer hears nothing, and an admin can lift it */
    sp_jw_kbool(w, "email_suppressed", t->email_suppressed);
    sp_jw_end(w);
}

/* The messages page and its cursor (full views). */
static void
messages_members(struct sp_req *r, struct sp_jw *w, const struct sp_ticket *t, bool agent)
{
    sp_jw_karray(w, "messages");
    for (size_t i = 0; i < t->nmessages; i++) {
        sp_jw_object(w);
        message_members(w, &t->messages[i], agent);
        sp_jw_end(w);
    }
    sp_jw_end(w);
    /* the messages' query pages only: sp_req_scope is a customer's
     * cursors' scope; an agent's is bound to the ticket, whichever
     * spelling of it the path has (sp_api_ticket_next_cursor) */
    sp_jw_kstr(w, "messages_next_cursor",
               agent ? sp_api_ticket_next_cursor(r, "m", t->id, t->messages_next_after)
                     : sp_api_next_cursor(r, sp_req_scope(r), "m", t->messages_next_after));
}

void
sp_view_ticket(struct sp_req *r, struct sp_buf *b, const struct sp_ticket *t, enum sp_view view)
{
    bool agent = view == SP_VIEW_AGENT || view == SP_VIEW_AGENT_SUMMARY;
    bool summary = view == SP_VIEW_CUSTOMER_SUMMARY || view == SP_VIEW_AGENT_SUMMARY;
    struct sp_jw w;
    sp_jw_begin_object(&w, b);
    sp_ticket_json_members(&w, t, agent);
    if (agent)
        contact(r, &w, t);
    if (summary) {
        sp_jw_kstr(&w, "last_message_at", t->last_message_at);
        sp_jw_kint(&w, "message_count", t->message_count);
    } else {
        messages_members(r, &w, t, agent);
    }
    if (view == SP_VIEW_CUSTOMER_SUMMARY) {
        /* "New reply" in the customer's list (API.md §4): who wrote the
         * last public message, and when an agent last answered */
        sp_jw_kstr(&w, "last_message_from", t->last_message_from);
        sp_jw_kstr(&w, "last_agent_reply_at", t->last_agent_reply_at);
    }
    sp_jw_end(&w);
}

const struct sp_buf *
sp_view_ticket_answer(struct sp_req *r, int status, const struct sp_ticket *t, enum sp_view view)
{
    struct sp_buf *b = sp_api_buf(r);
    sp_view_ticket(r, b, t, view);
    const char *etag = sp_api_ticket_etag(r, t->version, b->data, b->len);
    if (status != 200 || !sp_api_not_modified(r, etag))
        sp_resp_json(r, status, b);
    return b;
}

struct sp_buf *
sp_view_ticket_page(struct sp_req *r, const struct sp_ticket *items, size_t n,
                    enum sp_view view, const char *next_cursor)
{
    struct sp_buf *b = sp_api_buf(r);
    sp_api_list_begin(b);
    for (size_t i = 0; i < n; i++) {
        sp_api_list_item(b, i);
        sp_view_ticket(r, b, &items[i], view);
    }
    sp_api_list_end_cursor(b, next_cursor);
    return b;
}

void
sp_view_event(struct sp_buf *b, const struct sp_ticket_event *e)
{
    struct sp_jw w;
    sp_jw_begin_object(&w, b);
    sp_jw_kint(&w, "id", e->id);
    sp_jw_kstr(&w, "event_type", e->event_type);
    sp_jw_kstr(&w, "actor_type", e->actor_type);
    sp_jw_kstr(&w, "performed_by", e->performed_by);
    sp_jw_kraw(&w, "metadata", e->metadata_json ? e->metadata_json : "{}");
    sp_jw_kstr(&w, "created_at", e->created_at);
    sp_jw_end(&w);
}

void
sp_view_agent(struct sp_buf *b, const struct sp_agent *a)
{
    struct sp_jw w;
    sp_jw_begin_object(&w, b);
    sp_jw_kint(&w, "id", a->id);
    sp_jw_kstr(&w, "user_id", a->user_id);
    sp_jw_kstr(&w, "display_name", a->display_name);
    sp_jw_kstr(&w, "team", a->team);
    sp_jw_kraw(&w, "skills", a->skills_json ? a->skills_json : "[]");
    sp_jw_kstr(&w, "status", a->status);
    sp_jw_kbool(&w, "is_active", a->is_active);
    sp_jw_kint(&w, "max_concurrent_chats", a->max_concurrent_chats);
    sp_jw_kstr(&w, "last_assigned_at", a->last_assigned_at);
    sp_jw_kint(&w, "version", a->version);
    sp_jw_kstr(&w, "created_at", a->created_at);
    sp_jw_kstr(&w, "updated_at", a->updated_at);
    sp_jw_end(&w);
}
