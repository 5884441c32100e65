/*
 * fd: whole writes to a file descriptor, and a small file read whole.
 * write(2) may write less than asked (a pipe, a signal) and may be
 * interrupted; every caller that must put all of its bytes down loops the
 * same way, here. A setting's file (a secret, a key file) is read whole
 * at start-up under a bound, here too, so each reader keeps only its
 * own words for what went wrong.
 * Must not: know what the bytes are, or close a descriptor it was given.
 */
#ifndef SP_FD_H
#define SP_FD_H

#include <stdbool.h>
#include <stddef.h>

/* Writes all n bytes of p to fd, again after EINTR; false (errno set) on
 * an error or a write of nothing. */
bool sp_fd_write_all(int fd, const void *p, size_t n);

enum sp_fd_read {
    SP_FD_READ_OK,
    SP_FD_READ_UNOPENED,   /* open(2) failed: errno says why */
    SP_FD_READ_FAILED,     /* a read failed (a directory), or over max bytes */
};

/* The file at path read whole when it holds at most max bytes: *out its
 * bytes and a NUL after them (malloc'ed, the caller frees it), *len not
 * counting the NUL. Otherwise *out is NULL. Aborts when out of memory:
 * these files are read at start-up (STYLE.md). */
enum sp_fd_read sp_fd_read_file(const char *path, size_t max, char **out, size_t *len);

#endif
