/*
 * slots: node-wide slots as locked files. See slots.h.
 */
#include "core/slots.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

enum sp_slot
sp_slot_take(const char *dir, const char *name, long n, int *fd)
{
    *fd = -1;
    char path[4096];
    for (long i = 0; i < n; i++) {
        int len = snprintf(path, sizeof(path), "%s/%s.%ld", dir, name, i);
        if (len < 0 || (size_t)len >= sizeof(path)) {
            errno = ENAMETOOLONG;
            return SP_SLOT_FAILED;
        }
        int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (f < 0)
            return SP_SLOT_FAILED;
        int rc;
        while ((rc = flock(f, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR)
            ;
        if (rc == 0) {
            *fd = f;
            return SP_SLOT_TAKEN;
        }
        int why = errno;
        close(f);
        if (why != EWOULDBLOCK) {
            errno = why;
            return SP_SLOT_FAILED;
        }
    }
    return SP_SLOT_FULL;
}

void
sp_slot_release(int fd)
{
    /* The lock goes with the last descriptor of the open file: ours. */
    if (fd >= 0)
        close(fd);
}

const char *
sp_slot_dir_of(const char *path, char *out, size_t outlen)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);
    if (n + 1 > outlen)
        return NULL;
    memcpy(out, slash == NULL ? "." : path, n);
    out[n] = '\0';
    return out;
}
