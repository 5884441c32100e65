/*
 * ai_context: who may use which chat or ticket as an AI context. See
 * ai_context.h.
 */
#include "api/ai_context.h"

#include <string.h>

#include "api/app.h"
#include "api/common.h"
#include "core/arena.h"
#include "core/ids.h"
#include "domain/party.h"
#include "domain/ticket_state.h"
#include "domain/tickets.h"

/* A chat session of the caller, by the chat endpoints' rule. */
static enum sp_rc
chat_context(struct sp_req *r, const char *id, struct sp_ai_context *c, struct sp_problem *p)
{
    if (sp_api_chat_for_caller(r, id, &c->session, p) != SP_OK)
        return p->rc;
    c->chat = true;
    c->session_id = c->session.id;
    return SP_OK;
}

/* A ticket the caller may see: a customer's own by public id (else 404),
 * any by id or public id for agents. */
static enum sp_rc
ticket_context(struct sp_req *r, const char *id, struct sp_ai_context *c, struct sp_problem *p)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_ticket t;
    if (r->principal.role == SP_ROLE_CUSTOMER) {
        id = sp_api_public_id(r, id);
        if (id == NULL)
            return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such ticket");
        if (sp_ticket_get_for_customer(&ctx, id, r->principal.sub, 0, 1, &t, p) != SP_OK)
            return p->rc;
    } else {
        struct sp_ticket_ref ref;
        sp_ticket_ref_parse(r->arena, id, &ref);
        if (sp_ticket_get_for_agent(&ctx, ref.id, ref.public_id, 0, 1, &t, p) != SP_OK)
            return p->rc;
    }
    c->ticket_id = t.id;
    c->ticket_public_id = t.public_id;
    return SP_OK;
}

enum sp_rc
sp_api_ai_context(struct sp_req *r, const struct sp_field_value *session_id,
                  const struct sp_field_value *ticket_id, struct sp_ai_context *c,
                  struct sp_problem *p)
{
    memset(c, 0, sizeof(*c));
    if (session_id->present && chat_context(r, session_id->str, c, p) != SP_OK)
        return p->rc;
    if (ticket_id->present && ticket_context(r, ticket_id->str, c, p) != SP_OK)
        return p->rc;
    return SP_OK;
}

static enum sp_ai_role
ai_role(enum sp_role role)
{
    switch (role) {
    case SP_ROLE_ADMIN: return SP_AI_ADMIN;
    case SP_ROLE_AGENT: return SP_AI_AGENT;
    default:            return SP_AI_CUSTOMER;
    }
}

struct sp_ai_tool_caller
sp_api_ai_caller(const struct sp_req *r, const struct sp_ai_context *c, const char *model,
                 const char *key)
{
    enum sp_ai_role role = ai_role(r->principal.role);
    return (struct sp_ai_tool_caller){
        .role = role, .user_id = r->principal.sub,
        .actor_type = role == SP_AI_CUSTOMER ? "customer" : "agent", .model = model,
        .ticket_id = c ? c->ticket_id : 0, .session_id = c ? c->session_id : 0,
        .idempotency_key = key, .owner = sp_api_party(r)};
}

struct sp_ai_tools_env
sp_api_ai_tools_env(const struct sp_req *r)
{
    const struct sp_app *app = r->env->app;
    const struct sp_config *cfg = &app->cfg;
    return (struct sp_ai_tools_env){
        .booking = {"booking service", cfg->booking_url, cfg->booking_key,
                    cfg->service_timeout_ms},
        .payments = {"payment service", cfg->payments_url, cfg->payments_key,
                     cfg->service_timeout_ms},
        .refund_agent_limit = cfg->refund_agent_limit,
    };
}

const char *
sp_api_ai_bucket(struct sp_req *r, const char *name)
{
    return sp_arena_sprintf(r->arena, "%s:%s", name, sp_party_key(r->arena, sp_api_party(r)));
}

enum sp_rc
sp_api_ai_rate_limit(struct sp_req *r, const char *name, long per_minute, struct sp_problem *p)
{
    const struct sp_rate_window window = {60, per_minute};
    struct sp_rate_result rate;
    return sp_api_rate_limit(r, sp_api_ai_bucket(r, name), &window, 1, &rate, p);
}
