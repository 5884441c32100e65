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
 * Writes (a refund, a reschedule) are bounded twice, so a model (or a
 * stolen token asking through one) cannot fire them in a loop: at most
 * SP_AI_QUERY_WRITES_MAX run per query, and each one that runs counts
 * against the caller's tools limit, the bucket of direct runs; a write
 * over either is refused to the model ("too_many_writes",
 * "rate_limited") and never runs. Reads are bounded by the query's own
 * limit and rounds.
 * Must not: know HTTP; decide who the caller is or what context they may
 * see (the api does).
 */
#ifndef SP_AI_TOOL_CALLS_H
#define SP_AI_TOOL_CALLS_H

#include <stddef.h>

#include "domain/ai_provider.h"
#include "domain/ai_tools.h"

/* Writes one query may run: a refund and a reschedule, say; not a loop. */
#define SP_AI_QUERY_WRITES_MAX 2

/* The caller's tools limit (API.md §9): the direct runs' bucket. */
struct sp_ai_write_limit {
    const char *bucket;                /* "ai_tools:<sub>" */
    long per_minute;                   /* SUPPORT_AI_TOOLS_RATE_PER_MINUTE */
};

struct sp_ai_tool_calls {
    struct sp_ai_tool_runner runner;   /* hand &runner to the provider */
    struct sp_ctx *ctx;
    struct sp_ai_tools_env env;
    struct sp_ai_tool_caller who;
    struct sp_ai_write_limit limit;
    size_t ran, refused;               /* calls run; refused or failed */
    size_t writes;                     /* writes let through to run */
};

/* A runner for who (copied; its strings, and limit's, must outlive tc)
 * with the tools of who->role; NULL runner.tools_json when the role may
 * run none. */
void sp_ai_tool_calls_init(struct sp_ai_tool_calls *tc, struct sp_ctx *ctx,
                           const struct sp_ai_tools_env *env,
                           const struct sp_ai_tool_caller *who,
                           const struct sp_ai_write_limit *limit);

#endif
