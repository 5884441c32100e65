/*
 * ticket_route: routing a ticket that already exists (API.md §5.3–5.4).
 * Routing runs at creation (domain/tickets.c); a ticket nobody was free
 * for then waits, left to routing, and is routed later as it would have
 * been at creation: when an agent it could go to becomes available (the
 * agent's own PATCH, an admin's create or PATCH of the agent), by the
 * ticket-sla-monitor's pass (domain/sla_monitor.c), and when an agent's
 * PATCH files an unassigned ticket under a routed category. The
 * assignment is the one creation writes: `assigned` by the system with
 * metadata.routing and ticket.assigned for the agent (a later change
 * also sends ticket.updated, as every change does).
 * Must not: know HTTP; open a transaction (its callers own theirs).
 */
#ifndef SP_TICKET_ROUTE_H
#define SP_TICKET_ROUTE_H

#include <stdbool.h>

#include "domain/ticket_state.h"

/* Routes the ticket of c (locked) by its category's routing, team and
 * skill, as sp_route_ticket picks for a new ticket of that category
 * (ctx->agent_max_open the cap): an assigned, resolved or closed ticket,
 * or a category that does not route, is left alone. Nobody free leaves
 * it unassigned and left to routing (it waits for an agent). *routed:
 * whether it got an agent. */
enum sp_rc sp_ticket_route(struct sp_ticket_change *c, const char *routing, const char *team,
                           const char *skill, bool *routed, struct sp_problem *p);

/* Agent agent_id may have become available (status active, created, a
 * new team or skills): the tickets left to routing that it could be
 * routed (sp_route_ticket_waiting: the soonest due first, at most
 * SP_ROUTE_HANDOUT_MAX and its free places) are assigned to it now (the
 * assigned event with metadata.routing, by the system), in the caller's
 * transaction. Each agent back takes its own share: two agents back at
 * once share the backlog, the second taking what the first left. */
enum sp_rc sp_ticket_route_waiting(struct sp_ctx *ctx, long long agent_id,
                                   struct sp_problem *p);

/* The agent whose place under the open-ticket cap change c (applied or
 * not) frees: the ticket was open, in progress or pending the customer
 * with it and is resolved, closed, unassigned or another's now. 0:
 * nobody's place is freed. */
long long sp_ticket_route_freed(const struct sp_ticket_change *c);

/* Agent agent_id has a place free, a change of a ticket of theirs having
 * just committed (sp_ticket_route_freed): the tickets left to routing it
 * may take are handed to it at once, as sp_ticket_route_waiting does
 * (none when away or deactivated), rather than at the monitor's next
 * pass. In a transaction of its own, after the change's: the change may
 * hold another agent's row (a reassignment), and a hand-out takes its
 * pick locks before any agent's row, as every pick does. The change
 * stands whatever this meets: a failure is logged and the monitor's
 * pass routes those tickets. Nothing for agent_id 0. */
void sp_ticket_route_freed_hand_out(struct sp_ctx *ctx, long long agent_id);

/* Locks (FOR UPDATE, in id order, until the caller's transaction ends)
 * the tickets agent_id is working on: open, in progress or pending the
 * customer. Taken by a write that will unassign them before any pick lock
 * or the agent's row, the order every writer of a ticket takes them in
 * (the ticket, then routing's locks, then the agent). */
enum sp_rc sp_ticket_route_lock_held(struct sp_ctx *ctx, long long agent_id,
                                     struct sp_problem *p);

/* Hands back every ticket agent_id is working on (as
 * sp_ticket_route_lock_held finds them, locked again: those assigned
 * since are found too): unassigned by the system with an `unassigned`
 * event whose metadata.reason is reason, and left to routing, for the
 * ticket-sla-monitor's pass or an agent who becomes available to route
 * (API.md §5.3–5.4 "Waiting tickets"). In the caller's transaction. */
enum sp_rc sp_ticket_route_hand_back(struct sp_ctx *ctx, long long agent_id, const char *reason,
                                     struct sp_problem *p);

#endif
