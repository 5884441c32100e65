/*
 * chat_sessions: live chat sessions and their messages (API.md §7) —
 * creation with routing to an agent with chat capacity (or `waiting`,
 * until an agent it may go to has a free place: sp_chat_route_waiting), the
 * session token (only its SHA-256 is stored), messages with client_id
 * de-duplication and their attachments (domain/attachments links them), accept, close, transfer to another agent, the agent's
 * chat queue, and the facts the chat transport authorizes a connection
 * with. Accept, close and transfer are transactions of their own, begun
 * and committed here; create joins the caller's (the create protocol's),
 * close_locked runs in the caller's. Publishing frames to subscribers is
 * the caller's, after commit.
 * Turning a session into a ticket is chat_convert.h; who is connected,
 * chat_presence.h.
 * Must not: know HTTP or nchan; render frames (chat_bus.h does).
 */
#ifndef SP_CHAT_SESSIONS_H
#define SP_CHAT_SESSIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/problem.h"
#include "domain/contacts.h"
#include "domain/ctx.h"
#include "domain/ratelimit.h"

struct sp_chat_session {
    long long id;
    const char *public_id;
    const char *customer_id;
    const char *status;              /* waiting | active | closed */
    const char *category;            /* slug or NULL */
    long long assigned_agent_id;     /* 0 = none */
    const char *assigned_agent_name; /* that agent's display name (NULL: none) */
    const char *ticket_public_id;    /* after a transfer to a ticket */
    const char *metadata_json;
    const char *started_at, *ended_at, *expires_at, *last_message_at;
    /* Queue lists only (sp_chat_list): the customer's first message as
     * one line of plain text, at most SP_CHAT_PREVIEW_MAX characters, and
     * when it was sent; NULL when none (and in every other read). Agents
     * see what a chat is about before they accept it (QA). */
    const char *preview, *preview_at;
};
#define SP_CHAT_PREVIEW_MAX 200

/* SQL: text x made safe inside a chat body, which is sanitized HTML (the
 * transcript's attachment notes, a note naming an agent). */
#define SP_CHAT_HTML_ESCAPE(x)                                                             \
    "replace(replace(replace(replace(" x ", '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),"    \
    " '\"', '&quot;')"

struct sp_chat_message {
    long long id;
    /* Its place in the session (1, 2, ...: no gaps), in commit order: the
     * resume point of a client catching up (sql/077). */
    long long seq;
    const char *session_public_id;
    const char *sender_type;
    const char *sender_id;
    const char *body;
    const char *client_id;
    const char *created_at;
    const char *attachments_json;    /* JSON array text (NULL: none) */
    const char *event;               /* system messages: agent_joined, closed, ... */
    /* The agent a staff message is from (sender_id is their user id), or
     * a system message names (agent_joined, transferred, agent_left): the
     * agents row id, as assigned_agent_id, and its display name; 0 and
     * NULL for none (a customer's message, an admin who is no agent). */
    long long agent_id;
    const char *sender_name;
};

/* What a participant sends (API.md §7 `message` frame). */
struct sp_chat_post_in {
    const char *sender_type;         /* customer | agent | ai_bot */
    const char *sender_id;
    const char *body;                /* sanitized */
    const char *client_id;           /* NULL: none */
    const char *const *attachments;  /* ids of the sender's clean, unattached uploads */
    size_t nattachments;
};

struct sp_chat_new {
    const char *customer_id;
    const char *category_slug;       /* NULL = none */
    const char *first_message;       /* sanitized, or NULL */
    const char *metadata_json;       /* object text or NULL */
    const char *token_sha256_hex;    /* of the session token handed to the client */
    long ttl_minutes;
    long max_open;                   /* open sessions a customer may have (0 = no cap) */
    /* the customer's claims, stored as a ticket create stores them (NULL:
     * none): a chat made a ticket by an agent or the archive job tells
     * the customer (chat.escalated), and the priority rules read the
     * tier, from this contact */
    const struct sp_contact_sealed *contact;
};

/* Creates the session (routed: `active` with an agent that has chat
 * capacity, else `waiting`) and its first message. A customer who
 * already has max_open sessions open (not closed, not expired) gets 409
 * too_many_open_sessions: one customer cannot occupy every agent. */
enum sp_rc sp_chat_create(struct sp_ctx *ctx, const struct sp_chat_new *in,
                          struct sp_chat_session *out, struct sp_chat_message *first,
                          struct sp_problem *p);

/* A session by public id; customer_id (when not NULL) limits it to that
 * customer's sessions (others: not found). */
enum sp_rc sp_chat_get(struct sp_ctx *ctx, const char *public_id, const char *customer_id,
                       struct sp_chat_session *out, struct sp_problem *p);

/* Replaces the session token's hash (a replayed create hands out a new
 * token: the first one exists nowhere but in the lost answer). */
