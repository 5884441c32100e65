/*
 * attachment_scan: the scan and cleanup passes. See attachment_scan.h.
 *
 * Each decision is one statement guarded by status = 'pending', so a
 * second scanner (a --once run next to the daemon) can only repeat a
 * verdict, never undo one. An infected file is deleted after its row
 * says infected (and forgets the storage key, which the same statement
 * puts in support_attachment_deletions): if the delete fails, or the
 * scanner dies first, the cleanup deletes it later (sql/049), and it is
 * never served meanwhile since only clean rows are.
 */
#include "domain/attachment_scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/clamd.h"
#include "core/log.h"
#include "db/db.h"
#include "domain/attachment_files.h"
#include "domain/attachments.h"

#define CLAMD_TIMEOUT_S 60
#define BATCH 50
#define ORPHAN_AGE_S 3600
#define ORPHAN_BATCH 200

static struct sp_stmt due_stmt = SP_STMT_READ(
    "attachment_scan_due",
    "SELECT id, storage_key, scan_attempts FROM support_attachments"
    " WHERE status = 'pending' AND uploaded_at IS NOT NULL"
    "   AND (next_scan_at IS NULL OR next_scan_at <= now())"
    " ORDER BY uploaded_at, id LIMIT 50",
    0);

/* $2 the verdict, $3 clamd's words; infected rows forget their file,
 * whose key goes to support_attachment_deletions in the same statement
 * (o: the key before the update). A
 * file a ticket message lists while it waits (a mail's, domain/mail_in)
 * gets the verdict in the message's list too, and its ticket a new
 * version: its representation changed (ETags, the customer view cache). */
static struct sp_stmt verdict_stmt = SP_STMT(
    "attachment_scan_verdict",
    "WITH o AS (SELECT id, storage_key FROM support_attachments"
    "  WHERE id = $1 AND status = 'pending' FOR UPDATE),"
    " v AS (UPDATE support_attachments a SET status = $2, scan_result = $3, scanned_at = now(),"
    "  storage_key = CASE WHEN $2 = 'infected' THEN NULL ELSE a.storage_key END,"
    "  scan_attempts = a.scan_attempts + 1"
    "  FROM o WHERE a.id = o.id AND a.status = 'pending'"
    "  RETURNING a.id, a.message_id, o.storage_key AS old_key),"
    " d AS (INSERT INTO support_attachment_deletions (storage_key)"
    "  SELECT old_key FROM v WHERE $2 = 'infected' AND old_key IS NOT NULL"
    "  ON CONFLICT DO NOTHING),"
    " m AS (UPDATE support_ticket_messages m SET attachments = (SELECT jsonb_agg("
    "   CASE WHEN x.e->>'id' = v.id THEN x.e || jsonb_build_object('status', $2::text)"
    "   ELSE x.e END ORDER BY x.ord)"
    "   FROM jsonb_array_elements(m.attachments) WITH ORDINALITY AS x(e, ord))"
    "  FROM v WHERE m.id = v.message_id AND jsonb_array_length(m.attachments) > 0"
    "  RETURNING m.ticket_id),"
    " t AS (UPDATE support_tickets t SET version = t.version + 1 FROM m"
    "  WHERE t.id = m.ticket_id RETURNING 1)"
    " SELECT count(*) FROM v",
    3);

/* clamd answered an error: try again later, up to a limit. */
static struct sp_stmt retry_stmt = SP_STMT(
    "attachment_scan_retry",
    "UPDATE support_attachments SET scan_attempts = scan_attempts + 1, scan_result = $2,"
    " next_scan_at = now() + least(power(2, scan_attempts), 300) * interval '1 second'"
    " WHERE id = $1 AND status = 'pending'",
    2);

/* Their ids: a bucket may hold an object that came too late to be taken in. */
static struct sp_stmt stale_stmt = SP_STMT(
    "attachment_cleanup_rows",
    "DELETE FROM support_attachments WHERE uploaded_at IS NULL"
    " AND created_at < support_from_ms($1::bigint) - interval '1 day' RETURNING id",
    1);
static struct sp_stmt stale_count_stmt = SP_STMT_READ(
    "attachment_cleanup_rows_count",
    "SELECT count(*) FROM support_attachments WHERE uploaded_at IS NULL"
    " AND created_at < support_from_ms($1::bigint) - interval '1 day'",
    1);

