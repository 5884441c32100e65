/*
 * chat: live chat sessions and their messages (API.md §7) — creation with
 * routing to an agent with chat capacity (or `waiting`), the session token
 * (only its SHA-256 is stored), messages with client_id de-duplication,
 * accept, close, and the agent's chat queue. Publishing frames to
 * subscribers is the caller's (the chat transport), after commit.
 * Must not: know HTTP or nchan.
 */
#ifndef SP_CHAT_H
#define SP_CHAT_H

#include "core/tier.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/problem.h"
#include "domain/ctx.h"
#include "domain/tickets.h"

struct sp_chat_session {
    long long id;
    const char *public_id;
    const char *customer_id;
    const char *status;              /* waiting | active | closed */
    const char *category;            /* slug or NULL */
    long long assigned_agent_id;     /* 0 = none */
    const char *ticket_public_id;    /* after a transfer to a ticket */
    const char *metadata_json;
    const char *started_at, *ended_at, *expires_at, *last_message_at;
};

struct sp_chat_message {
    long long id;
    const char *session_public_id;
    const char *sender_type;
    const char *sender_id;
    const char *body;
    const char *client_id;
    const char *created_at;
    const char *event;               /* system messages: agent_joined, closed, ... */
};

struct sp_chat_new {
    const char *customer_id;
    const char *category_slug;       /* NULL = none */
    const char *first_message;       /* sanitized, or NULL */
    const char *metadata_json;       /* object text or NULL */
    const char *token_sha256_hex;    /* of the session token handed to the client */
    long ttl_minutes;
    long max_open;                   /* open sessions a customer may have (0 = no cap) */
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

/* Messages after message id `after`, oldest first. */
enum sp_rc sp_chat_messages(struct sp_ctx *ctx, long long session_id, long long after, int limit,
                            struct sp_chat_message **out, size_t *n, long long *next_after,
                            struct sp_problem *p);

/* Stores a message; a client_id already used in this session returns the
 * stored message with *duplicate set (resends are idempotent). Closed or
 * expired sessions: 409 session_closed. */
enum sp_rc sp_chat_post(struct sp_ctx *ctx, const struct sp_chat_session *s,
                        const char *sender_type, const char *sender_id, const char *body,
                        const char *client_id, struct sp_chat_message *out, bool *duplicate,
                        struct sp_problem *p);

/* An agent takes a waiting session: 409 already_assigned when another
 * agent has it, 409 agent_unavailable when away or at max_concurrent_chats. */
enum sp_rc sp_chat_accept(struct sp_ctx *ctx, const char *public_id, long long agent_id,
                          struct sp_chat_session *out, struct sp_problem *p);

/* Closes the session (idempotent); *changed tells whether it was open. */
enum sp_rc sp_chat_close(struct sp_ctx *ctx, const char *public_id, const char *customer_id,
                         struct sp_chat_session *out, bool *changed, struct sp_problem *p);

/* A chat has no length limit (60 messages a minute for 24 h), a ticket
 * description must have one: the transcript keeps the newest messages
 * whose bodies fit in this many bytes (API.md §7), after a note saying
 * how many earlier ones were left out and where the full history is. */
#define SP_CHAT_TRANSCRIPT_MAX 65536

/* Turns the session into a ticket (source chat, the transcript as its
 * description, linked both ways, a ticket_created system message) in the
 * caller's transaction; a session that already has one returns it with
 * *created false. tier: the customer's, for the rules engine. Not rate
 * limited here: the caller decides who is (API.md §7). */
enum sp_rc sp_chat_to_ticket(struct sp_ctx *ctx, const char *public_id, enum sp_tier tier,
                             struct sp_ticket *out, bool *created, struct sp_problem *p);

/* sp_chat_to_ticket() as a command: in a transaction of its own. */
enum sp_rc sp_chat_convert(struct sp_ctx *ctx, const char *public_id, enum sp_tier tier,
                           struct sp_ticket *out, bool *created, struct sp_problem *p);

/* Hands an active or waiting session to agent_id (409 agent_unavailable
 * when away or at capacity; 0 = let routing pick another agent of the
 * team), with a `transferred` system message. */
enum sp_rc sp_chat_transfer_to_agent(struct sp_ctx *ctx, const char *public_id, long long agent_id,
                                     struct sp_chat_session *out, struct sp_problem *p);

/* The archive job's step for one session, in the caller's transaction:
 * if it is still open and idle since before idle_before_ms (or expired
 * at now_ms), a session with customer messages and no ticket becomes one,
 * then it closes. *archived false when it was busy (locked), reopened by
 * activity, or already closed. */
enum sp_rc sp_chat_archive_one(struct sp_ctx *ctx, long long session_id, int64_t now_ms,
                               int64_t idle_before_ms, bool *archived, bool *converted,
                               struct sp_problem *p);

/* The agent chat queue: waiting sessions, or active ones (of agent_id
 * when not 0), oldest first. */
enum sp_rc sp_chat_list(struct sp_ctx *ctx, const char *status, long long agent_id,
                        long long after, int limit, struct sp_chat_session **out, size_t *n,
                        long long *next_after, struct sp_problem *p);

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
};
enum sp_rc sp_chat_auth_info(struct sp_ctx *ctx, const char *public_id,
                             struct sp_chat_auth_info *out, struct sp_problem *p);

/* Presence (docs/chat-transport.md §8): one row per connection of a
 * participant (session, principal = customer-<sub> | agent-<sub> |
 * admin-<sub>). A participant is "online" while it has a row seen within
 * timeout_s in state online, "away" while all its fresh rows are away,
 * else "offline". */
struct sp_chat_presence_change {
    const char *before;              /* online | away | offline */
    const char *after;
    const char *others;              /* the other fresh participants: "principal:state,..." ("" = none) */
};

/* Records a sign of life of connection conn_id: inserts it or refreshes
 * last_seen_at; state "online"/"away" sets it, NULL keeps it (a new row is
 * online). */
enum sp_rc sp_chat_presence_touch(struct sp_ctx *ctx, const char *public_id,
                                  const char *principal, const char *conn_id,
                                  const char *state, int timeout_s,
                                  struct sp_chat_presence_change *out, struct sp_problem *p);

/* The connection went away (the offline hook): deletes its row. */
enum sp_rc sp_chat_presence_leave(struct sp_ctx *ctx, const char *public_id,
                                  const char *principal, const char *conn_id, int timeout_s,
                                  struct sp_chat_presence_change *out, struct sp_problem *p);

/* Deletes at most `limit` connections not seen for timeout_s (oldest
 * first, skipping rows another worker holds) and returns the participants
 * that have no fresh connection left: sessions[i], principals[i], and
 * others[i], the other fresh principals of that session, comma-separated. */
enum sp_rc sp_chat_presence_sweep(struct sp_ctx *ctx, int timeout_s, int limit,
                                  const char ***sessions, const char ***principals,
                                  const char ***others, size_t *n, struct sp_problem *p);

#endif
