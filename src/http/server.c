/*
 * server: prefork master and the worker accept loop. See server.h.
 */
#include "http/server.h"

#include <errno.h>
#include <fcgiapp.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/metrics.h"
#include "http/dispatch.h"

#define SP_MAX_WORKERS 256
#define SP_DRAIN_SECONDS 30
#define SP_MAX_RETIRING (4 * SP_MAX_WORKERS)

static volatile sig_atomic_t got_stop, got_hup, got_chld;

static void
on_signal(int sig)
{
    if (sig == SIGTERM || sig == SIGINT)
        got_stop = 1;
    else if (sig == SIGHUP)
        got_hup = 1;
    else if (sig == SIGCHLD)
        got_chld = 1;
}

/* No SA_RESTART: a blocked accept() must return so the loop sees flags. */
static void
install(int sig, void (*fn)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

int
sp_server_somaxconn(void)
{
    FILE *f = fopen("/proc/sys/net/core/somaxconn", "r");
    int n = 0;
    if (f != NULL) {
        if (fscanf(f, "%d", &n) != 1)
            n = 0;
        fclose(f);
    }
    return n > 0 ? n : 128;
}

/* Reads CONTENT_LENGTH bytes of body into the arena, within the limit. */
static enum sp_rc
read_body(struct sp_req *r, FCGX_Request *req, struct sp_problem *p)
{
    /* Large uploads (attachments) stay in nginx's file: only the path
     * comes over the socket, never the bytes. */
    const char *file = FCGX_GetParam("REQUEST_BODY_FILE", req->envp);
    if (file != NULL && *file != '\0') {
        r->body_file = file;
        return SP_OK;
    }
    /* Its CONTENT_LENGTH is the length announced, not what follows. */
    const char *check = FCGX_GetParam("UPLOAD_CHECK_LENGTH", req->envp);
    if (check != NULL) {
        r->upload_check = check;
        return SP_OK;
    }
    const char *refused = FCGX_GetParam("UPLOAD_REFUSED_LENGTH", req->envp);
    if (refused != NULL && *refused != '\0') {
        r->body_refused = refused;
        return SP_OK;
    }
    const char *cl = FCGX_GetParam("CONTENT_LENGTH", req->envp);
    if (cl == NULL || *cl == '\0')
        return SP_OK;
    char *end;
    errno = 0;
    long long n = strtoll(cl, &end, 10);
    if (errno != 0 || *end != '\0' || n < 0)
        return sp_problem_set(p, SP_INVALID, "bad_request", "invalid Content-Length");
    if (n > r->env->max_body_bytes)
        return sp_problem_set(p, SP_TOO_LARGE, "payload_too_large",
                              "the body is larger than %ld bytes", r->env->max_body_bytes);
    char *body = sp_arena_alloc(r->arena, (size_t)n + 1);
    size_t got = 0;
    while (got < (size_t)n) {
        int k = FCGX_GetStr(body + got, (int)((size_t)n - got), req->in);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    if (got != (size_t)n)
        return sp_problem_set(p, SP_INVALID, "bad_request", "the body ended early");
    body[n] = '\0';
    r->body = body;
    r->body_len = (size_t)n;
    return SP_OK;
}

static void
serve_one(struct sp_server *s, struct sp_http_env *env, FCGX_Request *req, struct sp_arena *a)
{
    struct sp_req r;
    sp_req_init(&r, a, env, req->envp);
    r.fcgx = req;
    struct sp_problem p;
    sp_problem_init(&p);
    sp_metrics_inflight(1);
    if (read_body(&r, req, &p) != SP_OK)
        sp_http_fail(&r, &p);
    else
        sp_http_handle(&r, s->routes, s->nroutes);
    sp_metrics_inflight(-1);
}

static int
worker_main(struct sp_server *s, int sock)
{
    install(SIGTERM, on_signal);
    install(SIGINT, on_signal);
    /* Reload is the master's job: it replaces the workers (see reload()). */
    signal(SIGHUP, SIG_IGN);
    signal(SIGCHLD, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);

    struct sp_http_env env;
    memset(&env, 0, sizeof(env));
    if (!s->worker_start(s->app, &env)) {
        sp_log_msg(SP_LOG_ERROR, "worker_start_failed", "worker could not start");
        return 1;
    }
    FCGX_Request req;
    FCGX_InitRequest(&req, sock, FCGI_FAIL_ACCEPT_ON_INTR);
    /* Signals interrupt only the idle accept(): while a request is served
     * they stay pending, so a drain never cuts a response short. */
    sigset_t during, idle;
    sigemptyset(&during);
    sigaddset(&during, SIGTERM);
    sigaddset(&during, SIGINT);
    sigprocmask(SIG_UNBLOCK, &during, &idle);
    sigprocmask(SIG_SETMASK, NULL, &idle);
    struct sp_arena a;
    sp_arena_init(&a, 64 * 1024);
    while (!got_stop) {
        if (FCGX_Accept_r(&req) < 0) {
            if (got_stop || errno == EINTR)
                continue;
            sp_log_msg(SP_LOG_ERROR, "accept_failed", "%s", strerror(errno));
            sleep(1);
            continue;
        }
        sigprocmask(SIG_BLOCK, &during, NULL);
        serve_one(s, &env, &req, &a);
        FCGX_Finish_r(&req);
        sp_arena_reset(&a);
        sigprocmask(SIG_SETMASK, &idle, NULL);
    }
    FCGX_Free(&req, 0);
    sp_arena_destroy(&a);
    s->worker_stop(s->app, &env);
    return 0;
}

static pid_t
spawn(struct sp_server *s, int sock, const sigset_t *worker_mask)
{
    pid_t master = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* A worker outlives no master: killed (-9, OOM), the master can
         * neither drain nor replace its workers, and orphans kept serving
         * the socket with the old code and their database connections
         * (QA). SIGTERM is the worker's own shutdown: it finishes the
         * request in flight. The getppid() test closes the window of a
         * master that died before the prctl. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != master)
            _exit(0);
        sigprocmask(SIG_SETMASK, worker_mask, NULL);
        exit(worker_main(s, sock));
    }
    if (pid < 0)
        sp_log_msg(SP_LOG_ERROR, "fork_failed", "%s", strerror(errno));
    return pid > 0 ? pid : 0;
}

