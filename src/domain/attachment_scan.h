/*
 * attachment_scan: what happens to attachments outside requests — the
 * virus scan of uploads (API.md §10, clamd INSTREAM: pending → clean,
 * infected with the file deleted, or failed after repeated clamd errors;
 * never clean unscanned: while clamd is unreachable rows stay pending and
 * the pass ends, to be retried) and the cleanup (rows never uploaded
 * after a day, uploads attached to nothing after
 * SUPPORT_ATTACHMENT_UNATTACHED_HOURS with their files, files in storage
 * that no row names after an hour, and the objects of keys rows forgot,
 * sql/049 — a bucket is never listed).
 * Run by support-scan (--loop, woken by NOTIFY support_attachment_scan)
 * and attachment-cleanup (cron).
 * Must not: know HTTP.
 */
#ifndef SP_ATTACHMENT_SCAN_H
#define SP_ATTACHMENT_SCAN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log.h"
#include "core/problem.h"

struct sp_attachment_files;
struct sp_db;

#define SP_ATTACHMENT_SCAN_LOCK_KEY 7311950LL
#define SP_ATTACHMENT_CLEANUP_LOCK_KEY 0x535041544344454CLL /* "SPATCDEL" */
#define SP_ATTACHMENT_SCAN_CHANNEL "support_attachment_scan"
#define SP_ATTACHMENT_SCAN_MAX_ERRORS 5   /* clamd errors before failed */

#define SP_ATTACHMENT_SCAN_COUNTS(F) F(ingested) F(clean) F(infected) F(failed) F(retry) F(errors)
struct sp_attachment_scan_counts {
    SP_ATTACHMENT_SCAN_COUNTS(SP_LOG_COUNT_MEMBER)
    bool clamd_down;
};

/* Scans every uploaded pending attachment that is due (its bytes where
 * files keeps them), one clamd exchange each; ends early (errors 1,
 * clamd_down) when clamd cannot be reached. With a bucket, first takes in
 * the uploads clients made to it (rows created in the last
 * upload_window_s seconds whose object now exists: fetched, checked for
 * size and type, recorded, scanned). SP_CONFLICT when another scanner
 * holds the lock. loop: a daemon's pass, whose idle passes are logged at
 * debug (a --once pass always at info). */
enum sp_rc sp_attachment_scan_pass(struct sp_db *db, const char *clamd_socket,
                                   const struct sp_attachment_files *files, long upload_window_s,
                                   bool dry_run, bool loop, volatile sig_atomic_t *stop,
                                   struct sp_attachment_scan_counts *n, struct sp_problem *p);

/* Removes the bytes stored under key (a file, or an object of the
 * bucket), which the statement that forgot the key noted in
 * support_attachment_deletions, then the note. false (err) when they
 * could not be removed: the note stays, and attachment-cleanup removes
 * them after an hour (sql/049). The one way a row's file goes: the
 * cleanup's, an infected verdict's, a delete's and a redaction's. */
struct sp_arena;
bool sp_attachment_drop_stored(struct sp_db *db, struct sp_arena *a,
                               const struct sp_attachment_files *files, const char *key,
                               char *err, size_t errlen);

#define SP_ATTACHMENT_CLEANUP_COUNTS(F) F(rows) F(files) F(foreign) F(errors)
struct sp_attachment_cleanup_counts {
    SP_ATTACHMENT_CLEANUP_COUNTS(SP_LOG_COUNT_MEMBER)
};

/* Deletes rows created before now - 1 day and never uploaded (with a
 * bucket, their objects too, should any have come late); rows uploaded
 * before now - unattached_hours, attached to nothing and clean or failed
 * (a file kept), and rows whose message was deleted (attached once, no
 * link left), then their stored files; and files of the directory older
 * than an hour that no row names, and the objects support_attachment_deletions
 * names (keys no row names any more, or not yet after an hour: a failed
 * delete, a crash). Only files named like a stored key are ever deleted
 * from the directory; foreign counts the others, which stay. rows counts
 * every kind of row, files the files removed (dry_run: that would be).
 * One run at a time across the cluster: SP_CONFLICT (nothing done) while
 * another holds the lock; a dry run changes nothing and takes none. */
enum sp_rc sp_attachment_cleanup_pass(struct sp_db *db, const struct sp_attachment_files *files,
                                      int64_t now_ms, long unattached_hours, bool dry_run,
                                      struct sp_attachment_cleanup_counts *n,
                                      struct sp_problem *p);

#endif