/* Uploads attached to nothing (no ticket message, no chat message) for
 * $2 hours since their upload whose file is kept: clean or failed (a
 * pending one waits for the scanner; an infected one lost its file with
 * the verdict, and its row stays, API.md §10). One statement: an attach in flight holds the row (its
 * UPDATE) until it commits; the delete then re-checks the row, finds
 * attached_at set and leaves it, or deletes first and the attach finds
 * nothing and refuses the list (unknown_attachment). A message never
 * names an upload whose file is gone. */
#define UNATTACHED_WHERE                                                                    \
    " WHERE uploaded_at IS NOT NULL AND attached_at IS NULL AND message_id IS NULL"          \
    " AND chat_message_id IS NULL AND status IN ('clean', 'failed')"                         \
    " AND uploaded_at < support_from_ms($1::bigint) - $2::bigint * interval '1 hour'"
static struct sp_stmt unattached_stmt = SP_STMT(
    "attachment_cleanup_unattached",
    "WITH d AS (DELETE FROM support_attachments" UNATTACHED_WHERE " RETURNING id, storage_key),"
    " k AS (INSERT INTO support_attachment_deletions (storage_key)"
    "  SELECT storage_key FROM d WHERE storage_key IS NOT NULL ON CONFLICT DO NOTHING)"
    " SELECT id, storage_key FROM d",
    2);
static struct sp_stmt unattached_count_stmt = SP_STMT_READ(
    "attachment_cleanup_unattached_count",
    "SELECT count(*), count(storage_key) FROM support_attachments" UNATTACHED_WHERE, 2);

/* Uploads whose message was deleted (an operator's retention deleting a
 * ticket or a chat: the links are ON DELETE SET NULL), attached once and
 * to nothing now (sql/073). At once: no attach can take them again (it
 * needs attached_at NULL), and no message names them. */
#define DETACHED_WHERE                                                                      \
    " WHERE attached_at IS NOT NULL AND message_id IS NULL AND chat_message_id IS NULL"
static struct sp_stmt detached_stmt = SP_STMT(
    "attachment_cleanup_detached",
    "WITH d AS (DELETE FROM support_attachments" DETACHED_WHERE " RETURNING id, storage_key),"
    " k AS (INSERT INTO support_attachment_deletions (storage_key)"
    "  SELECT storage_key FROM d WHERE storage_key IS NOT NULL ON CONFLICT DO NOTHING)"
    " SELECT id, storage_key FROM d",
    0);
static struct sp_stmt detached_count_stmt = SP_STMT_READ(
    "attachment_cleanup_detached_count",
    "SELECT count(*), count(storage_key) FROM support_attachments" DETACHED_WHERE, 0);

static struct sp_stmt orphans_stmt = SP_STMT_READ(
    "attachment_cleanup_orphans",
    "SELECT k FROM unnest($1::text[]) AS k"
    " WHERE NOT EXISTS (SELECT 1 FROM support_attachments a WHERE a.storage_key = k)",
    1);

/* --- objects to delete (sql/049) ---------------------------------------- */

/* Before a checked copy is stored under a new key: should the scanner die
 * before the row names it, the cleanup deletes it. */
static struct sp_stmt deletion_intent_stmt = SP_STMT(
    "attachment_deletion_intent",
    "INSERT INTO support_attachment_deletions (storage_key) VALUES ($1) ON CONFLICT DO NOTHING",
    1);
/* The object is gone. */
static struct sp_stmt deletion_done_stmt = SP_STMT(
    "attachment_deletion_done",
    "DELETE FROM support_attachment_deletions WHERE storage_key = $1", 1);
/* Keys whose row was recorded (an ingest that went through): kept. */
static struct sp_stmt deletions_named_stmt = SP_STMT(
    "attachment_deletions_named",
    "DELETE FROM support_attachment_deletions d"
    " WHERE EXISTS (SELECT 1 FROM support_attachments a WHERE a.storage_key = d.storage_key)",
    0);
#define DELETIONS_DUE_WHERE                                                                 \
    " WHERE created_at < support_from_ms($1::bigint) - interval '1 hour' AND NOT EXISTS"     \
    " (SELECT 1 FROM support_attachments a WHERE a.storage_key = d.storage_key)"
static struct sp_stmt deletions_due_stmt = SP_STMT_READ(
    "attachment_deletions_due",
    "SELECT storage_key FROM support_attachment_deletions d" DELETIONS_DUE_WHERE
    " ORDER BY created_at, storage_key LIMIT 200",
    1);
