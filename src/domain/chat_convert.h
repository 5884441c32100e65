/*
 * chat_convert: a chat session becomes a ticket (API.md §7, §12) — the
 * transcript as the ticket's description (the chat's attachments listed
 * on its first message), the two linked both ways, a
 * `ticket_created` system message in the chat; as a command of its own
 * (a customer's or agent's transfer to a ticket) or as the
 * chat-session-archive job's step for one idle session (converted, then
 * closed); or the customer's own ticket naming the chat (§4: their
 * description, then the transcript). Every way, the ticket stays with
 * the chat's agent when it has one who can take it (sp_route_ticket's
 * keep), else it is routed. Publishing `ticket_created` and
 * `closed` is the caller's, after commit.
 * Must not: know HTTP or nchan; rate limit (the caller decides who is).
 */
#ifndef SP_CHAT_CONVERT_H
#define SP_CHAT_CONVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/problem.h"
#include "core/tier.h"
#include "domain/ctx.h"
#include "domain/tickets.h"

/* A chat has no length limit (60 messages a minute for 24 h), a ticket
 * description must have one: the transcript keeps the newest messages
 * whose bodies fit in this many bytes (API.md §7), after a note saying
 * how many earlier ones were left out and where the full history is. */
#define SP_CHAT_TRANSCRIPT_MAX 65536

/* Turns the session into a ticket (source chat, the transcript as its
 * description, linked both ways, a ticket_created system message) in the
 * caller's transaction; a session that already has one returns it with
 * *created false, as viewer sees it: viewer is the customer who asks
 * (their view, read as GET /support/tickets/:id reads it: no internal
 * notes), NULL for agents, admins and jobs (the agent view). tier: the
 * customer's, for the rules engine, when the caller has it fresh (the
 * customer's own token); NULL reads the tier stored with their contact
 * (support_contacts: the token of their last ticket or chat), standard
 * when there is none — an agent, an admin or the archive job has no token of the
 * customer's. A ticket made without a viewer (an agent's, an admin's or
 * the archive job's) queues the customer's chat.escalated notification
 * with it, on ctx->customer_channels. Not rate limited here: the caller
 * decides who is (API.md §7). actor_agent_id: the agent row of the
 * agent or admin who asks, 0 for a customer: that agent, when routing
 * gives them the ticket (their own chat's), is not told of it. */
enum sp_rc sp_chat_to_ticket(struct sp_ctx *ctx, const char *public_id, const enum sp_tier *tier,
                             const char *viewer, long long actor_agent_id, struct sp_ticket *out,
                             bool *created, struct sp_problem *p);

/* sp_chat_to_ticket() as a command: in a transaction of its own. */
enum sp_rc sp_chat_convert(struct sp_ctx *ctx, const char *public_id, const enum sp_tier *tier,
                           const char *viewer, long long actor_agent_id, struct sp_ticket *out,
                           bool *created, struct sp_problem *p);

/* A customer's ticket that names their chat (POST /support/tickets with
 * chat_session_id, API.md §4), in the caller's transaction (the create
 * protocol's): the ticket `in` as sp_ticket_create makes it, but with the
 * transcript after the customer's description (the same transcript
 * conversion makes), the customer's uploads ids[0..n) then the chat's
 * files on its first message, and the session linked to it as
 * sp_chat_to_ticket links it (ticket_created system message; publishing
 * it is the caller's, after commit). The session, locked, must be
 * in->customer_id's (else SP_INVALID, field chat_session_id
 * unknown_session) and have no ticket yet (else SP_CONFLICT
 * chat_already_linked: the detail names the ticket). */
enum sp_rc sp_chat_ticket_create(struct sp_ctx *ctx, const char *session_public_id,
                                 const struct sp_ticket_new *in, const char *const *ids,
                                 size_t n, struct sp_ticket *out, struct sp_problem *p);

/* The archive job's step for one session, in the caller's transaction:
 * if it is still open and idle since before idle_before_ms (or expired
 * at now_ms), a session with customer messages and no ticket becomes one,
 * then it closes. *archived false when it was busy (locked), reopened by
 * activity, or already closed. */
enum sp_rc sp_chat_archive_one(struct sp_ctx *ctx, long long session_id, int64_t now_ms,
                               int64_t idle_before_ms, bool *archived, bool *converted,
                               struct sp_problem *p);

#endif
