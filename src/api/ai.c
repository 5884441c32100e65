/*
 * ai (api): the AI proxy over HTTP (API.md §9) — POST /support/ai/query:
 * the rate limit (every call counts), the question, its context (a chat
 * session or ticket the caller may see), one domain call (domain/ai_query;
 * with a provider, a tool runner for the caller — domain/ai_tool_calls —
 * so the model may run what the caller's role may run, as the caller)
 * and, in a chat, the answer posted as an `ai_bot` message and published
 * to the session's subscribers.
 * Holds no SQL; never includes db/.
 */
#include <string.h>

#include "api/ai_context.h"
#include "api/app.h"
#include "api/common.h"
#include "api/handlers.h"
#include "core/arena.h"
#include "core/ascii.h"
#include "core/json_writer.h"
#include "core/sanitize.h"
#include "domain/ai_embedder.h"
#include "domain/ai_provider.h"
#include "domain/ai_query.h"
#include "domain/ai_tool_calls.h"
#include "domain/chat_access.h"
#include "domain/chat_bus.h"
#include "domain/chat_sessions.h"
#include "domain/ticket_subject.h"

#define CHAT_BODY_MAX 4000   /* characters of a chat message (API.md §7) */

enum { Q_QUESTION, Q_SESSION, Q_TICKET, Q_COUNT };

static const struct sp_field_spec query_fields[Q_COUNT] = {
    [Q_QUESTION] = {"question", SP_FIELD_STRING, true, false, 1, SP_AI_QUESTION_MAX, NULL, 0, 0},
    [Q_SESSION] = SP_API_AI_CONTEXT_FIELD("session_id"),
    [Q_TICKET] = SP_API_AI_CONTEXT_FIELD("ticket_id"),
};

static enum sp_rc
read_context(struct sp_req *r, const struct sp_field_value *v, struct sp_ai_context *c,
             struct sp_problem *p)
{
    if (!v[Q_SESSION].present && !v[Q_TICKET].present)
        return sp_problem_set(p, SP_INVALID, "context_required",
                              "a question needs a context: session_id or ticket_id");
    return sp_api_ai_context(r, &v[Q_SESSION], &v[Q_TICKET], c, p);
}

/* The chat message of an answer: its text, then the articles it cites,
 * all on one line: a title saved before titles were one line (a line
 * break in it) must not forge a line of the chat or of its transcript;
 * one with nothing visible is named by its slug. */
static const char *
chat_text(struct sp_arena *a, const struct sp_ai_answer *ans)
{
    struct sp_buf b;
    sp_buf_init(&b, a, 1024);
    sp_buf_puts(&b, ans->answer);
    for (size_t i = 0; i < ans->nsources; i++) {
        const char *title = sp_ticket_subject_of_text(a, ans->sources[i].title, 0);
        sp_buf_printf(&b, "%s%s (/support/articles/%s)", i ? "; " : "\n\nSources: ",
                      title != NULL ? title : ans->sources[i].slug, ans->sources[i].slug);
    }
    return b.data;
}

/* Posts the answer to the chat as the ai_bot and publishes it. A chat
 * that closed meanwhile keeps the answer out; the caller still gets it. */
static void
post_to_chat(struct sp_req *r, const struct sp_ai_context *c, const struct sp_ai_answer *ans)
{
    const char *why;
    const char *text = chat_text(r->arena, ans);
    const char *body = sp_sanitize_body(r->arena, text, strlen(text), CHAT_BODY_MAX, &why);
    if (body == NULL)
        return;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_chat_message m;
    bool duplicate = false;
    struct sp_problem ignored;
    sp_problem_init(&ignored);
    const struct sp_chat_post_in in = {.sender_type = "ai_bot", .sender_id = ans->model,
                                       .body = body};
    if (sp_chat_post(&ctx, &c->session, &in, &m, &duplicate, &ignored) != SP_OK)
        return;
    struct sp_buf frame;
    sp_buf_init(&frame, r->arena, 1024);
    struct sp_jw w;
    sp_jw_init(&w, &frame);
    sp_chat_frame_message(&w, &m);
    sp_chat_access_sweep_session(&ctx, c->session.public_id);
    sp_chat_bus_publish(c->session.public_id, NULL, frame.data, frame.len);
}

