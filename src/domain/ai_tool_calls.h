/*
 * ai_tool_calls: a model's function calls run for the one who asked the
 * question (API.md §9) — the runner (struct sp_ai_tool_runner of
 * ai_provider) that POST /support/ai/query hands the provider: the tools
 * the caller's role may run, offered in the chat-completions "tools"
 * format with their JSON-Schema parameters, and each call the model asks
 * for run through sp_ai_tool_run() as the caller (the same checks, log
 * row and ticket event as a direct run; `model` is the provider's). What
 * the model gets back is the tool's result, or, for a call refused or
 * failed, {"error":{"code","detail"[,"errors"]}}: a tool the caller's
 * role may not run is never run, whatever the model asks.
 * Must not: know HTTP; decide who the caller is or what context they may
 * see (the api does).
 */
#ifndef SP_AI_TOOL_CALLS_H
#define SP_AI_TOOL_CALLS_H

#include <stddef.h>

#include "domain/ai_provider.h"
#include "domain/ai_tools.h"

struct sp_ai_tool_calls {
    struct sp_ai_tool_runner runner;   /* hand &runner to the provider */
    struct sp_ctx *ctx;
    struct sp_ai_tools_env env;
    struct sp_ai_tool_caller who;
    size_t ran, refused;               /* calls run; refused or failed */
};

/* A runner for who (copied; its strings must outlive tc) with the tools
 * of who->role; NULL runner.tools_json when the role may run none. */
void sp_ai_tool_calls_init(struct sp_ai_tool_calls *tc, struct sp_ctx *ctx,
                           const struct sp_ai_tools_env *env,
                           const struct sp_ai_tool_caller *who);

#endif
