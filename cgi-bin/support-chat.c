/*
 * support-chat: the chat worker behind nginx + nchan (API.md §7,
 * docs/chat-transport.md): authorizes websocket/EventSource/long-poll
 * subscribers (auth_request), validates, stores and renders client frames
 * (nchan_publisher_upstream_request through the loopback) and answers the
 * presence hooks. Same prefork server and settings as support-api; its
 * own socket:
 *   SUPPORT_CHAT_LISTEN       unix socket path (required)
 *   SUPPORT_CHAT_PUBLISH_URL  nchan's internal publisher, e.g.
 *                             http://127.0.0.1:8080/internal/chat/publish
 *                             (error frames to one participant)
 * The listen backlog is net.core.somaxconn unless SUPPORT_LISTEN_BACKLOG
 * says otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/chat_transport.h"
#include "core/log.h"
#include "http/server.h"

static void
usage(FILE *out)
{
    fprintf(out, "usage: support-chat [--check-config]\n\n"
                 "Settings (environment): SUPPORT_CHAT_LISTEN (its socket),\n"
                 "SUPPORT_CHAT_PUBLISH_URL (nchan's internal publisher), and:\n");
    sp_config_describe(out);
}

int
main(int argc, char **argv)
{
    bool check_only = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check-config") == 0) {
            check_only = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    sp_log_set_program("support-chat");
    static struct sp_app app;
    char err[512];
    if (!sp_app_load(&app, err, sizeof(err))) {
        sp_log_msg(SP_LOG_FATAL, "bad_config", "%s", err);
        fprintf(stderr, "support-chat: %s\n", err);
        return 1;
    }
    if (check_only) {
        printf("configuration ok\n");
        sp_app_free(&app);
        return 0;
    }
    struct sp_server server = {
        .name = "support-chat",
        .listen = app.cfg.chat_listen,
        .backlog = (int)app.cfg.listen_backlog,
        .workers = (int)app.cfg.workers,
        .routes = sp_chat_routes,
        .nroutes = sp_chat_nroutes,
        .worker_start = sp_app_worker_start,
        .worker_reload = sp_app_worker_reload,
        .worker_stop = sp_app_worker_stop,
        .app = &app,
    };
    int rc = sp_server_run(&server);
    sp_app_free(&app);
    return rc;
}
