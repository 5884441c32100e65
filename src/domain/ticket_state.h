/*
 * ticket_state: the lifecycle service — the one way a ticket changes after
 * it exists (agent PATCH, replies, claim, escalation, the customer's
 * reopen, jobs). A caller locks the ticket (sp_ticket_lock), edits a copy
 * of its state through the helpers below — which consult lifecycle.c's
 * transition table and sla.c's arithmetic and queue the matching events —
 * and persists it with sp_ticket_apply: the row, its events (actor_type,
 * performed_by, metadata from/to), an optional message and outbox rows in
 * one statement inside the caller's transaction; version and updated_at
 * move when the change is one a view shows (not for the SLA monitor's
 * bookkeeping: a warning, a breach that changes no field).
 * Must not: know HTTP; decide who may act (the API layer checks roles).
 */
#ifndef SP_TICKET_STATE_H
#define SP_TICKET_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/problem.h"
#include "core/versions.h"
#include "domain/ctx.h"
#include "domain/lifecycle.h"
#include "domain/sla.h"

/* A message's sender_name (API.md §4), SQL over a message row m: an
 * agent's message is stored with the staff user id (ticket_apply's
 * actor), so its name is one probe of support_agents' unique user_id
 * index per agent message, in the statement that reads or writes it;
 * other senders look nothing up. */
#define SP_MESSAGE_SENDER_NAME                                                             \
    "CASE WHEN m.sender_type = 'agent' THEN (SELECT g.display_name FROM support_agents g" \
    " WHERE g.user_id = m.sender_id) END"

/* Who acts, for events: actor_type and performed_by. */
struct sp_actor {
    const char *type;      /* customer | agent | system | ai_bot */
    const char *id;        /* user id (JWT sub) or NULL for system */
};

/* A reference from a URL: all digits = numeric id, else public id, read
 * in any case (core/ids.h sp_public_id_read) and kept in its canonical
 * form in arena a; what is no public id is kept as written (no ticket
 * has it: 404). if_match: the versions a write accepts (If-Match; zero,
 * as the parse leaves it: any), checked by sp_ticket_lock, so that every
 * write of a ticket honours it at the one point where the version read is
 * the one written on. */
struct sp_ticket_ref {
    long long id;
    const char *public_id;
    struct sp_versions if_match;
};
void sp_ticket_ref_parse(struct sp_arena *a, const char *s, struct sp_ticket_ref *out);

struct sp_ticket_state {
    long long id;
    const char *public_id;
    const char *customer_id;
    enum sp_status status;
    enum sp_priority priority;
    long long category_id;        /* 0 = none */
    long long assigned_agent_id;  /* 0 = none */
    long long provider_id;        /* 0 = none */
    const char *booking_id;       /* NULL = none */
    long long version;
    int64_t escalated_at;         /* ms; 0 = never */
    /* Nobody decided its assignee yet: created unassigned, routing may
     * still give it to an agent who becomes available (sql/070). Any
     * assignment or unassignment clears it; a close too. */
    bool left_to_routing;
    struct sp_sla sla;
};

/* What sp_ticket_apply writes besides the columns. */
struct sp_ticket_change {
    struct sp_ctx *ctx;
    struct sp_ticket_state before, after;
    struct sp_actor actor;
    struct sp_buf events;         /* JSON array body of {event_type, metadata} */
    struct sp_buf outbox;         /* JSON array body of outbox rows */
    size_t nevents;
    /* optional message */
    const char *message_body;
    const char *message_sender_type;
    bool message_internal;
};

/* Locks the row (FOR UPDATE, inside the caller's transaction). A
 * customer_id limits it to that customer's tickets (others: not found).
 * SP_PRECONDITION precondition_failed when ref->if_match does not hold
 * the ticket's version (nothing is written: the caller rolls back). */
enum sp_rc sp_ticket_lock(struct sp_ctx *ctx, const struct sp_ticket_ref *ref,
                          const char *customer_id, struct sp_ticket_state *out,
                          struct sp_problem *p);

void sp_ticket_change_init(struct sp_ticket_change *c, struct sp_ctx *ctx,
                           const struct sp_ticket_state *locked, struct sp_actor actor);

/* Each returns SP_OK (also when nothing changes) or a problem:
 * invalid_transition (409) for a move the table refuses. */
enum sp_rc sp_ticket_set_status(struct sp_ticket_change *c, enum sp_status to, int64_t now,
                                struct sp_problem *p);
/* Moves the customer's way (API.md §4): pending_customer/resolved back to
 * in_progress, or open when unassigned. */
void sp_ticket_customer_reopen(struct sp_ticket_change *c, int64_t now);
/* New SLA targets are looked up for the new priority/category; a target
 * missed by now keeps its due (sp_sla_retarget()). */
enum sp_rc sp_ticket_set_priority(struct sp_ticket_change *c, enum sp_priority to,
                                  const char *reason, int64_t now, struct sp_problem *p);
