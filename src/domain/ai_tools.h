/*
 * ai_tools: the tools of the AI proxy (API.md §9) — one table of what
 * exists (id, description, JSON-Schema parameters, who may run it) and
 * the one way to run a tool for a caller, for POST
 * /support/ai/tools/:toolId and for a provider's function calls alike:
 *   kb_search           everyone: published articles by full-text search;
 *   ticket_status       customers their own tickets, agents any;
 *   booking_lookup,
 *   booking_reschedule  support_agent (and admin): the booking service;
 *   payment_refund      support_agent up to SUPPORT_REFUND_AGENT_LIMIT
 *                       (minor units), support_admin any amount: the
 *                       payment service.
 * A run: the tool is found (404), the role may run it (403), the
 * arguments match its schema (422, core/json_schema), its own rule holds
 * (the refund limit, 403), it runs — booking and payment calls through
 * core/service_client, writes with an Idempotency-Key — and it is logged:
 * one support_ai_interactions row (tool_id, model, redacted arguments and
 * result, latency, error, the caller's role, the query whose proposal it
 * confirms) and, with a ticket in context, the ticket event
 * `ai_tool_run`, both in one statement. Refusals before the run are not
 * logged (nothing ran).
 * Must not: know HTTP; decide who may see the context (the caller does).
 */
#ifndef SP_AI_TOOLS_H
#define SP_AI_TOOLS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/problem.h"
#include "core/service_client.h"
#include "domain/ctx.h"
#include "domain/party.h"

/* Who runs a tool (the JWT roles; admin implies agent). */
enum sp_ai_role { SP_AI_CUSTOMER, SP_AI_AGENT, SP_AI_ADMIN, SP_AI_ROLE_MAX };

#define SP_AI_TOOL_MODEL_DIRECT "tools"   /* model of runs asked for directly */

struct sp_ai_tool {
    const char *id;
    const char *description;
    const char *parameters;          /* JSON Schema (object) text */
    unsigned roles;                  /* bit (1u << enum sp_ai_role) per role */
};

/* Settings of a run (from the worker's config). */
struct sp_ai_tools_env {
    struct sp_service booking, payments;
    long long refund_agent_limit;    /* minor units an agent may refund */
    long budget_ms;                  /* a service call, retries included; 0: no bound */
};

struct sp_ai_tool_caller {
    enum sp_ai_role role;
    const char *user_id;             /* JWT sub */
    const char *actor_type;          /* of the ticket event: customer | agent | ai_bot */
    const char *model;               /* the model that asked; SP_AI_TOOL_MODEL_DIRECT */
    long long ticket_id, session_id; /* the context's numeric ids; 0 = none */
    const char *idempotency_key;     /* the client's, or NULL */
    struct sp_party owner;           /* whose that key is (sp_api_party) */
    /* The query whose proposal this run confirms (its interaction_id);
     * 0 = none. The row and the event name it when it is the caller's
     * own query in the same context, and not otherwise. */
    long long query_interaction_id;
};

struct sp_ai_tool_result {
    const char *tool;
    const char *result;              /* JSON object text (arena) */
    long long interaction_id;        /* the run's row; set when it failed too (0: none) */
};

/* The table, in a stable order; *n entries. */
const struct sp_ai_tool *sp_ai_tools(size_t *n);
const struct sp_ai_tool *sp_ai_tool_find(const char *id);
bool sp_ai_tool_allowed(const struct sp_ai_tool *t, enum sp_ai_role role);
/* "customer", "support_agent", "support_admin". */
const char *sp_ai_role_name(enum sp_ai_role role);
/* "customer", "agent", "admin": the query log's caller_role. */
const char *sp_ai_role_short_name(enum sp_ai_role role);
/* Whether t changes something elsewhere (booking_reschedule,
 * payment_refund): a model may only propose it (domain/ai_tool_calls). */
bool sp_ai_tool_writes(const struct sp_ai_tool *t);

/* Runs tool_id with args (the "arguments" object; NULL: none) for who.
 * 404 not_found (no such tool), 403 forbidden (role, refund limit), 422
 * validation_failed (field errors "arguments.<name>"), 422
 * idempotency_key_reused (who's key with another request), the service's
 * refusals (404 not_found, 409 dependency_refused), 503
 * dependency_unavailable (service down, slow or not configured). */
/* The checks of sp_ai_tool_run() before anything runs (404, 403, 422,
 * the refund limit), and nothing else: nothing runs or is logged. */
enum sp_rc sp_ai_tool_check(struct sp_ctx *ctx, const struct sp_ai_tools_env *env,
                            const struct sp_ai_tool_caller *who, const char *tool_id,
                            struct json_object *args, struct sp_problem *p);
enum sp_rc sp_ai_tool_run(struct sp_ctx *ctx, const struct sp_ai_tools_env *env,
                          const struct sp_ai_tool_caller *who, const char *tool_id,
                          struct json_object *args, struct sp_ai_tool_result *out,
                          struct sp_problem *p);

#endif
