/*
 * fd: whole writes. See fd.h.
 */
#include "core/fd.h"

#include <errno.h>
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
