/*
 * chat_bus: server-side publishing of chat frames (API.md §7) to nchan's
 * internal publisher (docs/chat-transport.md §5): a POST with
 * Content-Type: application/json to SUPPORT_CHAT_PUBLISH_URL/<session>
 * (every subscriber of the session) or .../<session>/<principal> (one
 * participant's private channel). Also renders the server -> client frames
 * so support-api and support-chat send the same bytes.
 * Failures are logged and reported, never fatal: the message is stored and
 * clients catch up from GET /support/chat/session/:id.
 * Must not: know HTTP requests or SQL.
 */
#ifndef SP_CHAT_BUS_H
#define SP_CHAT_BUS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/json_writer.h"
#include "domain/chat_sessions.h"

/* The stored-message frame: a `message` frame, or a `system` frame when
 * the message carries an event; one JSON value (a document, or an element
 * of the array the caller is writing). staff: a staff member's view (the
 * history an agent or admin reads), where a staff message's sender_id is
 * the user id it was stored with; else (every published frame, which
 * customers receive, and the customer's history) it is the agent id. */
void sp_chat_frame_message(struct sp_jw *w, const struct sp_chat_message *m, bool staff);

/* What a system frame says besides its event and session. */
struct sp_chat_system_extra {
    long long agent_id;              /* agent_joined, transferred: the agent (0 = none) */
    const char *ticket_id;           /* ticket_created: the ticket's public id (NULL = none) */
    /* the stored system message (NULL or id 0: none): its id, body and
     * created_at, as the history renders it, so clients can tell a live
     * frame from the same message read back */
    const struct sp_chat_message *stored;
};

/* The internal publisher's base URL (SUPPORT_CHAT_PUBLISH_URL) and the
 * unix socket it is served on (SUPPORT_CHAT_PUBLISH_SOCKET; NULL: TCP);
 * url NULL turns publishing off (the history still has every message). */
void sp_chat_bus_set_url(const char *url, const char *unix_socket);
/* Publishes {"type":"system","event":…[,"id":…,"seq":…],"session_id":…
 * [,"agent_id":…,"agent_name":…][,"ticket_id":…][,"body":…,"created_at":…]} to a
 * session's subscribers (after the change committed); extra NULL: nothing
 * more. */
void sp_chat_bus_system(struct sp_arena *a, const char *session_id, const char *event,
                        const struct sp_chat_system_extra *extra);
/* Whether a publisher is configured (SUPPORT_CHAT_PUBLISH_URL). */
bool sp_chat_bus_on(void);
/* POSTs json to the session channel (principal NULL) or to that
 * participant's private channel. No-op (true) when SUPPORT_CHAT_PUBLISH_URL
 * is unset, silently: a job that closes chats says so itself, once a pass
 * (chat_archive). false after a logged failure. */
bool sp_chat_bus_publish(const char *session_id, const char *principal, const char *json,
                         size_t len);
/* Deletes the session's channel (principal NULL: every subscriber is
 * disconnected) or one participant's channel: "<role>-<sub>.<access>", the
 * access channel of one grant (chat_access.h), or a bare "<role>-<sub>"
 * (grants recorded before access channels). Those connections are
 * disconnected, the others stay; they may reconnect and are then
 * authorized again. true also when nobody was subscribed; *existed (may
 * be NULL): nchan had the channel. */
bool sp_chat_bus_kick(const char *session_id, const char *principal, bool *existed);

/* nchan's own counters (nchan_stub_status), for GET /metrics. */
struct sp_chat_bus_stats {
    long long published;     /* "total published messages" */
    long long stored;        /* "stored messages" */
    long long channels;      /* "channels" */
    long long subscribers;   /* "subscribers" */
    int found;               /* how many of the four the text had */
};
/* Parses nchan_stub_status's "name: value" lines (untrusted length, any
 * bytes: unknown lines and bad numbers are skipped). Pure. */
void sp_chat_bus_parse_stats(const char *text, size_t len, struct sp_chat_bus_stats *out);
/* GETs <publisher host>/internal/nchan/status over the publisher's socket
 * and parses it; false (not logged: the scrape reports it) when
 * publishing is off or nchan did not answer 200. */
bool sp_chat_bus_stats(struct sp_chat_bus_stats *out);
#endif
