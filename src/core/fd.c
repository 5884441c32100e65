/*
 * fd: whole writes, and a small file read whole. See fd.h.
 */
#include "core/fd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

bool
sp_fd_write_all(int fd, const void *p, size_t n)
{
    const char *d = p;
    while (n > 0) {
        ssize_t k = write(fd, d, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = EIO;
            return false;
        }
        d += k;
        n -= (size_t)k;
    }
    return true;
}

enum sp_fd_read
sp_fd_read_file(const char *path, size_t max, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return SP_FD_READ_UNOPENED;
    char *buf = malloc(max + 2);
    if (buf == NULL)
        abort();
    size_t got = 0;
    ssize_t k;
    do {   /* up to max + 1 bytes: the one past max says the file is too long */
        k = read(fd, buf + got, max + 1 - got);
        if (k > 0)
            got += (size_t)k;
    } while ((k > 0 && got <= max) || (k < 0 && errno == EINTR));
    close(fd);
    if (k < 0 || got > max) {
        free(buf);
        return SP_FD_READ_FAILED;
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return SP_FD_READ_OK;
}