static struct sp_stmt deletions_due_count_stmt = SP_STMT_READ(
    "attachment_deletions_due_count",
    "SELECT count(*) FROM support_attachment_deletions d" DELETIONS_DUE_WHERE, 1);

bool
sp_attachment_drop_stored(struct sp_db *db, struct sp_arena *a,
                          const struct sp_attachment_files *files, const char *key, char *err,
                          size_t errlen)
{
    struct sp_problem p;
    sp_problem_init(&p);
    if (!sp_attachment_files_remove(files, a, key, err, errlen))
        return false;
    /* A note left behind only makes the cleanup delete nothing again. */
    (void)sp_db_exec(db, a, &deletion_done_stmt, (const char *const[]){key}, &p);
    return true;
}

static void
log_item(enum sp_log_level level, const char *event, const char *id, const char *detail)
{
    struct sp_log_line *l = sp_log_begin(level, event);
    sp_log_str(l, "attachment_id", id);
    if (detail != NULL && *detail != '\0')
        sp_log_str(l, "detail", detail);
    sp_log_end(l);
}

static bool
exec_ok(struct sp_db *db, struct sp_arena *a, struct sp_stmt *st, const char *const *params)
{
    struct sp_problem p;
    sp_problem_init(&p);
    return sp_db_exec(db, a, st, params, &p) != NULL;
}

/* What one pass works with. */
struct scan_job {
    struct sp_db *db;
    const char *clamd_socket;
    const struct sp_attachment_files *files;
    long upload_window_s;
    bool dry_run;
    volatile sig_atomic_t *stop;
    struct sp_attachment_scan_counts *n;
};

/* Records what clamd said about id; false when clamd is down (the pass
 * stops: every other file would fail the same way). */
static bool
decide(const struct scan_job *j, struct sp_arena *a, const char *id, const char *key,
       enum sp_clamd_result res, const char *detail)
{
    const char *params[3] = {id, NULL, detail};
    char err[256];
    switch (res) {
    case SP_CLAMD_CLEAN:
        params[1] = "clean";
        params[2] = "OK";
        j->n->clean += exec_ok(j->db, a, &verdict_stmt, params);
        log_item(SP_LOG_INFO, "attachment_clean", id, NULL);
        return true;
    case SP_CLAMD_FOUND:
        params[1] = "infected";
        if (exec_ok(j->db, a, &verdict_stmt, params)) {
            j->n->infected++;
            if (!sp_attachment_drop_stored(j->db, a, j->files, key, err, sizeof(err)))
                log_item(SP_LOG_ERROR, "attachment_unlink_failed", id, err);  /* cleanup retries */
        }
        log_item(SP_LOG_WARN, "attachment_infected", id, detail);
        return true;
    case SP_CLAMD_ERROR:
        j->n->retry += exec_ok(j->db, a, &retry_stmt, (const char *const[]){id, detail});
        log_item(SP_LOG_WARN, "attachment_scan_error", id, detail);
        return true;
    case SP_CLAMD_UNAVAILABLE:
    default:
        j->n->clamd_down = true;
        j->n->errors++;
        log_item(SP_LOG_WARN, "clamd_unavailable", id, detail);
        return false;
    }
}

/* Scans the bytes open as fd (closed here); false when the pass must stop. */
static bool
scan_fd(const struct scan_job *j, struct sp_arena *a, const char *id, const char *key, int fd,
        long long attempts)
{
    char detail[256];
    enum sp_clamd_result res = sp_clamd_scan_fd(j->clamd_socket, fd, CLAMD_TIMEOUT_S, detail,
                                                sizeof(detail));
    close(fd);
    if (j->dry_run) {
        log_item(SP_LOG_INFO, "attachment_scan_dry_run", id, detail);
        return res != SP_CLAMD_UNAVAILABLE;
    }
    if (res == SP_CLAMD_ERROR && attempts + 1 >= SP_ATTACHMENT_SCAN_MAX_ERRORS) {
        j->n->failed += exec_ok(j->db, a, &verdict_stmt,
                                (const char *const[]){id, "failed", detail});
        log_item(SP_LOG_ERROR, "attachment_scan_failed", id, detail);
        return true;
    }
    return decide(j, a, id, key, res, detail);
}