static enum sp_rc
render(struct sp_req *r, const struct sp_ai_answer *ans)
{
    struct sp_jw *w = sp_api_object(r);
    sp_jw_kint(w, "interaction_id", ans->interaction_id);
    sp_jw_kstr(w, "answer", ans->answer);
    sp_jw_karray(w, "sources");
    for (size_t i = 0; i < ans->nsources; i++) {
        sp_jw_object(w);
        sp_jw_kstr(w, "slug", ans->sources[i].slug);
        sp_jw_kstr(w, "title", ans->sources[i].title);
        sp_jw_kfixed(w, "score", ans->sources[i].score, 4);
        sp_jw_end(w);
    }
    sp_jw_end(w);
    sp_jw_kfixed(w, "confidence", ans->confidence, 4);
    sp_jw_kstr(w, "model", ans->model);
    sp_jw_kint(w, "latency_ms", ans->latency_ms);
    sp_jw_kobject(w, "usage");
    sp_jw_kint(w, "prompt_tokens", ans->prompt_tokens);
    sp_jw_kint(w, "completion_tokens", ans->completion_tokens);
    sp_jw_end(w);
    sp_resp_header(r, "Cache-Control", "no-store");
    return sp_api_send(r, 200, w);
}

enum sp_rc
sp_api_ai_query(struct sp_req *r, struct sp_problem *p)
{
    const struct sp_app *app = r->env->app;
    if (sp_api_ai_rate_limit(r, "ai_query", app->cfg.ai_rate_per_minute, p) != SP_OK)
        return p->rc;
    struct sp_field_value v[Q_COUNT];
    if (sp_api_read_body(r, query_fields, Q_COUNT, v, p) == NULL)
        return p->rc;
    /* Blanks are no question: refused as a ticket subject of blanks is,
     * before the context is looked up or any model is asked. */
    if (sp_ascii_only(v[Q_QUESTION].str, strlen(v[Q_QUESTION].str), SP_ASCII_SPACE)) {
        sp_problem_field(p, "question", "empty", "has no visible text");
        return p->rc;
    }
    struct sp_ai_context c;
    if (read_context(r, v, &c, p) != SP_OK)
        return p->rc;
    /* The settings say who answers: switching needs no code (API.md §9). */
    struct sp_ai_embedder embedder;
    sp_ai_embedder_init(&embedder, &app->cfg);
    struct sp_ai_provider provider;
    sp_ai_provider_init(&provider, &app->cfg);
    struct sp_ctx ctx = sp_api_ctx(r);
    const struct sp_ai_tools_env env = sp_api_ai_tools_env(r);
    const struct sp_ai_tool_caller who = sp_api_ai_caller(r, &c, provider.ep.model, NULL);
    /* The model's writes count against the caller's tools limit, as
     * direct runs do (domain/ai_tool_calls). */
    const struct sp_ai_write_limit limit = {sp_api_ai_bucket(r, "ai_tools"),
                                            app->cfg.ai_tools_rate_per_minute};
    struct sp_ai_tool_calls calls;
    sp_ai_tool_calls_init(&calls, &ctx, &env, &who, &limit);
    struct sp_ai_query_in in = {
        .question = v[Q_QUESTION].str,
        .embedder = &embedder,
        .provider = &provider,
        .tools = calls.runner.tools_json ? &calls.runner : NULL,
        .user_id = r->principal.sub,
        /* Staff asking are the agents: no "ask for an agent" (API.md §9). */
        .staff = sp_api_party(r).staff,
        .session_id = c.session_id,
        .ticket_id = c.ticket_id,
        .min_confidence = app->cfg.ai_min_confidence,
    };
    struct sp_ai_answer ans;
    if (sp_ai_query(&ctx, &in, &ans, p) != SP_OK)
        return p->rc;
    /* The customer's own question is answered in their chat; a staff
     * member's is a suggestion for them alone (agent assist): posting it
     * unreviewed would speak to the customer in the agent's place. */
    if (c.chat && r->principal.role == SP_ROLE_CUSTOMER)
        post_to_chat(r, &c, &ans);
    return render(r, &ans);
}
