/*
 * ai_tools (api): the AI tools over HTTP (API.md §9) —
 * GET /support/ai/tools (the tools the caller's role may run, with their
 * JSON-Schema parameters) and POST /support/ai/tools/:toolId
 * ({"arguments":{…},"session_id"|"ticket_id"} → {"tool","result"}): the
 * tool and the role first (404, 403), then the body and its context (a
 * chat or ticket the caller may see, api/ai_context), then one domain
 * call (domain/ai_tools) that validates, runs and logs. An agent
 * confirms a write the model proposed (api/ai.c) by running it here.
 * Holds no SQL; never includes db/.
 */

#include <stdint.h>

#include "api/ai_context.h"
#include "api/app.h"
#include "api/common.h"
#include "api/handlers.h"
#include "core/arena.h"
#include "core/json_writer.h"
#include "domain/ai_tools.h"

#define ARGUMENTS_MAX 16384   /* bytes of the arguments object */

static void
write_tool(struct sp_jw *w, const struct sp_ai_tool *t)
{
    sp_jw_object(w);
    sp_jw_kstr(w, "id", t->id);
    sp_jw_kstr(w, "description", t->description);
    sp_jw_kraw(w, "parameters", t->parameters);
    sp_jw_karray(w, "roles");
    for (int r = 0; r < SP_AI_ROLE_MAX; r++) {
        if (sp_ai_tool_allowed(t, (enum sp_ai_role)r))
            sp_jw_str(w, sp_ai_role_name((enum sp_ai_role)r));
    }
    sp_jw_end(w);
    sp_jw_end(w);
}

enum sp_rc
sp_api_ai_tools_list(struct sp_req *r, struct sp_problem *p)
{
    (void)p;
    enum sp_ai_role role = sp_api_ai_caller(r, NULL, NULL, NULL).role;
    size_t n;
    const struct sp_ai_tool *tools = sp_ai_tools(&n);
    struct sp_buf *b = sp_api_buf(r);
    struct sp_jw w;
    size_t k = 0;
    sp_api_list_begin(b);
    for (size_t i = 0; i < n; i++) {
        if (!sp_ai_tool_allowed(&tools[i], role))
            continue;
        sp_api_list_item(b, k++);
        sp_jw_init(&w, b);
        write_tool(&w, &tools[i]);
    }
    sp_api_list_end_cursor(b, NULL);
    sp_resp_json(r, 200, b);
    return SP_OK;
}

enum { T_ARGUMENTS, T_SESSION, T_TICKET, T_QUERY, T_COUNT };

static const struct sp_field_spec run_fields[T_COUNT] = {
    [T_ARGUMENTS] = {"arguments", SP_FIELD_OBJECT, false, true, 0, ARGUMENTS_MAX, NULL, 0, 0},
    [T_SESSION] = SP_API_AI_CONTEXT_FIELD("session_id"),
    [T_TICKET] = SP_API_AI_CONTEXT_FIELD("ticket_id"),
    /* a query's proposal carries it: the run's event names the query */
    [T_QUERY] = {"query_interaction_id", SP_FIELD_INT, false, true, 1, INT64_MAX, NULL, 0, 0},
};

static enum sp_rc
render(struct sp_req *r, const struct sp_ai_tool_result *res)
{
    struct sp_jw *w = sp_api_object(r);
    sp_jw_kstr(w, "tool", res->tool);
    sp_jw_kraw(w, "result", res->result);
    sp_jw_kint(w, "interaction_id", res->interaction_id);
    return sp_api_send(r, 200, w);
}

enum sp_rc
sp_api_ai_tool_run(struct sp_req *r, struct sp_problem *p)
{
    /* Every direct run counts. A query runs no write (a model's is a
     * proposal, confirmed by a run here), so it is no way round this. */
    const struct sp_app *app = r->env->app;
    if (sp_api_ai_rate_limit(r, "ai_tools", app->cfg.ai_tools_rate_per_minute, p) != SP_OK)
        return p->rc;
    const char *id = r->params[0];
    const struct sp_ai_tool *tool = sp_ai_tool_find(id);
    if (tool == NULL)
        return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such tool");
    enum sp_ai_role role = sp_api_ai_caller(r, NULL, NULL, NULL).role;
    if (!sp_ai_tool_allowed(tool, role))
        return sp_problem_set(p, SP_FORBIDDEN, "forbidden", "the %s role may not run %s",
                              sp_ai_role_name(role), tool->id);
    const char *key;
    if (sp_api_idempotency_key(r, &key, p) != SP_OK)
        return p->rc;
    struct sp_field_value v[T_COUNT];
    if (sp_api_read_body(r, run_fields, T_COUNT, v, p) == NULL)
        return p->rc;
    struct sp_ai_context c;
    if (sp_api_ai_context(r, &v[T_SESSION], &v[T_TICKET], &c, p) != SP_OK)
        return p->rc;
    struct sp_ai_tool_caller who = sp_api_ai_caller(r, &c, SP_AI_TOOL_MODEL_DIRECT, key);
    who.query_interaction_id = v[T_QUERY].present ? v[T_QUERY].i : 0;
    const struct sp_ai_tools_env env = sp_api_ai_tools_env(r);
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_ai_tool_result res;
    if (sp_ai_tool_run(&ctx, &env, &who, tool->id, v[T_ARGUMENTS].obj, &res, p) != SP_OK)
        return p->rc;
    return render(r, &res);
}
