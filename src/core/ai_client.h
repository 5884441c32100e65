/*
 * ai_client: the wire of an OpenAI-compatible model server (API.md §9) —
 * POST {base}/chat/completions and POST {base}/embeddings, as OpenAI,
 * vLLM, llama.cpp's server, Ollama and LiteLLM speak them: the request
 * JSON, the bearer key, and the answer read back (the message, its
 * tool_calls, the usage; the vectors, normalised to length 1). Calls go
 * through core/service_client: its timeouts, a budget for the whole call
 * and retries after 5xx/429 or no answer, with backoff (both POSTs only
 * compute, so a retry cannot do anything twice).
 *
 * Blocking. The caller decides what is sent: nothing here redacts.
 * Must not: know SQL, the knowledge base, prompts or tools' meaning; log;
 * put the key anywhere but the Authorization header.
 */
#ifndef SP_AI_CLIENT_H
#define SP_AI_CLIENT_H

#include <stddef.h>

#include "core/problem.h"
#include "core/service_client.h"

struct sp_arena;

#define SP_AI_TOOL_CALLS_MAX 8   /* function calls of one answer read */
#define SP_AI_USAGE_MAX 2147483647L   /* a usage count read is at most this (int32) */

struct sp_ai_endpoint {
    struct sp_service svc;   /* base_url (…/v1), key, timeout per attempt */
    long budget_ms;          /* the whole call, retries included */
    const char *path;        /* appended to base_url: "/chat/completions", "/embeddings", "" */
    const char *model;
};

/* One message of a conversation. content NULL is JSON null (an assistant
 * turn that only asks for tools). */
struct sp_ai_message {
    const char *role;            /* "system", "user", "assistant", "tool" */
    const char *content;
    const char *tool_calls_json; /* assistant: the tool_calls array as received; else NULL */
    const char *tool_call_id;    /* tool: the call this answers; else NULL */
};

/* A function the model asks to be run: arguments is its JSON text. */
struct sp_ai_tool_call {
    const char *id, *name, *arguments;
};

struct sp_ai_chat_reply {
    const char *content;         /* "" when the message has none */
    const char *finish_reason;   /* "stop", "length", "tool_calls", … ("" when absent) */
    const char *model;           /* the model the server says answered ("" when absent) */
    long prompt_tokens, completion_tokens;   /* from usage (integral numbers, 0 when absent,
                                              * at most SP_AI_USAGE_MAX) */
    struct sp_ai_tool_call *tool_calls;      /* arena array of ntool_calls (named calls, */
    size_t ntool_calls;                      /* at most SP_AI_TOOL_CALLS_MAX) */
    const char *tool_calls_json; /* those calls as received (to send back), NULL when none */
    int attempts;
};

/* One chat completion of msgs[n] with the endpoint's model; tools_json
 * (NULL: none) is the "tools" array offered, tool_choice (NULL: not sent)
 * the "tool_choice" string ("none": answer in text); max_tokens 0: the
 * server's default. SP_UNAVAILABLE (503 dependency_unavailable, the detail says
 * why: no answer, a status, an unreadable body) when no usable answer
 * came within the budget. */
enum sp_rc sp_ai_chat(struct sp_arena *a, const struct sp_ai_endpoint *ep,
                      const struct sp_ai_message *msgs, size_t n, const char *tools_json,
                      const char *tool_choice, long max_tokens, struct sp_ai_chat_reply *out,
                      struct sp_problem *p);

/* The vectors of texts[n], in requests of at most batch texts: out[i]
 * (arena) has *dim floats, L2-normalised. SP_UNAVAILABLE as above, also
 * when the vectors' dimensions differ or exceed SP_EMBED_DIM_MAX. */
enum sp_rc sp_ai_embeddings(struct sp_arena *a, const struct sp_ai_endpoint *ep,
                            const char *const *texts, size_t n, size_t batch, float **out,
                            size_t *dim, struct sp_problem *p);

#endif
