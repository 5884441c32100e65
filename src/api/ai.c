/*
 * ai (api): the AI proxy over HTTP (API.md §9) — POST /support/ai/query:
 * the rate limit (every call counts), the question, its context (a chat
 * session or ticket the caller may see), one domain call (domain/ai_query;
 * with a provider, a tool runner for the caller — domain/ai_tool_calls —
 * so the model may run the reads the caller's role may run, as the
 * caller, and propose its writes: proposed_actions and tool_runs in the
 * answer),
 * taken only with a place among the queries calling out
 * (domain/ai_in_flight: per user and per node, never waited for), and,
 * in a customer's chat, their question posted as their message and the
 * answer, escaped as the plain text it is, as an `ai_bot` message, both
 * published to the session's subscribers.
 * Holds no SQL; never includes db/.
 */
#include <string.h>

#include "api/ai_context.h"
#include "api/app.h"
#include "api/common.h"
#include "api/handlers.h"
#include "core/arena.h"
#include "core/json_writer.h"
#include "core/log.h"
#include "core/sanitize.h"
#include "core/slots.h"
#include "core/utf8.h"
#include "domain/ai_embedder.h"
#include "domain/ai_in_flight.h"
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

/* The Sources line of an answer, one line whatever its titles hold: a
 * title saved before titles were one line (a line break in it) must not
 * forge a line of the chat or of its transcript; one with nothing visible
 * is named by its slug. The links are the API's article paths: there is
 * no public page of an article to point at (docs/API.md §9, "Chat"). */
static const char *
sources_line(struct sp_arena *a, const struct sp_ai_answer *ans)
{
    struct sp_buf b;
    sp_buf_init(&b, a, 256);
    for (size_t i = 0; i < ans->nsources; i++) {
        const char *title = sp_ticket_subject_of_text(a, ans->sources[i].title, 0);
        sp_buf_printf(&b, "%s%s (/support/articles/%s)", i ? "; " : "\n\nSources: ",
                      title != NULL ? title : ans->sources[i].slug, ans->sources[i].slug);
    }
    return b.data;
}

/* The chat body of an answer: plain text, escaped as text (never read as
 * HTML: a model's or an article's markup shows as written), so the chat
 * shows what the JSON answer says. One longer than a chat message may be
 * is cut with "…", its Sources line kept, and said in the log (lengths
 * only). NULL: nothing to post. */
static const char *
answer_body(struct sp_req *r, const struct sp_ai_context *c, const struct sp_ai_answer *ans)
{
    if (!sp_sanitize_has_visible(ans->answer, strlen(ans->answer)))
        return NULL;
    bool cut = false;
    const char *body = sp_sanitize_text_to_html_fit(r->arena, ans->answer,
                                                    sources_line(r->arena, ans), CHAT_BODY_MAX,
                                                    &cut);
    if (cut || body == NULL) {
        struct sp_log_line *l = sp_log_begin(SP_LOG_WARN, body ? "ai_chat_answer_cut"
                                                               : "ai_chat_answer_dropped");
        sp_log_str(l, "session_id", c->session.public_id);
        sp_log_int(l, "interaction_id", ans->interaction_id);
        sp_log_int(l, "answer_chars", (long long)sp_utf8_count(ans->answer, strlen(ans->answer)));
        sp_log_int(l, "max_chars", CHAT_BODY_MAX);
        sp_log_end(l);
    }
    return body;
}

/* Posts a message to the chat and publishes it. A chat that closed
 * meanwhile keeps it out (the caller still gets the answer): false. */
static bool
post_to_chat(struct sp_req *r, const struct sp_ai_context *c, const struct sp_chat_post_in *in)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_chat_message m;
    bool duplicate = false;
    struct sp_problem ignored;
    sp_problem_init(&ignored);
    if (sp_chat_post(&ctx, &c->session, in, &m, &duplicate, &ignored) != SP_OK)
        return false;
    struct sp_buf frame;
    sp_buf_init(&frame, r->arena, 1024);
    struct sp_jw w;
    sp_jw_init(&w, &frame);
    sp_chat_frame_message(&w, &m, false);
    sp_chat_access_sweep_session(&ctx, c->session.public_id);
    sp_chat_bus_publish(c->session.public_id, NULL, frame.data, frame.len);
    return true;
}