/* One due row; false when the pass must stop. Bytes that are gone fail
 * the row; a bucket that does not answer is retried later. */
static bool
scan_one(const struct scan_job *j, struct sp_arena *a, const char *id, const char *key,
         long long attempts)
{
    char err[256] = "no storage key";
    bool missing = key == NULL;
    int fd = key != NULL ? sp_attachment_files_open(j->files, key, SP_ATTACHMENT_MAX_BYTES,
                                                    &missing, err, sizeof(err))
                         : -1;
    if (fd >= 0)
        return scan_fd(j, a, id, key, fd, attempts);
    if (!missing && j->files->s3 != NULL) {
        j->n->errors++;
        j->n->retry += !j->dry_run && exec_ok(j->db, a, &retry_stmt,
                                              (const char *const[]){id, "store unreachable"});
        log_item(SP_LOG_WARN, "attachment_fetch_failed", id, err);
        return true;
    }
    log_item(SP_LOG_ERROR, "attachment_file_missing", id, err);
    j->n->failed += j->dry_run || exec_ok(j->db, a, &verdict_stmt,
                                          (const char *const[]){id, "failed", "file missing"});
    return true;
}

/* A pass that found nothing is at debug in a loop (a line every
 * --interval, 2 s in the dev stack, would bury the others); a --once
 * pass's is at info, as every job's pass line is. */
static void
log_scan(enum sp_rc rc, bool loop, const struct sp_attachment_scan_counts *n,
         const struct sp_problem *p)
{
    bool quiet = loop && rc == SP_OK && n->clean + n->infected + n->failed + n->retry +
                                                n->errors + n->ingested == 0;
    struct sp_log_line *l = sp_log_begin(quiet ? SP_LOG_DEBUG : sp_db_job_log_level(rc, p),
                                         "attachment_scan_pass");
    SP_LOG_COUNTS(l, SP_ATTACHMENT_SCAN_COUNTS, n);
    sp_db_job_log_detail(l, rc, p);
    sp_log_end(l);
}

/* Rows come in batches until none is due (each verdict takes its row out
 * of the next batch; a retried one gets a later next_scan_at). */
static enum sp_rc
scan_batches(const struct scan_job *j, struct sp_arena *page, struct sp_arena *work,
             struct sp_problem *p)
{
    for (;;) {
        sp_arena_reset(page);
        PGresult *r = sp_db_exec(j->db, page, &due_stmt, NULL, p);
        if (r == NULL)
            return p->rc;
        int rows = PQntuples(r);
        for (int i = 0; i < rows; i++) {
            if (j->stop && *j->stop)
                return SP_OK;
            sp_arena_reset(work);
            if (!scan_one(j, work, sp_db_str(r, i, 0), sp_db_str(r, i, 1), sp_db_int(r, i, 2)))
                return SP_OK;
        }
        if (rows < BATCH || j->dry_run)
            return SP_OK;
    }
}

/* --- uploads to the bucket ---------------------------------------------- */

/* A client PUTs to its presigned URL and tells us nothing: the pass looks
 * for the objects of rows still waiting for theirs, while their URL may
 * still be used ($1 seconds, the upload TTL and a margin), each again
 * after as long as it has waited so far (2 s, then up to every 30 s).
 * Those a client asked about (sql/072) come first, the latest asked
 * first: a pass takes 50, and a client waiting on its status must not
 * wait behind uploads that were never made. */
static struct sp_stmt awaited_stmt = SP_STMT_READ(
    "attachment_ingest_awaited",
    "SELECT id FROM support_attachments"
    " WHERE uploaded_at IS NULL AND status = 'pending' AND redacted_at IS NULL"
    "   AND created_at > now() - $1::integer * interval '1 second'"
    "   AND (next_scan_at IS NULL OR next_scan_at <= now())"
    " ORDER BY look_asked_at DESC NULLS LAST, created_at, id LIMIT 50",
    1);
static struct sp_stmt look_later_stmt = SP_STMT(
    "attachment_ingest_later",
    "UPDATE support_attachments SET next_scan_at = now() + least(greatest(now() - created_at,"
    " interval '2 seconds'), interval '30 seconds')"
    " WHERE id = $1 AND uploaded_at IS NULL",
    1);

/* The checked copy (fd) stored under a key of ours, noted first (sql/049);
 * the stored key, or NULL (logged, counted) to try again later. The
 * incoming object stays until the row names the copy: a failed record
 * takes the upload in again on a later pass rather than losing it. */
