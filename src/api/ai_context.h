/*
 * ai_context: the context of an AI call (API.md §9) — a chat session or a
 * ticket the caller may see — for the query and the tools: a customer's
 * own session or ticket (another's is 404), the assigned agent's session
 * (else 403), any session for an admin, any ticket for agents — and who
 * runs a tool in it (the request's principal: role, user, actor type,
 * the context) with the tools' settings, for direct runs and a
 * provider's function calls alike.
 * Holds no SQL; never includes db/.
 */
#ifndef SP_API_AI_CONTEXT_H
#define SP_API_AI_CONTEXT_H

#include <stdbool.h>

#include "core/json.h"
#include "core/problem.h"
#include "domain/ai_tools.h"
#include "domain/chat_sessions.h"
#include "http/http.h"

struct sp_ai_context {
    bool chat;                       /* a chat session is the context */
    struct sp_chat_session session;
    long long session_id, ticket_id; /* numeric ids; 0 = none */
    const char *ticket_public_id;    /* the ticket's, NULL = none (session.public_id: the chat's) */
};

/* The body fields that name the context, session_id and ticket_id, in
 * an endpoint's field table: one rule for the query and the tools. */
#define SP_API_AI_CONTEXT_FIELD(name)                                                        \
    {(name), SP_FIELD_STRING, false, true, 1, 64, NULL, 0, 0}

/* Resolves the session_id and/or ticket_id fields (absent: not given)
 * into *c. */
enum sp_rc sp_api_ai_context(struct sp_req *r, const struct sp_field_value *session_id,
                             const struct sp_field_value *ticket_id, struct sp_ai_context *c,
                             struct sp_problem *p);

/* The caller of a tool run in c: the principal's role and user; model
 * the one that asks (SP_AI_TOOL_MODEL_DIRECT or the provider's); key the
 * client's Idempotency-Key or NULL. */
struct sp_ai_tool_caller sp_api_ai_caller(const struct sp_req *r, const struct sp_ai_context *c,
                                          const char *model, const char *key);
/* The tools' settings (booking and payment services, refund limit). */
struct sp_ai_tools_env sp_api_ai_tools_env(const struct sp_req *r);

/* The caller's bucket of an AI limit: "<name>:<party key>" (the sub of a
 * customer, staff:<sub> of staff: a customer and an agent with one sub
 * count apart, as their uploads and Idempotency-Keys do). */
const char *sp_api_ai_bucket(struct sp_req *r, const char *name);

/* An AI endpoint's per-user limit (API.md §1): per_minute calls in the
 * bucket "<name>:<sub>", every call counted (a malformed one too, so it
 * is counted before the body is read). */
enum sp_rc sp_api_ai_rate_limit(struct sp_req *r, const char *name, long per_minute,
                                struct sp_problem *p);

#endif
