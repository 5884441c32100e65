/*
 * routing: who gets a new ticket or chat (API.md §5.4, §7). Categories
 * route `manual` (nobody), `round_robin` (the active agent of the team
 * assigned least recently) or `skill` (among active agents with the skill,
 * whatever their team: fewest open tickets, then least recently assigned).
 * Away agents are never picked, nor agents an admin deactivated
 * (SP_AGENT_ROUTABLE), nor agents at their open-ticket capacity.
 * Chats choose among the same agents by the same routing, by their chat
 * capacity instead. Picks of one team (or skill) are serialized by a
 * transaction-level advisory lock and stamp last_assigned_at in the
 * caller's transaction, so concurrent creations never hand out the same
 * "next" agent twice. A ticket made from a chat stays with the chat's
 * agent (under the same open-ticket cap, away or not) before any pick.
 * A chat an agent takes by hand (accept, transfer) is
 * checked against the same capacity under the same per-team lock, and so
 * is an agent who becomes free taking the waiting chats the same routing
 * would give them (sp_route_chat_waiting). Tickets nobody was free for
 * wait, left to routing, for an agent who becomes available
 * (sp_route_ticket_waiting) or the ticket-sla-monitor's pass.
 * Must not: know HTTP.
 */
#ifndef SP_ROUTING_H
#define SP_ROUTING_H

#include <stdbool.h>
#include <stddef.h>

#include "core/problem.h"
#include "domain/ctx.h"

/* Whether a category of this routing (and required_skill) routes at all:
 * round_robin, or skill with its skill; manual (or none) does not. */
bool sp_route_routes(const char *routing, const char *skill);

/* *agent_id = 0 when the routing is manual or nobody is free. keep: the
 * agent whose work the ticket continues (the agent of the chat it is
 * made from; 0: none): it stays theirs, whatever the category's routing
 * and whether they are active or away, unless an admin deactivated them (a
 * ticket waits for them; the customer's conversation is not handed to
 * someone who never saw it),
 * while they are below max_open — stamped like a routed pick. Otherwise
 * (or an agent deleted since: the chat's agent is then 0) it is routed. */
enum sp_rc sp_route_ticket(struct sp_ctx *ctx, const char *routing, const char *team,
                           const char *skill, long max_open, long long keep,
                           long long *agent_id, struct sp_problem *p);

/* A chat's agent, among the agents a category's routing names as for a
 * ticket: `skill`, the active agents with the skill whatever their team
 * (nobody when the category names no skill); otherwise the active agents
 * of the team (NULL: general). Whether `manual` routes at all is the
 * caller's. Of those, the one with the fewest active chats below
 * max_concurrent_chats, then least recently assigned; 0 when nobody is
 * free. Never `exclude` (the agent a transfer moves the chat from; 0:
 * none), so a transfer finds another agent even when the current one is
 * the least loaded. Serialized per team like ticket picks (a skill's
 * pick: per team of every agent with the skill). */
enum sp_rc sp_route_chat(struct sp_ctx *ctx, const char *routing, const char *team,
                         const char *skill, long long exclude, long long *agent_id,
                         struct sp_problem *p);

/* Whether agent_id can take one more chat, and if not why, so a refusal
 * can say which (QA: "away or at max_concurrent_chats" left the caller
 * guessing). */
enum sp_chat_room {
    SP_CHAT_ROOM_FREE,      /* active, below max_concurrent_chats */
    SP_CHAT_ROOM_AWAY,      /* status away (or any but active) */
    SP_CHAT_ROOM_FULL,      /* active, at max_concurrent_chats */
    SP_CHAT_ROOM_UNKNOWN,   /* no such agent */
    SP_CHAT_ROOM_DEACTIVATED, /* deactivated by an admin (whatever its status) */
};
/* Counted as sp_route_chat counts, serialized with the chat picks of the
 * agent's team until the transaction ends. *max: the agent's
 * max_concurrent_chats (for the refusal's words). */
enum sp_rc sp_route_chat_room(struct sp_ctx *ctx, long long agent_id, enum sp_chat_room *room,
                              int *max, struct sp_problem *p);
/* The refusal for an agent that has no room: 409 agent_unavailable naming
 * the agent (who: "the agent" or "agent 12") and why. */
enum sp_rc sp_route_chat_no_room(struct sp_problem *p, const char *who, enum sp_chat_room room,
                                 int max);