/* What the model's tool calls did: the calls run (or refused), and the
 * writes proposed for the caller to confirm (domain/ai_tool_calls). A
 * proposal carries the query's context by public id, so that it is the
 * body of POST /support/ai/tools/:tool as it stands (QA: the confirming
 * call needs it, and a client had to put it back itself). */
static void
render_tools(struct sp_jw *w, const struct sp_ai_context *c, long long interaction_id,
             const struct sp_ai_tool_calls *calls)
{
    sp_jw_karray(w, "proposed_actions");
    for (size_t i = 0; i < calls->nproposals; i++) {
        sp_jw_object(w);
        sp_jw_kstr(w, "tool", calls->proposals[i].tool);
        sp_jw_kraw(w, "arguments", calls->proposals[i].arguments);
        if (c->chat)
            sp_jw_kstr(w, "session_id", c->session.public_id);
        if (c->ticket_public_id != NULL)
            sp_jw_kstr(w, "ticket_id", c->ticket_public_id);
        sp_jw_kint(w, "query_interaction_id", interaction_id);
        sp_jw_end(w);
    }
    sp_jw_end(w);
    sp_jw_karray(w, "tool_runs");
    for (size_t i = 0; i < calls->nruns; i++) {
        sp_jw_object(w);
        sp_jw_kstr(w, "tool", calls->runs[i].tool);
        sp_jw_kbool(w, "ok", calls->runs[i].ok);
        sp_jw_end(w);
    }
    sp_jw_end(w);
}

static enum sp_rc
render(struct sp_req *r, const struct sp_ai_context *c, const struct sp_ai_answer *ans,
       const struct sp_ai_tool_calls *calls)
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
    render_tools(w, c, ans->interaction_id, calls);
    sp_resp_header(r, "Cache-Control", "no-store");
    return sp_api_send(r, 200, w);
}

/* A customer's question in their own chat is said in the chat, as their
 * message: the same sanitizing and limit as a chat send (a 422 on the
 * field question), checked before anyone is asked. NULL with p unset:
 * not said in a chat (staff: agent assist, or a ticket's context). */
static const char *
question_body(struct sp_req *r, const struct sp_ai_context *c, const struct sp_field_value *q,
              struct sp_problem *p)
{
    if (!c->chat || r->principal.role != SP_ROLE_CUSTOMER)
        return NULL;
    return sp_api_body_html(r, "question", q, CHAT_BODY_MAX, p);
}

/* A 503 of the provider or the embeddings service names their internals
 * ("the AI provider answered 401"): a customer is told only that the
 * assistant is unavailable; staff keep the cause. The query's row has it
 * either way, and the log line below too. */
static enum sp_rc
unavailable_worded(struct sp_req *r, struct sp_problem *p)
{
    if (p->rc != SP_UNAVAILABLE || r->principal.role != SP_ROLE_CUSTOMER)
        return p->rc;
    struct sp_log_line *l = sp_log_begin(SP_LOG_WARN, "ai_query_unavailable");
    sp_log_str(l, "code", p->code ? p->code : "");
    sp_log_str(l, "detail", p->detail);
    sp_log_end(l);
    return sp_problem_set(p, SP_UNAVAILABLE, p->code ? p->code : "dependency_unavailable",
                          "the assistant is unavailable; try again later");
}

/* The question answered (the chat told both, when asked in one) and the
 * answer rendered. */