bool
sp_server_listen_group(const char *name, gid_t *gid, char *err, size_t errlen)
{
    *gid = (gid_t)-1;
    if (name == NULL || *name == '\0')
        return true;
    errno = 0;
    struct group *g = getgrnam(name);
    if (g == NULL) {
        /* Like every bad setting: the variable is named, its value is not. */
        snprintf(err, errlen, "SUPPORT_LISTEN_GROUP: no such group on this system%s%s",
                 errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
        return false;
    }
    *gid = g->gr_gid;
    return true;
}

/* Whether a process listens on the unix socket at path: a connect that
 * is accepted, or waits in a full backlog (EAGAIN, not blocking), has a
 * listener; one refused is a stale socket nobody holds. Any other error
 * (EACCES: another user's) cannot tell: *e says it. */
static bool
socket_answers(const char *path, int *e)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);   /* config: < 108 bytes */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *e = errno;
        return true;
    }
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    *e = rc == 0 ? 0 : errno;
    close(fd);
    return *e != ECONNREFUSED && *e != ENOENT;
}

/* nginx workers run as another user (ARCHITECTURE.md pitfalls): the
 * socket is theirs through its group, not through world access. It is
 * created owner-only, so no client can connect before its group and mode
 * are set. */
static int
open_socket(struct sp_server *s)
{
    int backlog = s->backlog > 0 ? s->backlog : sp_server_somaxconn();
    /* A stale socket from a killed master is replaced; anything else at
     * the path (a file, a directory: a mistyped setting) is not ours to
     * delete, and neither is a socket a running master listens on (QA: a
     * second start took the path from the first, which kept running
     * unreachable while nginx answered 502). The path is a unix socket's
     * (config: never TCP). */
    struct stat st;
    if (lstat(s->listen, &st) == 0) {
        int e;
        if (!S_ISSOCK(st.st_mode)) {
            errno = EEXIST;
            return -1;
        }
        if (socket_answers(s->listen, &e)) {
            errno = e == 0 || e == EAGAIN ? EADDRINUSE : e;
            return -1;
        }
        unlink(s->listen);
    }
    mode_t old = umask(0177);
    int sock = FCGX_OpenSocket(s->listen, backlog);
    umask(old);
    if (sock < 0)
        return sock;
    if ((s->listen_gid != (gid_t)-1 && chown(s->listen, (uid_t)-1, s->listen_gid) != 0)
        || chmod(s->listen, (mode_t)s->listen_mode) != 0) {
        int e = errno;
        close(sock);
        unlink(s->listen);
        errno = e;
        return -1;
    }
    return sock;
}