static const char *
keep_checked(const struct scan_job *j, struct sp_arena *a, const struct sp_attachment *row,
             int fd)
{
    char err[256];
    const char *key = sp_attachment_files_stored_key(a, j->files, row->id);
    if (!exec_ok(j->db, a, &deletion_intent_stmt, (const char *const[]){key})) {
        j->n->errors++;
        log_item(SP_LOG_WARN, "attachment_store_failed", row->id, "database");
        return NULL;
    }
    if (!sp_attachment_files_put(j->files, key, fd, row->size, row->content_type, err,
                                 sizeof(err))) {
        j->n->errors++;
        log_item(SP_LOG_WARN, "attachment_store_failed", row->id, err);
        return NULL;
    }
    return key;
}

/* The object arrived, fetched as fd (closed here): checked like an
 * upload through nginx (a wrong size or type fails the row and deletes
 * the object), kept under our own key (keep_checked), recorded and
 * scanned from the same copy. False when the pass must stop. */
static bool
ingest_present(const struct scan_job *j, struct sp_arena *a, const char *id, const char *key,
               int fd)
{
    struct sp_ctx ctx = {.arena = a, .db = j->db};
    struct sp_attachment row, stored;
    struct sp_problem p;
    sp_problem_init(&p);
    char err[256], sha[65];
    if (sp_attachment_get(&ctx, id, &row, &p) != SP_OK ||
        sp_attachment_check_upload(&ctx, &row, fd, sha, &p) != SP_OK) {
        close(fd);
        if (p.rc == SP_INVALID) {   /* size or type: the upload is refused */
            j->n->failed += exec_ok(j->db, a, &verdict_stmt,
                                    (const char *const[]){id, "failed", p.code});
            if (!sp_attachment_files_remove(j->files, a, key, err, sizeof(err)))
                log_item(SP_LOG_ERROR, "attachment_unlink_failed", id, err);
        } else {
            j->n->errors++;
        }
        log_item(SP_LOG_WARN, "attachment_upload_refused", id, p.detail);
        return true;
    }
    const char *kept = keep_checked(j, a, &row, fd);
    if (kept == NULL || sp_attachment_record_upload(&ctx, &row, sha, kept, &stored, &p) != SP_OK) {
        close(fd);
        if (kept != NULL)
            log_item(SP_LOG_WARN, "attachment_record_failed", id, p.detail);
        return true;
    }
    if (!sp_attachment_files_remove(j->files, a, key, err, sizeof(err)))
        log_item(SP_LOG_WARN, "attachment_unlink_failed", id, err);
    if (lseek(fd, 0, SEEK_SET) != 0) {   /* recorded: a later pass scans it */
        close(fd);
        return true;
    }
    j->n->ingested++;
    return scan_fd(j, a, id, kept, fd, 0);
}

/* One row waiting for its upload: one GET, whose 404 means "not yet";
 * false when the pass must stop. */
static bool
ingest_one(const struct scan_job *j, struct sp_arena *a, const char *id)
{
    const char *key = sp_attachment_files_incoming_key(a, j->files, id);
    char err[256];
    bool missing;
    int fd = sp_attachment_files_open(j->files, key, SP_ATTACHMENT_MAX_BYTES, &missing, err,
                                      sizeof(err));
    if (fd >= 0 && !j->dry_run)
        return ingest_present(j, a, id, key, fd);
    if (fd >= 0) {
        close(fd);
        log_item(SP_LOG_INFO, "attachment_ingest_dry_run", id, key);
    } else if (!missing) {
        j->n->errors++;
        log_item(SP_LOG_WARN, "attachment_fetch_failed", id, err);
    }
    if (!j->dry_run)
        (void)exec_ok(j->db, a, &look_later_stmt, (const char *const[]){id});
    return true;
}

static enum sp_rc
ingest_batches(const struct scan_job *j, struct sp_arena *page, struct sp_arena *work,
               struct sp_problem *p)
{
    const char *params[1] = {sp_arena_sprintf(page, "%ld", j->upload_window_s)};
    PGresult *r = sp_db_exec(j->db, page, &awaited_stmt, params, p);
    if (r == NULL)
        return p->rc;
    for (int i = 0; i < PQntuples(r); i++) {
        if (j->stop && *j->stop)
            return SP_OK;
        sp_arena_reset(work);
        if (!ingest_one(j, work, sp_db_str(r, i, 0)))
            return SP_OK;
    }
    return SP_OK;
}

