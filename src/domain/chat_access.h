/*
 * chat_access: who may keep listening to a live chat (API.md §7,
 * docs/chat-transport.md §14). Every authorized connect records a grant
 * (session, principal, until when its credentials hold); losing access
 * disconnects the principal from the session through the chat bus:
 *   - credentials expired (JWT exp, session token = session expiry): a
 *     sweep, at most every SP_CHAT_ACCESS_SWEEP_S per process, run from
 *     the chat hooks and the HTTP chat endpoints; and, before every
 *     server-side publish to a session, that session's own expired grants
 *     (so nobody hears a frame published after their access ended, however
 *     long the global sweep's backlog);
 *   - an agent transferred away: at once, after the transfer committed;
 *   - an agent (or admin) deactivated: every session, at once, after the
 *     deactivation committed;
 *   - the session closed: every subscriber, at once.
 * A disconnected client reconnects and is authorized again: refused when
 * it has lost access, resumed (Last-Event-ID) when it has not.
 * Disconnecting = deleting the grant's access channel; a publish right
 * after a disconnect waits SP_CHAT_ACCESS_SETTLE_MS (nchan still sends
 * data to a closing websocket for 250 ms).
 * Must not: know HTTP requests.
 */
#ifndef SP_CHAT_ACCESS_H
#define SP_CHAT_ACCESS_H

#include "core/problem.h"
#include "domain/chat_bus.h"
#include "domain/ctx.h"

#define SP_CHAT_ACCESS_SWEEP_S 2
/* Random bytes of an access name (hex: twice as many characters). */
#define SP_CHAT_ACCESS_NONCE_BYTES 8
/* How long a publish waits after a disconnect (chat_access.c). */
#define SP_CHAT_ACCESS_SETTLE_MS 400

/* Records (or extends) principal's grant on the session until
 * expires_epoch (seconds); *access: "<principal>.<random>", the name of
 * the grant's access channel (session "<sid>.<access>"), which every
 * connection of the grant subscribes to and which revoking deletes.
 * A new grant (none live) gets a new name, so no channel nchan ever
 * deleted is subscribed to again: nchan 1.3.6's memory store, with more
 * than one nginx worker, leaves a deleted channel's copy on the other
 * workers linked to an owner that no longer has it, and a later delete
 * of the same name never reaches those subscribers
 * (docs/chat-transport.md §14). */
enum sp_rc sp_chat_access_grant(struct sp_ctx *ctx, const char *session_id,
                                const char *principal, long long expires_epoch,
                                const char **access, struct sp_problem *p);

/* After a transfer committed: every agent principal of the session other
 * than keep_agent_id's loses its grant and is disconnected. Admins stay. */
void sp_chat_access_revoke_agents(struct sp_ctx *ctx, const char *session_id,
                                  long long keep_agent_id);

/* After principal's credentials for the session were replaced (a
 * customer's session token rotated): its grants go and its connections
 * are disconnected; it reconnects with the new credentials. */
void sp_chat_access_revoke_principal(struct sp_ctx *ctx, const char *session_id,
                                     const char *principal);

/* After agent agent_id's deactivation committed: its user loses every
 * grant, as an agent and as an admin, on every session, and is
 * disconnected; a reconnect is refused (403 agent_deactivated). */
void sp_chat_access_revoke_agent(struct sp_ctx *ctx, long long agent_id);

/* After a close committed: everybody is disconnected (the grants expire
 * on their own; authorization refuses a closed session anyway). */
void sp_chat_access_revoke_session(const char *session_id);

/* The expired grants (at most 200 a pass), deleted and disconnected;
 * skipped when this process swept less than SP_CHAT_ACCESS_SWEEP_S ago.
 * Best effort: a failure is logged, never reported. */
void sp_chat_access_sweep_maybe(struct sp_ctx *ctx);

/* The session's expired grants, deleted and disconnected, at once: called
 * before a server-side publish to the session (an HTTP send, a system
 * frame), outside any transaction. Best effort, like the sweep. */
void sp_chat_access_sweep_session(struct sp_ctx *ctx, const char *session_id);

/* A system frame to the session's subscribers, after the change that
 * stored its message committed: the session's expired listeners leave
 * first (sp_chat_access_sweep_session), and the frame carries the stored
 * message (id, body, created_at; extra->stored is filled here). Best
 * effort: a failure is logged, never reported. */
void sp_chat_access_publish_system(struct sp_ctx *ctx, const char *session_id,
                                   const char *event, const struct sp_chat_system_extra *extra);

/* The agent_joined frame of each chat a command noted in its
 * ctx->chat_joins (routed to an agent who became free; chat_sessions.h),
 * after it committed, as sp_chat_access_publish_system publishes one; for
 * a chat noted with another event (agent_left: its agent deactivated),
 * that frame, after every agent connected to it is disconnected. */
struct sp_chat_joins;
void sp_chat_access_publish_joins(struct sp_ctx *ctx, const struct sp_chat_joins *joins);

#endif
