/*
 * fd: whole writes to a file descriptor. write(2) may write less than
 * asked (a pipe, a signal) and may be interrupted; every caller that
 * must put all of its bytes down loops the same way, here.
 * Must not: know what the bytes are, or close the descriptor.
 */
#ifndef SP_FD_H
#define SP_FD_H

#include <stdbool.h>
#include <stddef.h>

/* Writes all n bytes of p to fd, again after EINTR; false (errno set) on
 * an error or a write of nothing. */
bool sp_fd_write_all(int fd, const void *p, size_t n);

#endif
