/*
 * ticket_work: what agents do to a ticket (API.md §5.5) — PATCH, replies
 * and internal notes, claim, escalation — each one transaction through the
 * lifecycle service (ticket_state.h).
 * Must not: know HTTP; check roles (the route table does).
 */
#ifndef SP_TICKET_WORK_H
#define SP_TICKET_WORK_H

#include <stdbool.h>

#include "domain/ticket_state.h"

struct sp_ticket_patch {
    bool has_status;
    enum sp_status status;
    bool has_priority;
    enum sp_priority priority;
    bool has_assignee;
    long long assignee;            /* 0 = unassign */
    bool has_category;
    const char *category_slug;     /* NULL = no category */
};

/* *ticket_id gets the ticket's numeric id (to read it back). */
enum sp_rc sp_ticket_patch(struct sp_ctx *ctx, const struct sp_ticket_ref *ref,
                           struct sp_actor actor, const struct sp_ticket_patch *patch,
                           long long *ticket_id, struct sp_problem *p);

/* Only on the way to a 422 (p holds the body's field errors): the
 * lookups of the patch's readable fields (its agent, its category) against
 * the ticket, in a transaction rolled back; their misses join p, so one
 * 422 lists every field error (API.md §1). A ticket that cannot be read
 * adds nothing: the 422 comes first, its 404 on the next try. */
void sp_ticket_patch_check(struct sp_ctx *ctx, const struct sp_ticket_ref *ref,
                           struct sp_actor actor, const struct sp_ticket_patch *patch,
                           struct sp_problem *p);

struct sp_agent_reply {
    long long agent_id;            /* the replier's support_agents id */
    const char *body;              /* sanitized */
    bool internal;
    bool has_status;
    enum sp_status status;
};
/* A reply or internal note, in the caller's transaction: the create
 * protocol's (sp_idem_run). */
enum sp_rc sp_ticket_agent_reply(struct sp_ctx *ctx, const struct sp_ticket_ref *ref,
                                 struct sp_actor actor, const struct sp_agent_reply *in,
                                 long long *message_id, const char **created_at,
                                 long long *ticket_id, struct sp_problem *p);

/* Assigns to agent_id; 409 already_assigned when someone else has it. */
enum sp_rc sp_ticket_claim(struct sp_ctx *ctx, const struct sp_ticket_ref *ref,
                           struct sp_actor actor, long long agent_id, long long *ticket_id,
                           struct sp_problem *p);

/* Escalates to provider operations: escalated_at, priority at least high,
 * event `escalated`, outbox notification + webhook ticket.escalated.
 * provider_id 0 = the ticket's own; none -> 422 no_provider. */
enum sp_rc sp_ticket_escalate(struct sp_ctx *ctx, const struct sp_ticket_ref *ref,
                              struct sp_actor actor, const char *reason, long long provider_id,
                              long long *ticket_id, struct sp_problem *p);

/* Only on the way to a 422 (p holds the body's field errors, and the body
 * names no provider_id): a ticket without a provider of its own adds the
 * field error provider_id no_provider, so one 422 lists it with the rest
 * (API.md §1); as sp_ticket_patch_check, in a transaction rolled back,
 * and a ticket that cannot be read adds nothing. */
void sp_ticket_escalate_check(struct sp_ctx *ctx, const struct sp_ticket_ref *ref,
                              struct sp_actor actor, struct sp_problem *p);

#endif