/* The master's children: the current generation, one per slot, and the
 * workers a reload replaced, which finish their request in flight and
 * exit (drained like any worker at shutdown). */
struct pool {
    int n;
    pid_t pids[SP_MAX_WORKERS];
    time_t started[SP_MAX_WORKERS];
    pid_t retiring[SP_MAX_RETIRING];
    int nretiring;
};

static bool
forget_retired(struct pool *pl, pid_t dead)
{
    for (int i = 0; i < pl->nretiring; i++) {
        if (pl->retiring[i] != dead)
            continue;
        pl->retiring[i] = pl->retiring[--pl->nretiring];
        struct sp_log_line *l = sp_log_begin(SP_LOG_INFO, "worker_retired");
        sp_log_int(l, "worker_pid", dead);
        sp_log_end(l);
        return true;
    }
    return false;
}

static void
reap(struct sp_server *s, int sock, struct pool *pl, const sigset_t *worker_mask)
{
    int status;
    pid_t dead;
    while ((dead = waitpid(-1, &status, WNOHANG)) > 0) {
        if (forget_retired(pl, dead))
            continue;
        for (int i = 0; i < pl->n; i++) {
            if (pl->pids[i] != dead)
                continue;
            struct sp_log_line *dl = sp_log_begin(SP_LOG_WARN, "worker_exited");
            sp_log_int(dl, "worker_pid", dead);
            sp_log_int(dl, "status", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
            sp_log_int(dl, "signal", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
            sp_log_end(dl);
            pl->pids[i] = 0;
            if (got_stop)
                break;
            /* A worker dying right after start would spin: slow it down. */
            if (time(NULL) - pl->started[i] < 1)
                sleep(1);
            pl->pids[i] = spawn(s, sock, worker_mask);
            pl->started[i] = time(NULL);
            sp_metrics_count(SP_M_WORKER_RESTARTS);
        }
    }
}

/* SIGHUP. The master re-reads the settings and secrets and, when they are
 * good, replaces every worker with a fork of the new state: a worker
 * respawned later (after a crash) is forked from the same state, so no
 * worker can serve settings older than the master's. Bad settings keep
 * the old ones, and the old workers. */
static void
reload(struct sp_server *s, int sock, struct pool *pl, const sigset_t *worker_mask)
{
    if (s->reload == NULL || !s->reload(s->app)) {
        sp_log_msg(SP_LOG_ERROR, "reload_failed", "kept the previous settings and workers");
        return;
    }
    for (int i = 0; i < pl->n; i++) {
        pid_t old = pl->pids[i];
        /* The new worker first: the socket never lacks an acceptor. */
        pl->pids[i] = spawn(s, sock, worker_mask);
        pl->started[i] = time(NULL);
        if (old <= 0)
            continue;
        kill(old, SIGTERM);
        /* Beyond the bound (reloads faster than workers drain) the old
         * worker is still reaped, only not waited for at shutdown. */
        if (pl->nretiring < SP_MAX_RETIRING)
            pl->retiring[pl->nretiring++] = old;
    }
    sp_metrics_count(SP_M_RELOADS);
    sp_log_msg(SP_LOG_INFO, "reloaded", "settings reloaded; workers replaced");
}

static void
signal_listed(pid_t *pids, int n, int sig)
{
    for (int i = 0; i < n; i++)
        if (pids[i] > 0)
            kill(pids[i], sig);
}

/* Reaps those of the listed children that exited; returns how many live. */
static int
collect_listed(pid_t *pids, int n, bool block)
{
    int alive = 0;
    for (int i = 0; i < n; i++) {
        if (pids[i] <= 0)
            continue;
        if (waitpid(pids[i], NULL, block ? 0 : WNOHANG) == pids[i])
            pids[i] = 0;
        else
            alive++;
    }
    return alive;
}

/* At shutdown, before the drain: the socket's path goes, so a request
 * that arrives while the workers finish theirs fails at once (nginx: 502)
 * instead of waiting in the backlog for the drain to end, and a new
 * master may bind the path meanwhile. Only while the path is still ours:
 * one started since owns it now. */
static void
release_path(const struct sp_server *s, const struct stat *ours)
{
    struct stat named;
    if (stat(s->listen, &named) != 0)
        return;
    if (ours->st_dev == named.st_dev && ours->st_ino == named.st_ino)
        unlink(s->listen);
}

/* Shutdown: every worker, current or retiring, finishes its request in
 * flight; stragglers are killed after SP_DRAIN_SECONDS. */
static void
drain(struct pool *pl)
{
    signal_listed(pl->pids, pl->n, SIGTERM);
    signal_listed(pl->retiring, pl->nretiring, SIGTERM);
    time_t deadline = time(NULL) + SP_DRAIN_SECONDS;
    while (collect_listed(pl->pids, pl->n, false) +
                   collect_listed(pl->retiring, pl->nretiring, false) > 0 &&
           time(NULL) < deadline)
        usleep(20 * 1000);
    signal_listed(pl->pids, pl->n, SIGKILL);
    signal_listed(pl->retiring, pl->nretiring, SIGKILL);
    collect_listed(pl->pids, pl->n, true);
    collect_listed(pl->retiring, pl->nretiring, true);
}

static void
block_signals(sigset_t *old)
{
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, old);
    install(SIGTERM, on_signal);
    install(SIGINT, on_signal);
    install(SIGHUP, on_signal);
    install(SIGCHLD, on_signal);
    signal(SIGPIPE, SIG_IGN);
}

int
sp_server_run(struct sp_server *s)
{
    if (FCGX_Init() != 0) {
        sp_log_msg(SP_LOG_FATAL, "fcgx_init_failed", "FCGX_Init failed");
        return 1;
    }
    int sock = open_socket(s);
    if (sock < 0) {
        sp_log_msg(SP_LOG_FATAL, "listen_failed", "cannot listen on %s: %s", s->listen,
                   errno == EEXIST       ? "something other than a socket is there"
                   : errno == EADDRINUSE ? "a running process listens on it (stop it first)"
                                         : strerror(errno));
        return 1;
    }
    /* The path as bound (a socket's fstat names no file): release_path. */
    struct stat bound = {0};
    (void)stat(s->listen, &bound);
    /* Before the first fork: every worker, respawned ones too, shares it. */
    if (!sp_metrics_init(s->nroutes))
        sp_log_msg(SP_LOG_ERROR, "metrics_unavailable", "cannot map the counters: %s",
                   strerror(errno));
    static struct pool pl;
    memset(&pl, 0, sizeof(pl));
    pl.n = s->workers < 1 ? 1 : (s->workers > SP_MAX_WORKERS ? SP_MAX_WORKERS : s->workers);
    /* The master's signals are only delivered inside sigsuspend(); old is
     * the mask the workers get back. */
    sigset_t old;
    block_signals(&old);
    for (int i = 0; i < pl.n; i++) {
        pl.pids[i] = spawn(s, sock, &old);
        pl.started[i] = time(NULL);
    }
    struct sp_log_line *l = sp_log_begin(SP_LOG_INFO, "server_started");
    sp_log_str(l, "listen", s->listen);
    sp_log_int(l, "workers", pl.n);
    sp_log_end(l);

    while (!got_stop) {
        sigsuspend(&old);
        if (got_hup) {
            got_hup = 0;
            reload(s, sock, &pl, &old);
        }
        if (got_chld) {
            got_chld = 0;
            reap(s, sock, &pl, &old);
        }
    }

    sp_log_msg(SP_LOG_INFO, "draining", "stopping workers");
    release_path(s, &bound);
    drain(&pl);
    close(sock);
    sp_log_msg(SP_LOG_INFO, "stopped", "all workers exited");
    return 0;
}
