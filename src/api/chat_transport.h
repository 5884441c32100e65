/*
 * chat_transport: the handlers and route table of support-chat, the chat
 * worker behind nginx + nchan (docs/chat-transport.md, API.md §7):
 *   GET  /support/chat/connect            the auth_request subrequest (nginx
 *        passes the client's REQUEST_URI; DOCUMENT_URI is /internal/chat/auth):
 *        204 + X-Chat-Principal, 401 + WWW-Authenticate, or 403
 *   POST /internal/chat/frame-worker       one client websocket frame (the
 *        nchan publisher hook through the loopback): 200 + canonical frame
 *        (published to the session), or 204 after an error frame went to
 *        the sender's private channel; 403 (closes the socket) when the
 *        connection's credentials no longer hold
 *   GET  /internal/chat/presence-worker/:state  subscribe/unsubscribe hooks
 *   GET  /chat/metrics                     its counters, for Prometheus, on
 *        the operators' listener only (api/metrics.c, docs/metrics.md)
 * Must not: log the connect URI or Authorization (they carry tokens).
 */
#ifndef SP_CHAT_TRANSPORT_H
#define SP_CHAT_TRANSPORT_H

#include <stddef.h>

#include "api/chat_frame.h"   /* SP_CHAT_FRAME_MAX: the largest client frame */
#include "http/router.h"

/* Largest hook answer (the nginx buffer is 64k; a larger answer crashes). */
#define SP_CHAT_ANSWER_MAX 32768

enum sp_rc sp_chat_t_auth(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_chat_t_frame(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_chat_t_presence(struct sp_req *r, struct sp_problem *p);
/* In api/metrics.c, beside support-api's page. */
enum sp_rc sp_chat_t_metrics(struct sp_req *r, struct sp_problem *p);

extern const struct sp_route sp_chat_routes[];
extern const size_t sp_chat_nroutes;

#endif
