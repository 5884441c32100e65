/*
 * routing: who gets a new ticket (API.md §5.4). Categories route `manual`
 * (nobody), `round_robin` (the active agent of the team assigned least
 * recently) or `skill` (among active agents with the skill: fewest open
 * tickets, then least recently assigned). Away agents are never picked, nor
 * agents at their open-ticket capacity. The pick locks the agent row with
 * FOR UPDATE SKIP LOCKED and stamps last_assigned_at in the caller's
 * transaction, so concurrent creations never hand out the same "next"
 * agent twice. A chat an agent takes by hand (accept, transfer) is
 * checked against the same capacity under the same per-team lock.
 * Must not: know HTTP.
 */
#ifndef SP_ROUTING_H
#define SP_ROUTING_H

#include <stdbool.h>

#include "core/problem.h"
#include "domain/ctx.h"

/* *agent_id = 0 when the routing is manual or nobody is free. */
enum sp_rc sp_route_ticket(struct sp_ctx *ctx, const char *routing, const char *team,
                           const char *skill, long max_open, long long *agent_id,
                           struct sp_problem *p);

/* A chat's agent: the active agent of the team with the fewest active
 * chats below max_concurrent_chats, then least recently assigned; 0 when
 * nobody is free. Serialized per team like ticket picks. */
enum sp_rc sp_route_chat(struct sp_ctx *ctx, const char *team, long long *agent_id,
                         struct sp_problem *p);

/* Whether agent_id can take one more chat (active, below
 * max_concurrent_chats, counted as sp_route_chat counts), serialized with
 * the chat picks of the agent's team until the transaction ends. *known
 * false when there is no such agent. */
enum sp_rc sp_route_chat_room(struct sp_ctx *ctx, long long agent_id, bool *room, bool *known,
                              struct sp_problem *p);

#endif
