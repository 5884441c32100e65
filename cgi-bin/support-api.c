/*
 * support-api: the REST FastCGI program (API.md §3–§9) — a thin main over
 * libsupport: settings, then the prefork server with the route table.
 * Settings are environment variables (see --help).
 */
#include "api/app.h"

static const char *
listen_on(const struct sp_config *cfg)
{
    return cfg->listen;
}

int
main(int argc, char **argv)
{
    struct sp_app_program prog = {
        .name = "support-api",
        .usage = "usage: support-api [--check-config | --print-pii-index-key] [--env-file FILE]",
        .routes = sp_api_routes,
        .nroutes = sp_api_nroutes,
        .listen = listen_on,
    };
    return sp_app_main(&prog, argc, argv);
}
