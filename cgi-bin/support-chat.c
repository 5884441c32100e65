/*
 * support-chat: the chat worker behind nginx + nchan (API.md §7,
 * docs/chat-transport.md): authorizes websocket/EventSource/long-poll
 * subscribers (auth_request), validates, stores and renders client frames
 * (nchan_publisher_upstream_request through the loopback) and answers the
 * presence hooks. Same prefork server and settings as support-api; its
 * own socket:
 *   SUPPORT_CHAT_LISTEN       unix socket path
 *   SUPPORT_CHAT_PUBLISH_URL  nchan's internal publisher, e.g.
 *                             http://127.0.0.1:8080/internal/chat/publish
 *                             (error frames to one participant)
 * The listen backlog is net.core.somaxconn unless SUPPORT_LISTEN_BACKLOG
 * says otherwise.
 */
#include "api/app.h"
#include "api/chat_transport.h"

static const char *
listen_on(const struct sp_config *cfg)
{
    return cfg->chat_listen;
}

int
main(int argc, char **argv)
{
    struct sp_app_program prog = {
        .name = "support-chat",
        .usage = "usage: support-chat [--check-config | --print-pii-index-key] [--env-file FILE]\n"
                 "(its socket: SUPPORT_CHAT_LISTEN; nchan's internal publisher:\n"
                 "SUPPORT_CHAT_PUBLISH_URL)",
        .routes = sp_chat_routes,
        .nroutes = sp_chat_nroutes,
        .listen = listen_on,
    };
    return sp_app_main(&prog, argc, argv);
}