enum sp_rc
sp_attachment_scan_pass(struct sp_db *db, const char *clamd_socket,
                        const struct sp_attachment_files *files, long upload_window_s,
                        bool dry_run, bool loop, volatile sig_atomic_t *stop,
                        struct sp_attachment_scan_counts *n, struct sp_problem *p)
{
    memset(n, 0, sizeof(*n));
    struct scan_job j = {db, clamd_socket, files, upload_window_s, dry_run, stop, n};
    struct sp_arena page, work;
    sp_arena_init(&page, 8192);
    sp_arena_init(&work, 8192);
    /* A busy lock is logged by log_scan, as a pass at info. */
    enum sp_rc rc = sp_db_job_lock(db, &page, SP_ATTACHMENT_SCAN_LOCK_KEY, NULL, p);
    if (rc == SP_OK) {
        if (files->s3 != NULL)
            rc = ingest_batches(&j, &page, &work, p);
        if (rc == SP_OK && !n->clamd_down)
            rc = scan_batches(&j, &page, &work, p);
        sp_db_job_unlock(db, &page, SP_ATTACHMENT_SCAN_LOCK_KEY);
    }
    log_scan(rc, loop, n, p);
    sp_arena_destroy(&work);
    sp_arena_destroy(&page);
    return rc;
}

/* --- cleanup --------------------------------------------------------------- */

/* Unlinks the names of batch (a text[] literal) that no row names, each
 * named in the log (a dry run names what it would unlink). */
static void
drop_orphans(struct sp_db *db, struct sp_arena *a, const char *dir, const char *batch,
             bool dry_run, struct sp_attachment_cleanup_counts *n)
{
    struct sp_problem p;
    sp_problem_init(&p);
    const char *params[1] = {batch};
    PGresult *r = sp_db_exec(db, a, &orphans_stmt, params, &p);
    if (r == NULL) {
        n->errors++;
        return;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        const char *path = sp_arena_sprintf(a, "%s/%s", dir, sp_db_str(r, i, 0));
        bool gone = dry_run || unlink(path) == 0;
        int err = gone ? 0 : errno;
        struct sp_log_line *l = sp_log_begin(gone ? SP_LOG_INFO : SP_LOG_ERROR,
                                             gone ? "attachment_orphan_deleted"
                                                  : "attachment_unlink_failed");
        sp_log_str(l, "file", path);
        if (!gone)
            sp_log_str(l, "detail", strerror(err));
        sp_log_int(l, "dry_run", dry_run);
        sp_log_end(l);
        if (gone)
            n->files++;
        else
            n->errors++;
    }
}

/* Whether the directory's entry e is a stored file old enough to be an
 * orphan. Only names of the stored keys' shape are considered: any other
 * regular file (someone else's, or the directory set to the wrong place)
 * is counted as foreign and never deleted. */
static bool
orphan_candidate(DIR *d, const struct dirent *e, int64_t now_ms,
                 struct sp_attachment_cleanup_counts *n)
{
    struct stat st;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(st.st_mode))
        return false;
    if (!sp_attachment_files_stored_name(e->d_name) || !S_ISREG(st.st_mode)) {
        n->foreign++;
        return false;
    }
    return (int64_t)st.st_mtime * 1000 <= now_ms - ORPHAN_AGE_S * 1000LL;
}

static void
sweep_files(struct sp_db *db, struct sp_arena *a, const char *dir, int64_t now_ms,
            bool dry_run, struct sp_attachment_cleanup_counts *n)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        n->errors++;
        sp_log_msg(SP_LOG_ERROR, "attachment_dir_unreadable", "%s: %s", dir, strerror(errno));
        return;
    }
    struct sp_buf b;
    int inbatch = 0;
    sp_buf_init(&b, a, 4096);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!orphan_candidate(d, e, now_ms, n))
            continue;
        sp_buf_printf(&b, "%s\"%s\"", inbatch++ ? "," : "{", e->d_name);
        if (inbatch == ORPHAN_BATCH) {
            sp_buf_putc(&b, '}');
            drop_orphans(db, a, dir, b.data, dry_run, n);
            sp_buf_init(&b, a, 4096);
            inbatch = 0;
        }
    }
    closedir(d);
    if (inbatch > 0) {
        sp_buf_putc(&b, '}');
        drop_orphans(db, a, dir, b.data, dry_run, n);
    }
    if (n->foreign > 0)
        sp_log_msg(SP_LOG_WARN, "attachment_dir_foreign",
                   "%ld files in %s are no stored attachments (not named <id>.<random>):"
                   " left as they are", n->foreign, dir);
}

