/*
 * ticket_json: a ticket's JSON members. See ticket_json.h.
 */
#include "domain/ticket_json.h"

#include "core/json_writer.h"
#include "domain/tickets.h"

/* What agents see besides the customer's view (API.md §5), the contact
 * excepted. */
static void
agent_members(struct sp_jw *w, const struct sp_ticket *t)
{
    sp_jw_kstr(w, "customer_id", t->customer_id);
    sp_jw_kint_or_null(w, "assigned_agent_id", t->assigned_agent_id);
    sp_jw_kstr(w, "sla_due_at", t->sla_due_at);
    sp_jw_kstr(w, "first_response_due_at", t->first_response_due_at);
    sp_jw_kstr(w, "first_responded_at", t->first_responded_at);
    sp_jw_kstr(w, "resolution_due_at", t->resolution_due_at);
    sp_jw_kbool(w, "sla_paused", t->sla_paused);
    sp_jw_kbool(w, "sla_breached", t->sla_breached);
    sp_jw_kstr(w, "escalated_at", t->escalated_at);
    sp_jw_kraw(w, "sentiment", t->sentiment);
    sp_jw_kstr(w, "priority_rule", t->priority_rule);
    sp_jw_kstr(w, "chat_session_id", t->chat_session_id);
}

void
sp_ticket_json_members(struct sp_jw *w, const struct sp_ticket *t, bool agent)
{
    if (agent)
        sp_jw_kint(w, "id", t->id);
    sp_jw_kstr(w, "public_id", t->public_id);
    sp_jw_kstr(w, "subject", t->subject);
    sp_jw_kstr(w, "description", t->description);
    sp_jw_kstr(w, "status", t->status);
    sp_jw_kstr(w, "priority", t->priority);
    sp_jw_kstr(w, "source", t->source);
    sp_jw_kstr(w, "category", t->category);
    sp_jw_kraw(w, "provider_id", t->provider_id);
    sp_jw_kstr(w, "booking_id", t->booking_id);
    sp_jw_kraw(w, "metadata", t->metadata_json ? t->metadata_json : "{}");
    sp_jw_kstr(w, "created_at", t->created_at);
    sp_jw_kstr(w, "updated_at", t->updated_at);
    sp_jw_kstr(w, "closed_at", t->closed_at);
    sp_jw_kint(w, "version", t->version);
    if (agent)
        agent_members(w, t);
}
