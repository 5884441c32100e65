/*
 * ai_tool_calls: the provider's function calls as tool runs. See
 * ai_tool_calls.h.
 *
 * Arguments arrive as JSON text (the model's); "" is taken for no
 * arguments, anything but an object is refused as the schema would
 * refuse it (validation_failed). Calls refused or failed are logged as JSON lines
 * (tool, code; no arguments: they may hold personal data).
 */
#include "domain/ai_tool_calls.h"

#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/json_writer.h"
#include "core/log.h"
#include "domain/ratelimit.h"

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

/* env.before_write: a write passed every check; it runs only within the
 * query's cap and the caller's tools limit (counted once it is within the
 * cap, as a direct run is counted by its endpoint). */
static enum sp_rc
before_write(void *arg, const char *tool, struct sp_problem *p)
{
    struct sp_ai_tool_calls *tc = arg;
    if (tc->writes >= SP_AI_QUERY_WRITES_MAX)
        return sp_problem_set(p, SP_FORBIDDEN, "too_many_writes",
                              "one question may run at most %d write tools; %s was not run",
                              SP_AI_QUERY_WRITES_MAX, tool);
    const struct sp_rate_window window = {60, tc->limit.per_minute};
    struct sp_rate_result rate;
    if (sp_rate_hit(tc->ctx, tc->limit.bucket, &window, 1, &rate, p) != SP_OK)
        return p->rc;
    if (!rate.allowed)
        return sp_problem_set(p, SP_RATE_LIMITED, "rate_limited",
                              "too many tool runs: %ld a minute allowed; %s was not run",
                              rate.limit, tool);
    tc->writes++;
    return SP_OK;
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
    env.before_write = before_write;
    env.before_write_arg = tc;
    struct sp_ai_tool_result res;
    if (arguments(a, call->arguments, &args, &p) == SP_OK &&
        sp_ai_tool_run(tc->ctx, &env, &tc->who, call->name, args, &res, &p) == SP_OK) {
        tc->ran++;
        return res.result;
    }
    tc->refused++;
    struct sp_log_line *l = sp_log_begin(SP_LOG_INFO, "ai_tool_call_error");
    sp_log_str(l, "tool", call->name);
    sp_log_str(l, "role", sp_ai_role_name(tc->who.role));
    sp_log_str(l, "code", p.code ? p.code : "failed");
    sp_log_end(l);
    return refusal(a, &p);
}

void
sp_ai_tool_calls_init(struct sp_ai_tool_calls *tc, struct sp_ctx *ctx,
                      const struct sp_ai_tools_env *env, const struct sp_ai_tool_caller *who,
                      const struct sp_ai_write_limit *limit)
{
    memset(tc, 0, sizeof(*tc));
    tc->ctx = ctx;
    tc->env = *env;
    tc->who = *who;
    tc->limit = *limit;
    tc->runner = (struct sp_ai_tool_runner){offered(ctx->arena, who->role), run, tc};
}
