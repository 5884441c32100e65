/*
 * ai (api): the AI proxy over HTTP (API.md §9) — POST /support/ai/query:
 * the rate limit (every call counts), the question, its context (a chat
 * session or ticket the caller may see), one domain call (domain/ai_query)
 * and, in a chat, the answer posted as an `ai_bot` message and published
 * to the session's subscribers.
 * Holds no SQL; never includes db/.
 */
#include <string.h>

#include "api/app.h"
#include "api/common.h"
#include "api/handlers.h"
#include "core/arena.h"
#include "core/ids.h"
#include "core/json_writer.h"
#include "domain/agents.h"
#include "domain/ai_embedder.h"
#include "domain/ai_provider.h"
#include "domain/ai_query.h"
#include "domain/chat_bus.h"
#include "domain/chat_sessions.h"
#include "domain/ticket_state.h"
#include "domain/tickets.h"

#define CHAT_BODY_MAX 4000   /* characters of a chat message (API.md §7) */

enum { Q_QUESTION, Q_SESSION, Q_TICKET, Q_COUNT };

static const struct sp_field_spec query_fields[Q_COUNT] = {
    [Q_QUESTION] = {"question", SP_FIELD_STRING, true, false, 1, SP_AI_QUESTION_MAX, NULL, 0, 0},
    [Q_SESSION] = {"session_id", SP_FIELD_STRING, false, true, 1, 64, NULL, 0, 0},
    [Q_TICKET] = {"ticket_id", SP_FIELD_STRING, false, true, 1, 64, NULL, 0, 0},
};

/* The context of a question: the chat (when it is one) and the ids the
 * query log records. */
struct context {
    bool chat;
    struct sp_chat_session session;
    long long session_id, ticket_id;
};

/* A chat session of the caller: a customer's own (else 404), the
 * assigned agent's (else 403), any for an admin — as the chat endpoints. */
static enum sp_rc
chat_context(struct sp_req *r, const char *id, struct context *c, struct sp_problem *p)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    const struct sp_principal *me = &r->principal;
    bool customer = me->role == SP_ROLE_CUSTOMER;
    if (!sp_public_id_valid(id))
        return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such chat session");
    if (sp_chat_get(&ctx, id, customer ? me->sub : NULL, &c->session, p) != SP_OK)
        return p->rc;
    c->chat = true;
    c->session_id = c->session.id;
    if (customer || me->role == SP_ROLE_ADMIN)
        return SP_OK;
    struct sp_agent agent;
    if (sp_agent_ensure(&ctx, me->sub, me->name, &agent, p) != SP_OK)
        return p->rc;
    if (c->session.assigned_agent_id != agent.id)
        return sp_problem_set(p, SP_FORBIDDEN, "forbidden",
                              "only the assigned agent may use this chat");
    return SP_OK;
}

/* A ticket the caller may see: a customer's own by public id (else 404),
 * any by id or public id for agents. */
static enum sp_rc
ticket_context(struct sp_req *r, const char *id, struct context *c, struct sp_problem *p)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_ticket t;
    if (r->principal.role == SP_ROLE_CUSTOMER) {
        if (!sp_public_id_valid(id))
            return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such ticket");
        if (sp_ticket_get_for_customer(&ctx, id, r->principal.sub, 0, 1, &t, p) != SP_OK)
            return p->rc;
    } else {
        struct sp_ticket_ref ref;
        sp_ticket_ref_parse(id, &ref);
        if (sp_ticket_get_for_agent(&ctx, ref.id, ref.public_id, 0, 1, &t, p) != SP_OK)
            return p->rc;
    }
    c->ticket_id = t.id;
    return SP_OK;
}

static enum sp_rc
read_context(struct sp_req *r, const struct sp_field_value *v, struct context *c,
             struct sp_problem *p)
{
    memset(c, 0, sizeof(*c));
    if (!v[Q_SESSION].present && !v[Q_TICKET].present)
        return sp_problem_set(p, SP_INVALID, "context_required",
                              "a question needs a context: session_id or ticket_id");
    if (v[Q_SESSION].present && chat_context(r, v[Q_SESSION].str, c, p) != SP_OK)
        return p->rc;
    if (v[Q_TICKET].present && ticket_context(r, v[Q_TICKET].str, c, p) != SP_OK)
        return p->rc;
    return SP_OK;
}