enum sp_rc sp_chat_rotate_token(struct sp_ctx *ctx, const char *public_id, const char *customer_id,
                                const char *token_sha256_hex, struct sp_chat_session *out,
                                struct sp_problem *p);

/* Messages after place `after` (seq), in their order (seq: the order
 * they committed in). */
enum sp_rc sp_chat_messages(struct sp_ctx *ctx, long long session_id, long long after, int limit,
                            struct sp_chat_message **out, size_t *n, long long *next_after,
                            struct sp_problem *p);

/* Stores a message with its attachments (linked in the same
 * transaction, begun here when there are any: 422 validation_failed,
 * field errors attachments[i] as sp_attachments_attach, nothing stored, when
 * one is not a clean, unattached upload of sender_id); a client_id
 * this sender (sender_type and sender_id) already used in this session
 * returns the stored message with *duplicate set (resends are
 * idempotent, and attach nothing) when its body is the stored one's,
 * else 422 idempotency_key_reused. Closed or expired sessions: 409
 * session_closed; staff (sender_type agent) writing to a waiting session,
 * which no agent has yet: 409 session_waiting (sp_chat_staff_waiting). */
enum sp_rc sp_chat_post(struct sp_ctx *ctx, const struct sp_chat_session *s,
                        const struct sp_chat_post_in *in, struct sp_chat_message *out,
                        bool *duplicate, struct sp_problem *p);
/* sp_chat_post() in the caller's transaction, which it never begins: the
 * create protocol's (sp_idem_run), which keeps the message's
 * Idempotency-Key with it (the HTTP send, API.md §1). */
enum sp_rc sp_chat_post_in_tx(struct sp_ctx *ctx, const struct sp_chat_session *s,
                              const struct sp_chat_post_in *in, struct sp_chat_message *out,
                              bool *duplicate, struct sp_problem *p);

/* The stored system message of event in the session (after the change
 * that stored it committed), for its live frame: the newest one, of
 * agent_id when not 0 (agent_joined, transferred). out->id 0: none. */
enum sp_rc sp_chat_system_message(struct sp_ctx *ctx, const char *public_id, const char *event,
                                  long long agent_id, struct sp_chat_message *out,
                                  struct sp_problem *p);

/* An agent takes a waiting session: 409 already_assigned when another
 * agent has it, 409 agent_unavailable when away or at max_concurrent_chats.
 * Accepting a session that is already the agent's changes nothing;
 * *changed tells whether this accept assigned it (and stored the
 * agent_joined message). */
enum sp_rc sp_chat_accept(struct sp_ctx *ctx, const char *public_id, long long agent_id,
                          struct sp_chat_session *out, bool *changed, struct sp_problem *p);

/* Closes the session (idempotent); *changed tells whether it was open. */
enum sp_rc sp_chat_close(struct sp_ctx *ctx, const char *public_id, const char *customer_id,
                         struct sp_chat_session *out, bool *changed, struct sp_problem *p);

/* Closes session_id, with its `closed` system message, in the caller's
 * transaction, which has locked the row and seen it open; its agent's
 * free place goes to a waiting chat (sp_chat_route_waiting). */
enum sp_rc sp_chat_close_locked(struct sp_ctx *ctx, long long session_id, struct sp_problem *p);

/* Hands an active or waiting session to agent_id (409 agent_unavailable
 * when away or at capacity; 0 = let routing pick another agent as the
 * session's category routes: its skill, else its team), with a
 * `transferred` system message. Named, the agent who has it already is
 * nothing to do (as a claim of one's own ticket): SP_OK, *changed false,
 * no message. */
enum sp_rc sp_chat_transfer_to_agent(struct sp_ctx *ctx, const char *public_id, long long agent_id,
                                     struct sp_chat_session *out, bool *changed,
                                     struct sp_problem *p);

/* The chats sp_chat_route_waiting gave an agent (and those
 * sp_chat_return_agent_chats took from one), newest first, noted in
 * ctx->chat_joins (the caller's, NULL-initialized) for their agent_joined
 * (agent_left) frames after commit (sp_chat_access_publish_joins). */
struct sp_chat_join {
    const char *public_id;
    long long agent_id;
    const struct sp_chat_join *next;
    const char *event;           /* NULL: agent_joined */
};
struct sp_chat_joins {
    const struct sp_chat_join *first;
};

/* In the caller's transaction, when agent_id may have a free chat place
 * (a chat of theirs closed or went to a ticket or another agent, they
 * became active or may take more chats): the waiting chats routing gives
 * them (sp_route_chat_waiting: their team or skill, oldest first, up to
 * their free places) are assigned as a chat routed at creation is —
 * active, theirs, an agent_joined system message — and noted in
 * ctx->chat_joins. Nothing when they are away or full. */
enum sp_rc sp_chat_route_waiting(struct sp_ctx *ctx, long long agent_id, struct sp_problem *p);