/* Takes, before a transfer of a chat from agent `from` (0: none) to agent
 * `to` (0: whoever sp_route_chat picks by routing, team and skill), every
 * chat lock the transfer will take, in one order, so that two transfers
 * never wait for each other's. */
enum sp_rc sp_route_chat_transfer_locks(struct sp_ctx *ctx, long long from, long long to,
                                        const char *routing, const char *team,
                                        const char *skill, struct sp_problem *p);

/* Taken by a write of an agent's row before the row (its patch, its own
 * status change): every pick lock a pick that could hand the agent work
 * holds while it writes that row (last_assigned_at), as the agent stands
 * (agent_id, or 0 and user_id) and as the write makes it (team and
 * skills_json, a JSON array; NULL: unchanged). Every pick takes its lock
 * before the agent's row; a write that took the row first and then, to
 * hand out waiting tickets and chats, the lock, could each hold what the
 * other waited for (a deadlock, answered 503). Until the transaction
 * ends. */
enum sp_rc sp_route_agent_write_locks(struct sp_ctx *ctx, long long agent_id,
                                      const char *user_id, const char *team,
                                      const char *skills_json, struct sp_problem *p);

/* A waiting chat an agent may take (sp_route_chat_waiting). */
struct sp_waiting_chat {
    const char *id;                  /* the session's id, decimal text */
    const char *public_id;
};

/* The waiting chats agent_id may take now that it may have become free
 * (a chat of theirs closed or transferred away, status active, more
 * max_concurrent_chats): those a new chat of their category would be
 * routed to them for (as sp_route_chat chooses: skill, else team; never
 * manual), oldest first, at most their free chat places (none when away
 * or unknown). Under the agent's team lock (sp_route_chat_room) and
 * locked row by row, skipping chats another transaction holds, until the
 * caller's transaction ends; assigning them is the caller's. */
enum sp_rc sp_route_chat_waiting(struct sp_ctx *ctx, long long agent_id,
                                 struct sp_waiting_chat **out, size_t *n, struct sp_problem *p);

/* The most waiting tickets one agent's becoming available hands out at
 * once (sp_route_ticket_waiting): an agent back from away is not handed
 * the whole backlog in one go; the monitor's next pass goes on. */
#define SP_ROUTE_HANDOUT_MAX 10

/* A waiting ticket an agent may be routed (sp_route_ticket_waiting). */
struct sp_waiting_ticket {
    long long id;
    const char *routing, *team, *skill;  /* its category's */
};

/* The tickets left to routing that agent_id, now that it may have become
 * available (status active, a new team or skills, created), could be
 * routed as a new ticket of their category would be (skill, else team;
 * never manual): the soonest due first, at most SP_ROUTE_HANDOUT_MAX and
 * the agent's free places under ctx->agent_max_open (none when away or
 * unknown). Holds every pick lock their routing takes (in key order, so
 * the picks that follow never wait for each other's) and the rows, locked
 * one by one, skipping tickets another transaction holds, until the
 * caller's transaction ends; routing them is the caller's. */
enum sp_rc sp_route_ticket_waiting(struct sp_ctx *ctx, long long agent_id,
                                   struct sp_waiting_ticket **out, size_t *n,
                                   struct sp_problem *p);

/* The most agents told of a ticket of a skill nobody holds (below): a
 * notice to those who can act, not a broadcast. */
#define SP_ROUTE_TAKERS_MAX 10

/* Whom a staff notification reaches when no one agent is its addressee
 * (a new ticket nobody was free for, an SLA warning or breach, a chat
 * transfer's "team" row; API.md §11): in a category routed by skill
 * without a team, the active agents holding its skill, but `except`
 * (0: none), the least loaded first as skill routing picks them, at most
 * SP_ROUTE_TAKERS_MAX, channel "agent" (ids as decimal text); else, or
 * when nobody active holds the skill, the category's team ("general"
 * without one), channel "team", one recipient. */
struct sp_route_staff {
    const char *channel;           /* "agent" | "team" */
    const char *const *recipients; /* n of them */
    size_t n;
};
enum sp_rc sp_route_staff_to(struct sp_ctx *ctx, const char *routing, const char *team,
                             const char *skill, long long except, struct sp_route_staff *out,
                             struct sp_problem *p);

#endif