/* The chat message of an answer: its text, then the articles it cites. */
static const char *
chat_text(struct sp_arena *a, const struct sp_ai_answer *ans)
{
    struct sp_buf b;
    sp_buf_init(&b, a, 1024);
    sp_buf_puts(&b, ans->answer);
    for (size_t i = 0; i < ans->nsources; i++)
        sp_buf_printf(&b, "%s%s (/support/articles/%s)", i ? "; " : "\n\nSources: ",
                      ans->sources[i].title, ans->sources[i].slug);
    return b.data;
}

/* Posts the answer to the chat as the ai_bot and publishes it. A chat
 * that closed meanwhile keeps the answer out; the caller still gets it. */
static void
post_to_chat(struct sp_req *r, const struct context *c, const struct sp_ai_answer *ans)
{
    const char *why;
    const char *text = chat_text(r->arena, ans);
    const char *body = sp_api_sanitize(r, text, strlen(text), CHAT_BODY_MAX, &why);
    if (body == NULL)
        return;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_chat_message m;
    bool duplicate = false;
    struct sp_problem ignored;
    sp_problem_init(&ignored);
    if (sp_chat_post(&ctx, &c->session, "ai_bot", ans->model, body, NULL, &m, &duplicate,
                     &ignored) != SP_OK)
        return;
    struct sp_buf frame;
    sp_buf_init(&frame, r->arena, 1024);
    struct sp_jw w;
    sp_jw_init(&w, &frame);
    sp_chat_frame_message(&w, &m);
    sp_chat_bus_publish(c->session.public_id, NULL, frame.data, frame.len);
}

static void
render(struct sp_req *r, const struct sp_ai_answer *ans)
{
    struct sp_buf *b = sp_api_buf(r);
    struct sp_jw w;
    sp_jw_begin_object(&w, b);
    sp_jw_kint(&w, "interaction_id", ans->interaction_id);
    sp_jw_kstr(&w, "answer", ans->answer);
    sp_jw_karray(&w, "sources");
    for (size_t i = 0; i < ans->nsources; i++) {
        sp_jw_object(&w);
        sp_jw_kstr(&w, "slug", ans->sources[i].slug);
        sp_jw_kstr(&w, "title", ans->sources[i].title);
        sp_jw_kfixed(&w, "score", ans->sources[i].score, 4);
        sp_jw_end(&w);
    }
    sp_jw_end(&w);
    sp_jw_kfixed(&w, "confidence", ans->confidence, 4);
    sp_jw_kstr(&w, "model", ans->model);
    sp_jw_kint(&w, "latency_ms", ans->latency_ms);
    sp_jw_kobject(&w, "usage");
    sp_jw_kint(&w, "prompt_tokens", ans->prompt_tokens);
    sp_jw_kint(&w, "completion_tokens", ans->completion_tokens);
    sp_jw_end(&w);
    sp_jw_end(&w);
    sp_resp_header(r, "Cache-Control", "no-store");
    sp_resp_json(r, 200, b);
}

enum sp_rc
sp_api_ai_query(struct sp_req *r, struct sp_problem *p)
{
    /* API.md §1: 20/min per user, every call counted (malformed ones too). */
    const struct sp_app *app = r->env->app;
    const struct sp_rate_window window = {60, app->cfg.ai_rate_per_minute};
    struct sp_rate_result rate;
    if (sp_api_rate_limit(r, sp_arena_sprintf(r->arena, "ai_query:%s", r->principal.sub),
                          &window, 1, &rate, p) != SP_OK)
        return p->rc;
    struct sp_field_value v[Q_COUNT];
    if (sp_api_read_body(r, query_fields, Q_COUNT, v, p) == NULL)
        return p->rc;
    struct context c;
    if (read_context(r, v, &c, p) != SP_OK)
        return p->rc;
    /* The settings say who answers: switching needs no code (API.md §9). */
    struct sp_ai_embedder embedder;
    sp_ai_embedder_init(&embedder, &app->cfg);
    struct sp_ai_provider provider;
    sp_ai_provider_init(&provider, &app->cfg);
    struct sp_ai_query_in in = {
        .question = v[Q_QUESTION].str,
        .embedder = &embedder,
        .provider = &provider,
        .tools = NULL,   /* the tools registry plugs in here (ai_provider.h) */
        .user_id = r->principal.sub,
        .session_id = c.session_id,
        .ticket_id = c.ticket_id,
        .min_confidence = app->cfg.ai_min_confidence,
    };
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_ai_answer ans;
    if (sp_ai_query(&ctx, &in, &ans, p) != SP_OK)
        return p->rc;
    if (c.chat)
        post_to_chat(r, &c, &ans);
    render(r, &ans);
    return SP_OK;
}
