/*
 * clamd: INSTREAM over a unix socket. See clamd.h.
 */
#include "core/clamd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

static int
connect_clamd(const char *path, int timeout_s)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    strcpy(sa.sun_path, path);  /* length checked above */
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    struct timeval tv = {timeout_s, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(s);
        return -1;
    }
    return s;
}

static bool
send_all(int s, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t k = send(s, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* Streams fd as INSTREAM chunks, then the zero-length end. */
static bool
stream_file(int s, int fd)
{
    static char buf[CHUNK];
    if (lseek(fd, 0, SEEK_SET) != 0 || !send_all(s, "zINSTREAM", 10))
        return false;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return false;
        uint32_t len = htonl((uint32_t)n);
        if (!send_all(s, &len, 4) || (n > 0 && !send_all(s, buf, (size_t)n)))
            return false;
        if (n == 0)
            return true;
    }
}

/* The reply up to its NUL (or the connection's end). */
static bool
read_reply(int s, char *out, size_t cap)
{
    size_t got = 0;
    while (got + 1 < cap) {
        ssize_t k = recv(s, out + got, cap - 1 - got, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
        if (memchr(out, '\0', got) != NULL)
            break;
    }
    out[got] = '\0';
    return got > 0;
}

enum sp_clamd_result
sp_clamd_scan_fd(const char *socket_path, int fd, int timeout_s, char *detail,
                 size_t detail_len)
{
    snprintf(detail, detail_len, "%s", "");
    int s = connect_clamd(socket_path, timeout_s);
    if (s < 0) {
        snprintf(detail, detail_len, "cannot connect to clamd: %s", strerror(errno));
        return SP_CLAMD_UNAVAILABLE;
    }
    char reply[512];
    bool ok = stream_file(s, fd);
    /* clamd may answer early (a size limit) and close: read what it said. */
    bool answered = read_reply(s, reply, sizeof(reply));
    close(s);
    if (!answered) {
        snprintf(detail, detail_len, "clamd did not answer%s", ok ? "" : " (stream broken)");
        return SP_CLAMD_UNAVAILABLE;
    }
    const char *msg = strncmp(reply, "stream: ", 8) == 0 ? reply + 8 : reply;
    size_t n = strlen(msg);
    if (strcmp(msg, "OK") == 0)
        return SP_CLAMD_CLEAN;
    if (n > 6 && strcmp(msg + n - 6, " FOUND") == 0) {
        snprintf(detail, detail_len, "%.*s", (int)(n - 6), msg);
        return SP_CLAMD_FOUND;
    }
    snprintf(detail, detail_len, "%.200s", msg);
    return SP_CLAMD_ERROR;
}