/* Locks (FOR UPDATE, in id order, until the caller's transaction ends)
 * the chats agent_id is in (active, not expired): taken by a write that
 * will return them to waiting before any pick lock or the agent's row,
 * the order every chat command takes them in (the session, then
 * routing's locks, then the agent). */
enum sp_rc sp_chat_lock_agent_chats(struct sp_ctx *ctx, long long agent_id,
                                    struct sp_problem *p);
/* In the caller's transaction: every chat agent_id is in (as
 * sp_chat_lock_agent_chats finds them, those assigned since too) goes
 * back to waiting without an agent, first in the queue (the oldest
 * started), with an `agent_left` system message naming the agent; noted
 * in ctx->chat_joins (event agent_left) for their frames after commit,
 * when the agent's connections are also cut (sp_chat_access_publish_joins). */
enum sp_rc sp_chat_return_agent_chats(struct sp_ctx *ctx, long long agent_id,
                                      struct sp_problem *p);
/* After the command that returned chats to waiting committed: each chat
 * noted in returned with event agent_left is offered, in a transaction of
 * its own, to whoever its category's routing picks now, as at its
 * creation (a manual category's chat waits; nobody free: it waits, first
 * in the queue); those routed are noted in ctx->chat_joins for their
 * agent_joined frames. Best effort: a failure leaves the chat waiting. */
void sp_chat_route_returned(struct sp_ctx *ctx, const struct sp_chat_joins *returned);

/* The agent chat queue: waiting sessions, or active ones (of agent_id
 * when not 0), oldest first. */
enum sp_rc sp_chat_list(struct sp_ctx *ctx, const char *status, long long agent_id,
                        long long after, int limit, struct sp_chat_session **out, size_t *n,
                        long long *next_after, struct sp_problem *p);

/* A customer's own sessions, newest first (keyset: before_id, 0 for the
 * first page), of one status when status is not NULL (as the session
 * reads: an expired one is closed). */
enum sp_rc sp_chat_list_for_customer(struct sp_ctx *ctx, const char *customer_id,
                                     const char *status, long long before_id, int limit,
                                     struct sp_chat_session **out, size_t *n,
                                     long long *next_before, struct sp_problem *p);

/* For the chat transport (support-chat): the facts a connection's
 * authorization needs, in one read. *found false when there is no such
 * session; *open is false when it is closed or expired; token_sha256_hex
 * is the stored hash of the session token (lower-case hex). */
struct sp_chat_auth_info {
    bool found;
    bool open;
    long long session_id;            /* what sp_chat_post() needs */
    const char *customer_id;
    long long assigned_agent_id;     /* 0 = none */
    const char *token_sha256_hex;
    long long expires_epoch;         /* the session (and its token) expires */
    bool waiting;                    /* no agent has it yet: staff may not write to it */
};
enum sp_rc sp_chat_auth_info(struct sp_ctx *ctx, const char *public_id,
                             struct sp_chat_auth_info *out, struct sp_problem *p);

/* A connection's message frame (no attachments), in one round trip: the
 * session's authorization facts, the caller's agent id, the rate-limit hit
 * and the post, each only when the step before allows it. The caller
 * decides from out->info whom to refuse; the statement applies the same
 * rules, so nothing is counted or stored for a refused caller. A resend
 * whose body is not the stored message's is 422 idempotency_key_reused
 * (as sp_chat_post). */
struct sp_chat_frame_post {
    const char *public_id;
    const char *role;                /* customer | agent | admin */
    const char *token_sha256_hex;    /* customer: their session token's; else NULL */
    const char *rate_bucket;         /* e.g. chat_message:<public_id>:customer */
    struct sp_rate_window window;
    struct sp_chat_post_in msg;      /* sender_id is the caller's user id */
    struct {                         /* the connection's sign of life, when due */
        const char *conn_id;         /* NULL: not asked */
        const char *principal;
        int timeout_s;               /* rows older than this are not refreshed */
    } alive;
};
struct sp_chat_frame_posted {
    struct sp_chat_auth_info info;   /* info.found false: nothing else is set */
    long long caller_agent_id;       /* 0 unless an agent with that user id */
    bool counted;                    /* the caller may post: rate is set */
    bool alive_refreshed;            /* the connection's fresh presence row was */
    struct sp_rate_result rate;
    bool stored;                     /* message is set (a resend: the stored one) */
    bool duplicate;                  /* a resend: message is the sender's first */
    struct sp_chat_message message;
};
/* 409 session_waiting: staff write to a chat once an agent has it
 * (accepted, routed or transferred), never to a waiting one. */
enum sp_rc sp_chat_staff_waiting(struct sp_problem *p);
enum sp_rc sp_chat_post_frame(struct sp_ctx *ctx, const struct sp_chat_frame_post *in,
                              struct sp_chat_frame_posted *out, struct sp_problem *p);

#endif
