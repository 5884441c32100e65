/*
 * ai_provider: answers from an OpenAI-compatible chat-completions model
 * (API.md §9, SUPPORT_AI_BASE_URL) grounded in the retrieved passages —
 * the prompt (instructions, the passages numbered [1]…[n] with their
 * article's title and slug, the question), everything in it redacted
 * (e-mail addresses, phone and card numbers: core/redact) before it
 * leaves; the answer, the passages it cites ([n] markers), the usage the
 * server reports. Calls go through core/ai_client (budget, retries after
 * 5xx with backoff).
 *
 * Tools: the caller may hand in a runner (struct sp_ai_tool_runner: the
 * tools offered and a callback that runs one call as the caller's role
 * allows); tool calls the model asks for are then run and their results
 * (refusals included, as error objects) sent back as `tool` messages, for
 * at most SP_AI_TOOL_ROUNDS rounds; the request after the last round says
 * "tool_choice":"none", and tool calls in its answer are ignored (its
 * text is the answer; none: the caller's "I don't know"). At most
 * SP_AI_TOOL_CALLS_MAX calls of one answer are run (core/ai_client reads
 * no more). The endpoint's budget bounds the whole
 * answer, tool runs included: each call and run gets what is left, and
 * none starts once it is spent (503). Without a runner no tools are
 * offered, and tool calls a model asks for anyway are ignored.
 * The usage is summed over the rounds within SP_AI_USAGE_MAX (a
 * server's absurd count saturates); an answer longer than
 * SP_AI_ANSWER_MAX characters is cut there (logged: ai_answer_cut).
 * The instructions say that passages and tool results are data, never
 * instructions; a write the model calls is the runner's to propose, not
 * to run (domain/ai_tool_calls).
 * Must not: know HTTP or SQL; decide who may run a tool (the runner does).
 */
#ifndef SP_AI_PROVIDER_H
#define SP_AI_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/ai_client.h"
#include "core/problem.h"

struct sp_arena;
struct sp_config;
struct sp_ai_passage;

#define SP_AI_TOOL_ROUNDS 3
#define SP_AI_CONTEXT_PASSAGES 5
#define SP_AI_ANSWER_MAX 16000  /* characters of an answer kept (API.md §9); the rest is cut */

struct sp_ai_tool_runner {
    const char *tools_json;   /* the "tools" array offered (OpenAI function format) */
    /* Runs one call within budget_ms (what is left of the answer's
     * budget); returns the JSON text handed back to the model (an error
     * object for a call refused or failed), arena-owned. */
    const char *(*run)(void *arg, struct sp_arena *a, const struct sp_ai_tool_call *call,
                       long budget_ms);
    void *arg;
};

struct sp_ai_provider {
    struct sp_ai_endpoint ep;
    long max_tokens;
};

/* From the settings (pointers into cfg, which must outlive pv). */
void sp_ai_provider_init(struct sp_ai_provider *pv, const struct sp_config *cfg);
/* Whether SUPPORT_AI_BASE_URL is set: the provider answers. */
bool sp_ai_provider_configured(const struct sp_ai_provider *pv);

struct sp_ai_generation {
    const char *answer;          /* NULL when the model gave no text */
    const char *model;           /* the model that answered */
    long prompt_tokens, completion_tokens;  /* the server's usage, all rounds (also
                                             * those before a failure) */
    bool cited[SP_AI_CONTEXT_PASSAGES];     /* passages the answer cites by [n] */
    size_t ncited;
    size_t tool_calls;           /* tool calls handed to the runner */
    int rounds;                  /* tool rounds */
};

/* An answer to question (already redacted) from passages ps[n] (at most
 * SP_AI_CONTEXT_PASSAGES are sent); tools may be NULL. staff: the asker is
 * staff (domain/party), and the instructions are worded for them (no
 * "ask for an agent"); false: for a customer.
 * SP_UNAVAILABLE (503 dependency_unavailable) when the model did not
 * answer usably within the budget. */
enum sp_rc sp_ai_provider_answer(struct sp_arena *a, const struct sp_ai_provider *pv,
                                 const char *question, bool staff,
                                 const struct sp_ai_passage *ps, size_t n,
                                 const struct sp_ai_tool_runner *tools,
                                 struct sp_ai_generation *out, struct sp_problem *p);

#endif
