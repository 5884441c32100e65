/*
 * hello-fcgi: the benchmark baseline. A plain libfcgi prefork server that
 * answers every request with 200 {"hello":"world"}; no routing, no database.
 * Env: HELLO_LISTEN (unix socket path, required), HELLO_WORKERS (default 2).
 */
#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
    (void)sig;
    stopping = 1;
}

static void
serve(int fd)
{
    static const char reply[] =
        "Status: 200 OK\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 17\r\n\r\n"
        "{\"hello\":\"world\"}";
    FCGX_Request req;

    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    if (FCGX_InitRequest(&req, fd, 0) != 0)
        _exit(1);
    while (FCGX_Accept_r(&req) >= 0) {
        FCGX_PutStr(reply, (int)sizeof(reply) - 1, req.out);
        FCGX_Finish_r(&req);
    }
    _exit(0);
}

int
main(void)
{
    const char *path = getenv("HELLO_LISTEN");
    const char *w = getenv("HELLO_WORKERS");
    int nworkers = w != NULL ? atoi(w) : 2;
    pid_t pids[256];
    struct sigaction sa = { .sa_handler = on_stop };
    int fd, i, status;

    if (path == NULL || *path == '\0') {
        fprintf(stderr, "hello-fcgi: HELLO_LISTEN is not set\n");
        return 2;
    }
    if (nworkers < 1 || nworkers > 256)
        nworkers = 2;
    if (FCGX_Init() != 0 || (fd = FCGX_OpenSocket(path, 1024)) < 0) {
        fprintf(stderr, "hello-fcgi: cannot listen on %s\n", path);
        return 1;
    }
    if (chmod(path, 0666) != 0)
        perror("hello-fcgi: chmod");
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    for (i = 0; i < nworkers; i++)
        if ((pids[i] = fork()) == 0)
            serve(fd);
    fprintf(stderr, "hello-fcgi: %d workers on %s\n", nworkers, path);
    while (!stopping) {
        pid_t dead = wait(&status);
        if (dead < 0 && errno != EINTR)
            break;
        for (i = 0; i < nworkers && !stopping; i++)
            if (pids[i] == dead && (pids[i] = fork()) == 0)
                serve(fd);      /* respawn a crashed worker */
    }
    for (i = 0; i < nworkers; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGTERM);
    while (wait(&status) > 0 || errno == EINTR)
        ;
    unlink(path);
    return 0;
}