enum sp_rc sp_ticket_set_category(struct sp_ticket_change *c, long long category_id,
                                  const char *from_slug, const char *to_slug, int64_t now,
                                  struct sp_problem *p);
/* 0 unassigns; notifies the new assignee through the outbox unless self:
 * the actor assigns themselves (claim, reply, PATCH), and an agent needs
 * no mail about what they just did (API.md §11). */
void sp_ticket_set_assignee(struct sp_ticket_change *c, long long agent_id, bool self);
/* Routing's assignment of an unassigned ticket, as at its creation
 * (API.md §5.3–5.4): the `assigned` event by the system (whoever the
 * change's actor) with metadata.routing, and ticket.assigned for the
 * agent. Clears left_to_routing. */
void sp_ticket_set_assignee_routed(struct sp_ticket_change *c, long long agent_id);
/* Unassigns the ticket for a reason that is nobody's decision about it
 * (its agent deactivated, API.md §6): the `unassigned` event by the
 * system (whoever the change's actor: a customer's reopening reply) with
 * metadata.reason, and the ticket left to routing again (sql/070), so
 * routing hands it on as it would a new one. Nothing when unassigned. */
void sp_ticket_hand_back(struct sp_ticket_change *c, const char *reason);
/* Adds an event of any type with a metadata object (JSON text). */
void sp_ticket_add_event(struct sp_ticket_change *c, const char *type, const char *metadata);
/* Where the next event goes, for sp_ticket_add_event_at. */
size_t sp_ticket_event_mark(const struct sp_ticket_change *c);
/* Adds an event before those added since mark: a cause whose metadata
 * names what its effects settled (an SLA breach and the targets its
 * priority raise flagged) is still recorded before them. */
void sp_ticket_add_event_at(struct sp_ticket_change *c, size_t mark, const char *type,
                            const char *metadata);
/* Starts the payload object every ticket event carries ({"ticket_id",
 * "public_id", ...): the caller adds its members and ends it. */
struct sp_jw;
void sp_ticket_payload_begin(struct sp_jw *w, struct sp_buf *b, const struct sp_ticket_state *t);
/* Adds an outbox row (payload is a JSON object text; NULL: {}). */
void sp_ticket_add_outbox(struct sp_ticket_change *c, const char *kind, const char *event_type,
                          const char *channel, const char *recipient, const char *payload);
/* The row itself, {kind, event_type, channel, recipient, payload},
 * appended to rows: a comma-separated list that the statement reads as a
 * JSON array once wrapped in [ ]. The one writer of outbox rows, for a
 * change (sp_ticket_add_outbox) and for a new ticket (domain/tickets.c). */
void sp_ticket_outbox_row(struct sp_buf *rows, const char *kind, const char *event_type,
                          const char *channel, const char *recipient, const char *payload);
/* A notification of the customer's: one row per channel of channels
 * (ctx->customer_channels), the recipient their id (the dispatcher finds
 * the address or phone in their stored contact, and skips the row when
 * it has none). The one writer of customer rows: ticket changes and a
 * chat's escalation into a ticket (domain/tickets.c). */
void sp_ticket_customer_rows(struct sp_buf *rows, unsigned channels, const char *event_type,
                             const char *customer_id, const char *payload);
/* The first public agent reply (SLA first response). */
void sp_ticket_first_response(struct sp_ticket_change *c, int64_t now);
void sp_ticket_set_message(struct sp_ticket_change *c, const char *sender_type, const char *body,
                           bool internal);

bool sp_ticket_changed(const struct sp_ticket_change *c);
/* Persists the change; fills *message_id / message_created_at when a
 * message was added (may be NULL). ticket.updated is queued for a change
 * with events that a view shows. */
enum sp_rc sp_ticket_apply(struct sp_ticket_change *c, long long *message_id,
                           const char **message_created_at, struct sp_problem *p);

/* The SLA policies a ticket of category category_expr (an SQL expression;
 * NULL for none) may use, as sp_sla_targets_pick() reads them: the
 * category's own rows first, then the priority defaults (API.md §5.2). */
#define SP_SLA_POLICIES_JSON(category_expr)                                          \
    "(SELECT coalesce(json_agg(json_build_object('priority', s.priority,"            \
    " 'first_response_minutes', s.first_response_minutes,"                            \
    " 'resolution_minutes', s.resolution_minutes)"                                    \
    " ORDER BY s.category_id NULLS LAST, s.priority), '[]')::text"                    \
    " FROM support_sla_policies s"                                                   \
    " WHERE s.category_id IS NULL OR s.category_id = " category_expr ")"

/* SLA targets for (priority, category): the category's policy row beats
 * the priority default (API.md §5.2). */
enum sp_rc sp_sla_targets_lookup(struct sp_ctx *ctx, enum sp_priority priority,
                                 long long category_id, struct sp_sla_targets *out,
                                 struct sp_problem *p);

#endif
