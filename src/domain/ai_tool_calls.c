/*
 * ai_tool_calls: the provider's function calls as tool runs. See
 * ai_tool_calls.h.
 *
 * Arguments arrive as JSON text (the model's); "" is taken for no
 * arguments, anything but an object is refused as the schema would
 * refuse it (validation_failed). Calls refused or failed are logged as JSON lines
 * (tool, code; no arguments: they may hold personal data). A write is
 * checked and proposed, never run here.
 */
#include "domain/ai_tool_calls.h"

#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/json_writer.h"
#include "core/log.h"

/* The role's tools in the chat-completions format. */
static const char *
offered(struct sp_arena *a, enum sp_ai_role role)
{
    size_t n, k = 0;
    const struct sp_ai_tool *t = sp_ai_tools(&n);
    struct sp_buf b;
    sp_buf_init(&b, a, 4096);
    struct sp_jw w;
    sp_jw_begin_array(&w, &b);
    for (size_t i = 0; i < n; i++) {
        if (!sp_ai_tool_allowed(&t[i], role))
            continue;
        sp_jw_object(&w);
        sp_jw_kstr(&w, "type", "function");
        sp_jw_kobject(&w, "function");
        sp_jw_kstr(&w, "name", t[i].id);
        sp_jw_kstr(&w, "description", t[i].description);
        sp_jw_kraw(&w, "parameters", t[i].parameters);
        sp_jw_end(&w);
        sp_jw_end(&w);
        k++;
    }
    sp_jw_end(&w);
    return k > 0 ? b.data : NULL;
}

/* What the model gets for a call refused or failed. */
static const char *
refusal(struct sp_arena *a, const struct sp_problem *p)
{
    struct sp_buf b;
    sp_buf_init(&b, a, 512);
    struct sp_jw w;
    sp_jw_begin_object(&w, &b);
    sp_jw_kobject(&w, "error");
    sp_jw_kstr(&w, "code", p->code ? p->code : "failed");
    sp_jw_kstr(&w, "detail", p->detail);
    sp_problem_write_errors(&w, p);
    sp_jw_end(&w);
    sp_jw_end(&w);
    return b.data;
}

static enum sp_rc
arguments(struct sp_arena *a, const char *text, struct json_object **out, struct sp_problem *p)
{
    if (text == NULL || *text == '\0')
        text = "{}";
    struct sp_problem ignored;
    sp_problem_init(&ignored);
    *out = sp_json_parse(a, text, strlen(text), &ignored);
    if (*out != NULL && json_object_is_type(*out, json_type_object))
        return SP_OK;
    sp_problem_field(p, "arguments", "wrong_type", "must be a JSON object");
    return sp_problem_set(p, SP_INVALID, "validation_failed",
                          "the arguments are not a JSON object");
}

/* What the model gets for a write it called: not run, proposed. */
static const char *
proposed(struct sp_arena *a, const char *tool)
{
    struct sp_buf b;
    sp_buf_init(&b, a, 256);
    struct sp_jw w;
    sp_jw_begin_object(&w, &b);
    sp_jw_kstr(&w, "status", "awaiting_confirmation");
    sp_jw_kstr(&w, "detail",
               sp_arena_sprintf(a, "%s was not run: it is proposed to the agent, who runs it "
                                   "only if they confirm it", tool));
    sp_jw_end(&w);
    return b.data;
}

/* A write the model called, checked as its run would be and kept as a
 * proposal (within the query's cap); its result for the model, NULL
 * with p set when refused. */
static const char *
propose(struct sp_ai_tool_calls *tc, struct sp_arena *a, const char *tool,
        struct json_object *args, struct sp_problem *p)
{
    if (sp_ai_tool_check(tc->ctx, &tc->env, &tc->who, tool, args, p) != SP_OK)
        return NULL;
    if (tc->nproposals >= SP_AI_QUERY_WRITES_MAX) {
        sp_problem_set(p, SP_FORBIDDEN, "too_many_writes",
                       "one question may propose at most %d write tools; %s was not proposed",
                       SP_AI_QUERY_WRITES_MAX, tool);
        return NULL;
    }
    tc->proposals[tc->nproposals++] = (struct sp_ai_tool_proposal){
        sp_ai_tool_find(tool)->id, sp_arena_strdup(a, sp_json_compact(args, NULL))};
    return proposed(a, tool);
}

/* row: the run's row in the query log (0: refused before it ran). */
static void
seen(struct sp_ai_tool_calls *tc, struct sp_arena *a, const char *tool, bool ok, long long row)
{
    if (tc->nruns < SP_AI_QUERY_CALLS_MAX)
        tc->runs[tc->nruns++] = (struct sp_ai_tool_seen){sp_arena_strdup(a, tool), ok, row};
}

static const char *
run(void *arg, struct sp_arena *a, const struct sp_ai_tool_call *call, long budget_ms)
{
    struct sp_ai_tool_calls *tc = arg;
    struct sp_problem p;
    sp_problem_init(&p);
    struct json_object *args;
    struct sp_ai_tools_env env = tc->env;
    env.budget_ms = budget_ms;
    const struct sp_ai_tool *t = sp_ai_tool_find(call->name);
    bool is_write = t != NULL && sp_ai_tool_writes(t);
    struct sp_ai_tool_result res = {0};
    if (arguments(a, call->arguments, &args, &p) == SP_OK) {
        if (is_write) {
            const char *result = propose(tc, a, call->name, args, &p);
            if (result != NULL)
                return result;
        } else if (sp_ai_tool_run(tc->ctx, &env, &tc->who, call->name, args, &res, &p) ==
                   SP_OK) {
            seen(tc, a, call->name, true, res.interaction_id);
            return res.result;
        }
    }
    /* refused: listed too, nothing unseen; failed: with its row */
    seen(tc, a, call->name, false, res.interaction_id);
    struct sp_log_line *l = sp_log_begin(SP_LOG_INFO, "ai_tool_call_error");
    sp_log_str(l, "tool", call->name);
    sp_log_str(l, "role", sp_ai_role_name(tc->who.role));
    sp_log_str(l, "code", p.code ? p.code : "failed");
    sp_log_end(l);
    return refusal(a, &p);
}

void
sp_ai_tool_calls_init(struct sp_ai_tool_calls *tc, struct sp_ctx *ctx,
                      const struct sp_ai_tools_env *env, const struct sp_ai_tool_caller *who)
{
    memset(tc, 0, sizeof(*tc));
    tc->ctx = ctx;
    tc->env = *env;
    tc->who = *who;
    tc->runner = (struct sp_ai_tool_runner){offered(ctx->arena, who->role), run, tc};
}
