/*
 * chat_presence: who is connected to a live chat (docs/chat-transport.md
 * §8). One row per connection of a participant (session, principal =
 * customer-<sub> | agent-<sub> | admin-<sub>, connection id). A
 * participant is "online" while it has a row seen within timeout_s in
 * state online, "away" while all its fresh rows are away, else "offline".
 * Changes are told to the other participants on their private channels
 * (never the session channel: no echo to the participant itself, and the
 * session's catch-up buffer holds only what clients sent) — but for a
 * client's own presence frame, which the transport relays as the frame
 * (sp_chat_presence_record, then the hook's answer). Best effort:
 * a failure is logged here and never fails the caller.
 * Callers pass what they know of the connection (struct
 * sp_chat_presence_conn) and the timeout from the settings.
 * Must not: know HTTP requests (the chat transport reads the headers and
 * answers the hooks).
 */
#ifndef SP_CHAT_PRESENCE_H
#define SP_CHAT_PRESENCE_H

#include <stdbool.h>

#include "core/arena.h"
#include "core/json_writer.h"
#include "domain/ctx.h"

/* One connection of a participant. */
struct sp_chat_presence_conn {
    const char *session_id;          /* the session's public id */
    const char *principal;           /* customer-<sub> | agent-<sub> | admin-<sub> */
    const char *conn_id;             /* nginx's, passed with every hook (X-Request-Id) */
    int timeout_s;                   /* silence after which it counts as gone
                                        (SUPPORT_CHAT_PRESENCE_TIMEOUT_S) */
};

/* What recording a connection changed for its participant. */
struct sp_chat_presence_change {
    const char *before;              /* online | away | offline */
    const char *after;
    const char *others;              /* the other fresh participants: "principal:state,..." ("" = none) */
};

/* customer-<sub> -> "customer"; agent-<sub> and admin-<sub> -> "agent";
 * anything else NULL. */
const char *sp_chat_presence_sender_type(const char *principal);

/* principal's "sender_type" and "sender_id" members in a typing or
 * presence frame: a customer's sub; for staff, as a staff message names
 * them (docs/API.md §7, "Who is helping"), the agent id as text and
 * "agent_id" beside it (null both for an admin who is no agent).
 * agent_id: the staff principal's agents row when the caller has read it
 * already (the frame hook's authorization did), else 0: looked up here. */
void sp_chat_presence_sender(struct sp_ctx *ctx, struct sp_jw *w, const char *principal,
                             long long agent_id);

/* {"type":"presence","session_id":…,"sender_type":…,"sender_id":…
 * [,"agent_id":…],"state":…}: what the others hear of principal
 * (agent_id as for sp_chat_presence_sender). */
void sp_chat_presence_frame(struct sp_ctx *ctx, struct sp_jw *w, const char *session_id,
                            const char *principal, long long agent_id, const char *state);

/* Records a sign of life of the connection: inserts it or refreshes
 * last_seen_at; state "online"/"away" sets it, NULL keeps it (a new row is
 * online). false after a logged failure. Tells nobody. */
bool sp_chat_presence_record(struct sp_ctx *ctx, const struct sp_chat_presence_conn *c,
                             const char *state, struct sp_chat_presence_change *chg);

/* After sp_chat_presence_record() of a new connection: the others hear of
 * a change, and the newcomer (its private channel) hears who else is here. */
void sp_chat_presence_joined(struct sp_ctx *ctx, const struct sp_chat_presence_conn *c,
                             const struct sp_chat_presence_change *chg);

/* sp_chat_presence_record(), then the others hear of a change. */
bool sp_chat_presence_touch(struct sp_ctx *ctx, const struct sp_chat_presence_conn *c,
                            const char *state, struct sp_chat_presence_change *chg);

/* sp_chat_presence_touch() without a state change (a message or typing
 * frame is a sign of life), skipped when this worker recorded the
 * connection less than an interval (a fifth of the timeout, 1 to 15 s)
 * ago. */
void sp_chat_presence_alive(struct sp_ctx *ctx, const struct sp_chat_presence_conn *c);

/* For a statement that records the sign of life itself by refreshing the
 * connection's fresh row (sp_chat_post_frame): whether
 * sp_chat_presence_alive() would write now; then, once it ran,
 * sp_chat_presence_alive_recorded() with whether it refreshed the row.
 * When it did not (the row was swept or went stale), the full touch runs:
 * the connection may have to be announced back. */
bool sp_chat_presence_alive_due(const struct sp_chat_presence_conn *c);
void sp_chat_presence_alive_recorded(struct sp_ctx *ctx, const struct sp_chat_presence_conn *c,
                                     bool refreshed);

/* The connection went away (the offline hook): deletes its row; when its
 * participant has no fresh connection left, the others hear it. */
void sp_chat_presence_leave(struct sp_ctx *ctx, const struct sp_chat_presence_conn *c);

/* The server disconnected principal from the session (a transfer's
 * kick, chat_access): nchan runs no offline hook for a subscriber it
 * drops with 410, so its rows stayed fresh and the others were shown it
 * online until the timeout (QA: ~25 s after a transfer, to the customer's
 * next snapshot too). Deletes them all; the others hear it offline when
 * it had any. */
void sp_chat_presence_drop(struct sp_ctx *ctx, const char *session_id, const char *principal);

/* An EventSource connection went away: its row is kept for a grace period
 * (an interval: 15 s with the default timeout) instead of deleted, and
 * nobody hears anything now. nchan ends every EventSource stream after
 * 55 s (408) and the browser reconnects by itself a few seconds later: the
 * new connection finds its participant still online (no announcement),
 * and the sweep drops the old row without one. A participant that does
 * not come back is announced offline by the sweep once the grace is over. */
void sp_chat_presence_leave_soon(struct sp_ctx *ctx, const struct sp_chat_presence_conn *c);

/* At most once per interval per worker process: connections silent for
 * longer than timeout_s are dropped, and participants left without a
 * connection are announced offline to the others (nginx reloads and
 * crashes run no offline hook). Bounded: a few hundred rows a pass. */
void sp_chat_presence_sweep_maybe(struct sp_ctx *ctx, int timeout_s);

#endif
