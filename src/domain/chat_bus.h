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

#include "core/buf.h"
#include "domain/chat.h"

/* The stored-message frame: a `message` frame, or a `system` frame when
 * the message carries an event. */
void sp_chat_frame_message(struct sp_buf *b, const struct sp_chat_message *m);

/* The internal publisher's base URL (SUPPORT_CHAT_PUBLISH_URL) and the
 * unix socket it is served on (SUPPORT_CHAT_PUBLISH_SOCKET; NULL: TCP);
 * url NULL turns publishing off (the history still has every message). */
void sp_chat_bus_set_url(const char *url, const char *unix_socket);
/* Publishes {"type":"system","event":…,"session_id":…[,extra members]}
 * to a session's subscribers (after the change committed). */
void sp_chat_bus_system(struct sp_arena *a, const char *session_id, const char *event,
                        const char *extra_json);
/* POSTs json to the session channel (principal NULL) or to that
 * participant's private channel. No-op (true) when SUPPORT_CHAT_PUBLISH_URL
 * is unset. false after a logged failure. */
bool sp_chat_bus_publish(const char *session_id, const char *principal, const char *json,
                         size_t len);
/* Deletes the session's channel (principal NULL: every subscriber is
 * disconnected) or one participant's private channel (that participant's
 * connections are disconnected; the others stay). They may reconnect and
 * are then authorized again. true also when nobody was subscribed. */
bool sp_chat_bus_kick(const char *session_id, const char *principal);

#endif
