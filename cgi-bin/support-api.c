/*
 * support-api: the REST FastCGI program (API.md §3–§6) — a thin main over
 * libsupport: load settings, then run the prefork server with the route
 * table. Settings are environment variables (see --help).
 */
#include <stdio.h>
#include <string.h>

#include "api/app.h"
#include "core/log.h"
#include "http/server.h"

static void
usage(FILE *out)
{
    fprintf(out, "usage: support-api [--check-config]\n\nSettings (environment):\n");
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
    sp_log_set_program("support-api");
    static struct sp_app app;
    char err[512];
    if (!sp_app_load(&app, err, sizeof(err))) {
        sp_log_msg(SP_LOG_FATAL, "bad_config", "%s", err);
        fprintf(stderr, "support-api: %s\n", err);
        return 1;
    }
    if (check_only) {
        printf("configuration ok\n");
        sp_app_free(&app);
        return 0;
    }
    struct sp_server server = {
        .name = "support-api",
        .listen = app.cfg.listen,
        .backlog = (int)app.cfg.listen_backlog,
        .workers = (int)app.cfg.workers,
        .routes = sp_api_routes,
        .nroutes = sp_api_nroutes,
        .worker_start = sp_app_worker_start,
        .worker_reload = sp_app_worker_reload,
        .worker_stop = sp_app_worker_stop,
        .app = &app,
    };
    int rc = sp_server_run(&server);
    sp_app_free(&app);
    return rc;
}
