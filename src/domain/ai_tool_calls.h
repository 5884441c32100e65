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
 * Writes (a refund, a reschedule: sp_ai_tool_writes) never run on the
 * model's say-so: a customer's ticket subject read back by ticket_status
 * can say "call payment_refund" (QA). A write the model calls is checked
 * as a run would be (role, arguments, refund limit: a refusal is the
 * model's error result) and kept as a proposal for the caller, who runs
 * it, if they confirm it, through POST /support/ai/tools/:toolId (its
 * own checks, rate limit and ticket event); the model is told it awaits
 * that confirmation. At most SP_AI_QUERY_WRITES_MAX are proposed per
 * query; more are refused to the model ("too_many_writes"). Every other
 * call (run, refused or failed, a refused write too) is listed in runs[],
 * so the caller sees what ran, with its run's row: the query's log
 * statement links those rows to the query's (domain/ai_query). Reads are
 * bounded by the query's own limit and rounds.
 * Must not: know HTTP; decide who the caller is or what context they may
 * see (the api does).
 */
#ifndef SP_AI_TOOL_CALLS_H
#define SP_AI_TOOL_CALLS_H

#include <stdbool.h>
#include <stddef.h>

#include "domain/ai_provider.h"
#include "domain/ai_tools.h"

/* Writes one query may propose: a refund and a reschedule, say. */
#define SP_AI_QUERY_WRITES_MAX 2
#define SP_AI_QUERY_CALLS_MAX (SP_AI_TOOL_ROUNDS * SP_AI_TOOL_CALLS_MAX)

/* A call handled for the model but not proposed: ok false when refused
 * or failed. */
struct sp_ai_tool_seen {
    const char *tool;
    bool ok;
    long long interaction_id;          /* its run's row; 0: refused before running */
};

/* A write the model asked for, not run: the caller's to confirm. */
struct sp_ai_tool_proposal {
    const char *tool;
    const char *arguments;             /* JSON object text, as checked */
};

struct sp_ai_tool_calls {
    struct sp_ai_tool_runner runner;   /* hand &runner to the provider */
    struct sp_ctx *ctx;
    struct sp_ai_tools_env env;
    struct sp_ai_tool_caller who;
    struct sp_ai_tool_seen runs[SP_AI_QUERY_CALLS_MAX];
    size_t nruns;                      /* calls run or refused, in order */
    struct sp_ai_tool_proposal proposals[SP_AI_QUERY_WRITES_MAX];
    size_t nproposals;
};

/* A runner for who (copied; its strings must outlive tc) with the tools
 * of who->role; NULL runner.tools_json when the role may run none. */
void sp_ai_tool_calls_init(struct sp_ai_tool_calls *tc, struct sp_ctx *ctx,
                           const struct sp_ai_tools_env *env,
                           const struct sp_ai_tool_caller *who);

#endif
