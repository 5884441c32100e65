/*
 * clamd: a client of ClamAV's daemon over its unix socket (the INSTREAM
 * command: the file is streamed in chunks, so clamd needs no access to
 * our storage). Must not: know what is being scanned or decide what a
 * result means for it (domain/attachment_scan does).
 */
#ifndef SP_CLAMD_H
#define SP_CLAMD_H

#include <stddef.h>

enum sp_clamd_result {
    SP_CLAMD_CLEAN,        /* "stream: OK" */
    SP_CLAMD_FOUND,        /* "stream: <signature> FOUND": detail names it */
    SP_CLAMD_ERROR,        /* clamd answered an error (e.g. a size limit) */
    SP_CLAMD_UNAVAILABLE   /* no clamd at socket, or the exchange broke off */
};

/* Scans what fd reads from offset 0, 64 KiB per chunk. detail gets the
 * signature name or the reason (never the file's content). */
enum sp_clamd_result sp_clamd_scan_fd(const char *socket_path, int fd, int timeout_s,
                                      char *detail, size_t detail_len);

#endif