/* The objects of the rows just deleted, if any came (a bucket only). */
static void
drop_objects(const struct sp_attachment_files *files, struct sp_arena *a, PGresult *r,
             struct sp_attachment_cleanup_counts *n)
{
    char err[256];
    for (int i = 0; i < PQntuples(r); i++) {
        const char *id = sp_db_str(r, i, 0);
        if (!sp_attachment_files_remove(files, a, sp_attachment_files_incoming_key(a, files, id),
                                        err, sizeof(err))) {
            n->errors++;
            log_item(SP_LOG_ERROR, "attachment_unlink_failed", id, err);
        }
    }
}

/* One line per kind of row a pass deleted (would, in a dry run), and at
 * debug one per row with its id (QA: the rows went without a word). r:
 * the deleted rows, id first; NULL in a dry run (only counted). */
static void
log_rows_deleted(const char *kind, const PGresult *r, long rows, bool dry_run)
{
    if (rows == 0)
        return;
    struct sp_log_line *l = sp_log_begin(SP_LOG_INFO, "attachment_rows_deleted");
    sp_log_str(l, "kind", kind);
    sp_log_int(l, "rows", rows);
    sp_log_int(l, "dry_run", dry_run);
    sp_log_end(l);
    for (int i = 0; r != NULL && i < PQntuples(r); i++) {
        l = sp_log_begin(SP_LOG_DEBUG, "attachment_row_deleted");
        sp_log_str(l, "kind", kind);
        sp_log_str(l, "attachment_id", sp_db_str(r, i, 0));
        sp_log_end(l);
    }
}

/* The rows st deletes (count: what it would, for a dry run) — uploads
 * attached to nothing for too long, or detached by a deleted message —
 * then their files (with a bucket, their stored objects). Rows first,
 * committed with their keys in support_attachment_deletions (no
 * transaction is held while files go): a file goes only once no row can
 * be attached any more, and a crash or a failed delete in between leaves
 * a key there that drop_deletions deletes on a later run — never a row
 * whose file is gone. */
static enum sp_rc
drop_rows(struct sp_db *db, struct sp_arena *a, const struct sp_attachment_files *files,
          const char *kind, struct sp_stmt *st, struct sp_stmt *count,
          const char *const params[2], bool dry_run, struct sp_attachment_cleanup_counts *n,
          struct sp_problem *p)
{
    PGresult *r = sp_db_exec(db, a, dry_run ? count : st, params, p);
    if (r == NULL)
        return p->rc;
    if (dry_run) {
        n->rows += sp_db_int(r, 0, 0);
        n->files += sp_db_int(r, 0, 1);
        log_rows_deleted(kind, NULL, sp_db_int(r, 0, 0), true);
        return SP_OK;
    }
    n->rows += PQntuples(r);
    log_rows_deleted(kind, r, PQntuples(r), false);
    char err[256];
    for (int i = 0; i < PQntuples(r); i++) {
        const char *key = sp_db_str(r, i, 1);  /* NULL: a failed take-in kept no file */
        if (key == NULL)
            continue;
        if (sp_attachment_drop_stored(db, a, files, key, err, sizeof(err))) {
            n->files++;
            continue;
        }
        n->errors++;
        log_item(SP_LOG_ERROR, "attachment_unlink_failed", sp_db_str(r, i, 0), err);
    }
    return SP_OK;
}

/* The objects support_attachment_deletions names that no row names and
 * that have waited an hour, in batches while a batch gets anywhere (a key
 * whose delete fails stays for the next run); the keys a row names are
 * only forgotten (their ingest was recorded). */