static enum sp_rc
answer(struct sp_req *r, const struct sp_ai_context *c, const char *question, const char *said,
       struct sp_ai_embedder *embedder, const struct sp_ai_provider *provider,
       struct sp_problem *p)
{
    const struct sp_app *app = r->env->app;
    struct sp_ctx ctx = sp_api_ctx(r);
    /* The question goes to the chat first, in its own transaction, and
     * stays there whatever the answer: none is held open while the
     * provider thinks, and the agent and the transcript have the
     * question even when no answer comes (docs/API.md §9, "Chat"). */
    bool chat_open = said == NULL ||
                post_to_chat(r, c, &(const struct sp_chat_post_in){
                                       .sender_type = "customer",
                                       .sender_id = r->principal.sub, .body = said});
    const struct sp_ai_tools_env env = sp_api_ai_tools_env(r);
    const struct sp_ai_tool_caller who = sp_api_ai_caller(r, c, provider->ep.model, NULL);
    /* The model runs reads; its writes come back as proposals for the
     * caller to confirm by a direct run (domain/ai_tool_calls). */
    struct sp_ai_tool_calls calls;
    sp_ai_tool_calls_init(&calls, &ctx, &env, &who);
    struct sp_ai_query_in in = {
        .question = question,
        .embedder = embedder,
        .provider = provider,
        .tools = calls.runner.tools_json ? &calls.runner : NULL,
        .tool_calls = &calls,
        .user_id = r->principal.sub,
        .role = sp_ai_role_short_name(who.role),
        /* Staff asking are the agents: no "ask for an agent" (API.md §9). */
        .staff = sp_api_party(r).staff,
        .session_id = c->session_id,
        .ticket_id = c->ticket_id,
        .min_confidence = app->cfg.ai_min_confidence,
    };
    struct sp_ai_answer ans;
    if (sp_ai_query(&ctx, &in, &ans, p) != SP_OK)
        return unavailable_worded(r, p);
    /* A staff member's question is a suggestion for them alone (agent
     * assist): posting it unreviewed would speak to the customer in the
     * agent's place. */
    const char *body = said != NULL && chat_open ? answer_body(r, c, &ans) : NULL;
    if (body != NULL)
        post_to_chat(r, c, &(const struct sp_chat_post_in){
                               .sender_type = "ai_bot", .sender_id = ans.model, .body = body});
    return render(r, c, &ans, &calls);
}

/* A place among the queries calling out (domain/ai_in_flight), or the
 * refusal: 429 ai_in_flight (the caller's own) and 503 ai_busy (the
 * node's) say when to ask again. */
static enum sp_rc
enter_in_flight(struct sp_req *r, struct sp_ai_in_flight *held, struct sp_problem *p)
{
    const struct sp_app *app = r->env->app;
    char buf[4096];
    /* SUPPORT_LISTEN is at most 107 bytes (checked at start): it fits. */
    const char *dir = sp_slot_dir_of(app->cfg.listen, buf, sizeof(buf));
    const struct sp_ai_in_flight_limits lim = {dir != NULL ? dir : ".",
                                               app->cfg.ai_max_in_flight};
    struct sp_ctx ctx = sp_api_ctx(r);
    if (sp_ai_in_flight_enter(&ctx, &lim, sp_party_key(r->arena, sp_api_party(r)), held, p) ==
        SP_OK)
        return SP_OK;
    if (p->rc == SP_RATE_LIMITED)   /* a 503 has the edge's */
        sp_resp_header(r, "Retry-After",
                       sp_arena_sprintf(r->arena, "%d", SP_AI_IN_FLIGHT_RETRY_S));
    return p->rc;
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
    /* Blanks (spaces, NBSP, zero-width and other invisible characters:
     * sp_utf8_blank) are no question: refused as a ticket subject of blanks is,
     * before the context is looked up or any model is asked. */
    if (!sp_sanitize_has_visible(v[Q_QUESTION].str, strlen(v[Q_QUESTION].str))) {
        sp_problem_field(p, "question", "empty", "has no visible text");
        return p->rc;
    }
    struct sp_ai_context c;
    if (read_context(r, v, &c, p) != SP_OK)
        return p->rc;
    const char *said = question_body(r, &c, &v[Q_QUESTION], p);
    if (p->rc != SP_OK)
        return p->rc;
    /* The settings say who answers: switching needs no code (API.md §9). */
    struct sp_ai_embedder embedder;
    sp_ai_embedder_init(&embedder, &app->cfg);
    struct sp_ai_provider provider;
    sp_ai_provider_init(&provider, &app->cfg);
    /* A query that calls out may hold its worker for the provider's whole
     * budget: it takes a place first, never waiting for one; the local
     * model answers from the database alone and needs none. */
    struct sp_ai_in_flight held = {NULL, -1, -1};
    if ((sp_ai_provider_configured(&provider) || sp_ai_embedder_is_remote(&embedder)) &&
        enter_in_flight(r, &held, p) != SP_OK)
        return p->rc;
    enum sp_rc rc = answer(r, &c, v[Q_QUESTION].str, said, &embedder, &provider, p);
    struct sp_ctx ctx = sp_api_ctx(r);
    sp_ai_in_flight_leave(&ctx, &held);
    return rc;
}
