/*
 * ai_context: the context of an AI call (API.md §9) — a chat session or a
 * ticket the caller may see — for the query and the tools: a customer's
 * own session or ticket (another's is 404), the assigned agent's session
 * (else 403), any session for an admin, any ticket for agents.
 * Holds no SQL; never includes db/.
 */
#ifndef SP_API_AI_CONTEXT_H
#define SP_API_AI_CONTEXT_H

#include <stdbool.h>

#include "core/problem.h"
#include "domain/chat_sessions.h"
#include "http/http.h"

struct sp_ai_context {
    bool chat;                       /* a chat session is the context */
    struct sp_chat_session session;
    long long session_id, ticket_id; /* numeric ids; 0 = none */
};

/* Resolves session_id and/or ticket_id (NULL: not given) into *c. */
enum sp_rc sp_api_ai_context(struct sp_req *r, const char *session_id, const char *ticket_id,
                             struct sp_ai_context *c, struct sp_problem *p);

#endif