static enum sp_rc
drop_deletions(struct sp_db *db, struct sp_arena *a, const struct sp_attachment_files *files,
               const char *const params[2], bool dry_run,
               struct sp_attachment_cleanup_counts *n, struct sp_problem *p)
{
    if (dry_run) {
        PGresult *r = sp_db_exec(db, a, &deletions_due_count_stmt, params, p);
        n->files += r != NULL ? sp_db_int(r, 0, 0) : 0;
        return r != NULL ? SP_OK : p->rc;
    }
    if (sp_db_exec(db, a, &deletions_named_stmt, NULL, p) == NULL)
        return p->rc;
    for (int gone = 1, rows = 200; gone > 0 && rows == 200;) {
        PGresult *r = sp_db_exec(db, a, &deletions_due_stmt, params, p);
        if (r == NULL)
            return p->rc;
        rows = PQntuples(r);
        gone = 0;
        for (int i = 0; i < rows; i++) {
            const char *key = sp_db_str(r, i, 0);
            char err[256] = "the key stays in support_attachment_deletions";
            if (sp_attachment_files_remove(files, a, key, err, sizeof(err)) &&
                exec_ok(db, a, &deletion_done_stmt, (const char *const[]){key})) {
                n->files++;
                gone++;
                continue;
            }
            n->errors++;
            log_item(SP_LOG_ERROR, "attachment_unlink_failed", NULL, err);
        }
    }
    return SP_OK;
}

/* The cleanup's work, under its lock. */
static enum sp_rc
cleanup(struct sp_db *db, struct sp_arena *a, const struct sp_attachment_files *files,
        int64_t now_ms, const char *const params[2], bool dry_run,
        struct sp_attachment_cleanup_counts *n, struct sp_problem *p)
{
    PGresult *r = sp_db_exec(db, a, dry_run ? &stale_count_stmt : &stale_stmt, params, p);
    if (r == NULL)
        return p->rc;
    n->rows = dry_run ? sp_db_int(r, 0, 0) : PQntuples(r);
    log_rows_deleted("never_uploaded", dry_run ? NULL : r, n->rows, dry_run);
    if (files->s3 != NULL && !dry_run)
        drop_objects(files, a, r, n);
    enum sp_rc rc = drop_rows(db, a, files, "unattached", &unattached_stmt,
                              &unattached_count_stmt, params, dry_run, n, p);
    if (rc == SP_OK)
        rc = drop_rows(db, a, files, "detached", &detached_stmt, &detached_count_stmt, NULL,
                       dry_run, n, p);
    if (rc == SP_OK)
        rc = drop_deletions(db, a, files, params, dry_run, n, p);
    /* A bucket is not listed: its stored keys are named by rows, and
     * what lands under incoming/ without one (a client's late PUT, a
     * mail's file whose take rolled back) expires by the bucket's
     * lifecycle rule (docs/operations.md). */
    if (files->s3 == NULL && rc == SP_OK)
        sweep_files(db, a, files->dir, now_ms, dry_run, n);
    return rc;
}

enum sp_rc
sp_attachment_cleanup_pass(struct sp_db *db, const struct sp_attachment_files *files,
                           int64_t now_ms, long unattached_hours, bool dry_run,
                           struct sp_attachment_cleanup_counts *n, struct sp_problem *p)
{
    memset(n, 0, sizeof(*n));
    struct sp_arena a;
    sp_arena_init(&a, 16384);
    const char *params[2] = {sp_arena_sprintf(&a, "%lld", (long long)now_ms),
                             sp_arena_sprintf(&a, "%ld", unattached_hours)};
    /* Two runs at once would both delete, and both count, the same rows
     * and files (API.md §12: one run at a time). */
    enum sp_rc rc = dry_run ? SP_OK
                            : sp_db_job_lock(db, &a, SP_ATTACHMENT_CLEANUP_LOCK_KEY,
                                             "attachment_cleanup_busy", p);
    bool locked = !dry_run && rc == SP_OK;
    if (rc == SP_OK)
        rc = cleanup(db, &a, files, now_ms, params, dry_run, n, p);
    if (locked)
        sp_db_job_unlock(db, &a, SP_ATTACHMENT_CLEANUP_LOCK_KEY);
    struct sp_log_line *l = sp_log_begin(sp_db_job_log_level(rc, p), "attachment_cleanup_pass");
    SP_LOG_COUNTS(l, SP_ATTACHMENT_CLEANUP_COUNTS, n);
    if (files->s3 == NULL)
        sp_log_str(l, "dir", files->dir);
    sp_log_int(l, "dry_run", dry_run);
    sp_db_job_log_detail(l, rc, p);
    sp_log_end(l);
    sp_arena_destroy(&a);
    return rc;
}
