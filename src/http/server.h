/*
 * server: the FastCGI process model. A small master binds the socket once
 * (so it is never unbound while children restart), prefork-spawns N
 * workers that accept on it, respawns dead ones, reloads on SIGHUP (it
 * re-reads the settings itself, then replaces the workers, so every
 * worker, respawned ones included, is a fork of the master's current
 * settings) and drains on SIGTERM/SIGINT: workers finish the request in
 * flight, then exit. Each worker serves one request at a time with a
 * per-request arena that is reset after the reply.
 * Must not: know routes' meaning or the database beyond the hooks.
 */
#ifndef SP_SERVER_H
#define SP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "http/router.h"

struct sp_server {
    const char *name;           /* for logs */
    const char *listen;         /* unix socket path, or ":PORT" */
    int backlog;                /* 0 = net.core.somaxconn */
    int listen_mode;            /* permissions of a unix socket, e.g. 0660 */
    gid_t listen_gid;           /* its group; (gid_t)-1 = the process's own */
    int workers;
    const struct sp_route *routes;
    size_t nroutes;
    /* Called in each worker after fork and before it exits. */
    bool (*worker_start)(void *app, struct sp_http_env *env);
    void (*worker_stop)(void *app, struct sp_http_env *env);
    /* Called in the master on SIGHUP: re-reads the settings into app.
     * false (bad settings; the hook logs why) keeps app and the workers
     * as they were; true replaces every worker. NULL: SIGHUP is logged
     * and ignored. listen, backlog and workers are fixed at start. */
    bool (*reload)(void *app);
    void *app;
};

/* Runs until SIGTERM/SIGINT; returns the process exit code. */
int sp_server_run(struct sp_server *s);
/* Resolves the group of SUPPORT_LISTEN_GROUP (NULL or "" = none, *gid =
 * (gid_t)-1); false with a message when no such group exists. */
bool sp_server_listen_group(const char *name, gid_t *gid, char *err, size_t errlen);
/* The kernel's listen backlog ceiling (net.core.somaxconn), or 128. */
int sp_server_somaxconn(void);

#endif
