/*
 * views: JSON renderers. See views.h.
 */
#include "api/views.h"

#include <string.h>

#include "api/app.h"
#include "api/common.h"
#include "core/arena.h"
#include "core/crypto.h"

void
sp_view_message(struct sp_buf *b, const struct sp_message *m, bool agent)
{
    sp_buf_printf(b, "{\"id\":%lld,\"sender_type\":", m->id);
    sp_buf_json_cstr(b, m->sender_type);
    if (agent) {
        sp_buf_puts(b, ",\"sender_id\":");
        sp_buf_json_cstr(b, m->sender_id);
        sp_buf_printf(b, ",\"is_internal\":%s", m->is_internal ? "true" : "false");
    }
    sp_buf_puts(b, ",\"body\":");
    sp_buf_json_cstr(b, m->body);
    sp_buf_puts(b, ",\"attachments\":");
    sp_buf_puts(b, m->attachments_json ? m->attachments_json : "[]");
    sp_buf_puts(b, ",\"created_at\":");
    sp_buf_json_cstr(b, m->created_at);
    sp_buf_putc(b, '}');
}

static void
field_str(struct sp_buf *b, const char *name, const char *value)
{
    sp_buf_printf(b, ",\"%s\":", name);
    sp_buf_json_cstr(b, value);
}

static void
field_raw(struct sp_buf *b, const char *name, const char *json, const char *fallback)
{
    sp_buf_printf(b, ",\"%s\":%s", name, json ? json : fallback);
}

/* The decrypted contact (API.md §5): agents only. The ciphertexts are bound
 * to their customer and field, so a value moved between rows won't open. */
static void
contact(struct sp_req *r, struct sp_buf *b, const struct sp_ticket *t)
{
    const struct sp_app *app = r->env->app;
    const struct sp_crypto *c = app ? app->crypto : NULL;
    const char *enc[3] = {t->contact_name_enc, t->contact_email_enc, t->contact_phone_enc};
    static const char *const names[3] = {"name", "email", "phone"};
    sp_buf_puts(b, ",\"customer\":{");
    for (int i = 0; i < 3; i++) {
        const char *plain = NULL;
        if (enc[i] != NULL && c != NULL)
            plain = sp_crypto_decrypt(c, r->arena, enc[i],
                                      sp_arena_sprintf(r->arena, "contact:%s:%s", names[i],
                                                       t->customer_id));
        sp_buf_printf(b, "%s\"%s\":", i ? "," : "", names[i]);
        sp_buf_json_cstr(b, plain);
    }
    field_str(b, "tier", t->contact_tier ? t->contact_tier : "standard");
    sp_buf_putc(b, '}');
}

void
sp_view_ticket(struct sp_req *r, struct sp_buf *b, const struct sp_ticket *t, enum sp_view view)
{
    bool agent = view == SP_VIEW_AGENT || view == SP_VIEW_AGENT_SUMMARY;
    bool summary = view == SP_VIEW_CUSTOMER_SUMMARY || view == SP_VIEW_AGENT_SUMMARY;
    sp_buf_putc(b, '{');
    if (agent)
        sp_buf_printf(b, "\"id\":%lld,", t->id);
    sp_buf_puts(b, "\"public_id\":");
    sp_buf_json_cstr(b, t->public_id);
    field_str(b, "subject", t->subject);
    field_str(b, "description", t->description);
    field_str(b, "status", t->status);
    field_str(b, "priority", t->priority);
    field_str(b, "source", t->source);
    field_str(b, "category", t->category);
    field_raw(b, "provider_id", t->provider_id, "null");
    field_str(b, "booking_id", t->booking_id);
    field_raw(b, "metadata", t->metadata_json, "{}");
    field_str(b, "created_at", t->created_at);
    field_str(b, "updated_at", t->updated_at);
    field_str(b, "closed_at", t->closed_at);
    sp_buf_printf(b, ",\"version\":%lld", t->version);
    if (agent) {
        field_str(b, "customer_id", t->customer_id);
        contact(r, b, t);
        if (t->assigned_agent_id)
            sp_buf_printf(b, ",\"assigned_agent_id\":%lld", t->assigned_agent_id);
        else
            sp_buf_puts(b, ",\"assigned_agent_id\":null");
        field_str(b, "sla_due_at", t->sla_due_at);
        field_str(b, "first_response_due_at", t->first_response_due_at);
        field_str(b, "first_responded_at", t->first_responded_at);
        field_str(b, "resolution_due_at", t->resolution_due_at);
        sp_buf_printf(b, ",\"sla_paused\":%s,\"sla_breached\":%s", t->sla_paused ? "true" : "false",
                      t->sla_breached ? "true" : "false");
        field_str(b, "escalated_at", t->escalated_at);
        field_raw(b, "sentiment", t->sentiment, "null");
        field_str(b, "priority_rule", t->priority_rule);
    }
    if (summary) {
        field_str(b, "last_message_at", t->last_message_at);
        sp_buf_printf(b, ",\"message_count\":%lld}", t->message_count);
        return;
    }
    sp_buf_puts(b, ",\"messages\":[");
    for (size_t i = 0; i < t->nmessages; i++) {
        if (i > 0)
            sp_buf_putc(b, ',');
        sp_view_message(b, &t->messages[i], agent);
    }
    sp_buf_putc(b, ']');
    sp_api_next_cursor(r, b, "messages_next_cursor", "m", t->messages_next_after);
    sp_buf_putc(b, '}');
}

void
sp_view_event(struct sp_buf *b, const struct sp_ticket_event *e)
{
    sp_buf_printf(b, "{\"id\":%lld", e->id);
    field_str(b, "event_type", e->event_type);
    field_str(b, "actor_type", e->actor_type);
    field_str(b, "performed_by", e->performed_by);
    field_raw(b, "metadata", e->metadata_json, "{}");
    field_str(b, "created_at", e->created_at);
    sp_buf_putc(b, '}');
}

void
sp_view_agent(struct sp_buf *b, const struct sp_agent *a)
{
    sp_buf_printf(b, "{\"id\":%lld", a->id);
    field_str(b, "user_id", a->user_id);
    field_str(b, "display_name", a->display_name);
    field_str(b, "team", a->team);
    field_raw(b, "skills", a->skills_json, "[]");
    field_str(b, "status", a->status);
    sp_buf_printf(b, ",\"max_concurrent_chats\":%lld", a->max_concurrent_chats);
    field_str(b, "last_assigned_at", a->last_assigned_at);
    field_str(b, "created_at", a->created_at);
    field_str(b, "updated_at", a->updated_at);
    sp_buf_putc(b, '}');
}
