/*
 * attachment_scan: the scan and cleanup passes. See attachment_scan.h.
 *
 * Each decision is one statement guarded by status = 'pending', so a
 * second scanner (a --once run next to the daemon) can only repeat a
 * verdict, never undo one. An infected file is unlinked after its row
 * says infected (and forgets the storage key): if the unlink fails the
 * cleanup's orphan sweep removes the file, and it is never served since
 * only clean rows are.
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

/* $2 the verdict, $3 clamd's words; infected rows forget their file. */
static struct sp_stmt verdict_stmt = SP_STMT(
    "attachment_scan_verdict",
    "UPDATE support_attachments SET status = $2, scan_result = $3, scanned_at = now(),"
    " storage_key = CASE WHEN $2 = 'infected' THEN NULL ELSE storage_key END,"
    " scan_attempts = scan_attempts + 1"
    " WHERE id = $1 AND status = 'pending'",
    3);

/* clamd answered an error: try again later, up to a limit. */
static struct sp_stmt retry_stmt = SP_STMT(
    "attachment_scan_retry",
    "UPDATE support_attachments SET scan_attempts = scan_attempts + 1, scan_result = $2,"
    " next_scan_at = now() + least(power(2, scan_attempts), 300) * interval '1 second'"
    " WHERE id = $1 AND status = 'pending'",
    2);

static struct sp_stmt stale_stmt = SP_STMT(
    "attachment_cleanup_rows",
    "DELETE FROM support_attachments WHERE uploaded_at IS NULL"
    " AND created_at < support_from_ms($1::bigint) - interval '1 day'",
    1);
static struct sp_stmt stale_count_stmt = SP_STMT_READ(
    "attachment_cleanup_rows_count",
    "SELECT count(*) FROM support_attachments WHERE uploaded_at IS NULL"
    " AND created_at < support_from_ms($1::bigint) - interval '1 day'",
    1);

static struct sp_stmt orphans_stmt = SP_STMT_READ(
    "attachment_cleanup_orphans",
    "SELECT k FROM unnest($1::text[]) AS k"
    " WHERE NOT EXISTS (SELECT 1 FROM support_attachments a WHERE a.storage_key = k)",
    1);

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

/* Records what clamd said about id; false when clamd is down (the pass
 * stops: every other file would fail the same way). */
static bool
decide(struct sp_db *db, struct sp_arena *a, const char *id, const char *path,
       enum sp_clamd_result res, const char *detail, struct sp_attachment_scan_counts *n)
{
    const char *params[3] = {id, NULL, detail};
    switch (res) {
    case SP_CLAMD_CLEAN:
        params[1] = "clean";
        params[2] = "OK";
        n->clean += exec_ok(db, a, &verdict_stmt, params);
        log_item(SP_LOG_INFO, "attachment_clean", id, NULL);
        return true;
    case SP_CLAMD_FOUND:
        params[1] = "infected";
        if (exec_ok(db, a, &verdict_stmt, params)) {
            n->infected++;
            if (unlink(path) != 0)
                log_item(SP_LOG_ERROR, "attachment_unlink_failed", id, strerror(errno));
        }
        log_item(SP_LOG_WARN, "attachment_infected", id, detail);
        return true;
    case SP_CLAMD_ERROR:
        n->retry += exec_ok(db, a, &retry_stmt, (const char *const[]){id, detail});
        log_item(SP_LOG_WARN, "attachment_scan_error", id, detail);
        return true;
    case SP_CLAMD_UNAVAILABLE:
    default:
        n->clamd_down = true;
        n->errors++;
        log_item(SP_LOG_WARN, "clamd_unavailable", id, detail);
        return false;
    }
}

/* One due row; false when the pass must stop. */
static bool
scan_one(struct sp_db *db, struct sp_arena *a, const char *clamd_socket, const char *dir,
         const char *id, const char *key, long long attempts, bool dry_run,
         struct sp_attachment_scan_counts *n)
{
    const char *path = sp_arena_sprintf(a, "%s/%s", dir, key ? key : "");
    int fd = key ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) {
        log_item(SP_LOG_ERROR, "attachment_file_missing", id, strerror(errno));
        n->failed += dry_run || exec_ok(db, a, &verdict_stmt,
                                        (const char *const[]){id, "failed", "file missing"});
        return true;
    }
    char detail[256];
    enum sp_clamd_result res = sp_clamd_scan_fd(clamd_socket, fd, CLAMD_TIMEOUT_S, detail,
                                                sizeof(detail));
    close(fd);
    if (dry_run) {
        log_item(SP_LOG_INFO, "attachment_scan_dry_run", id, detail);
        return res != SP_CLAMD_UNAVAILABLE;
    }
    if (res == SP_CLAMD_ERROR && attempts + 1 >= SP_ATTACHMENT_SCAN_MAX_ERRORS) {
        n->failed += exec_ok(db, a, &verdict_stmt, (const char *const[]){id, "failed", detail});
        log_item(SP_LOG_ERROR, "attachment_scan_failed", id, detail);
        return true;
    }
    return decide(db, a, id, path, res, detail, n);
}

static void
log_scan(enum sp_rc rc, const struct sp_attachment_scan_counts *n)
{
    bool quiet = rc == SP_OK && n->clean + n->infected + n->failed + n->retry + n->errors == 0;
    struct sp_log_line *l = sp_log_begin(quiet ? SP_LOG_DEBUG : SP_LOG_INFO,
                                         "attachment_scan_pass");
    SP_LOG_COUNTS(l, SP_ATTACHMENT_SCAN_COUNTS, n);
    sp_log_end(l);
}

/* Rows come in batches until none is due (each verdict takes its row out
 * of the next batch; a retried one gets a later next_scan_at). */
static enum sp_rc
scan_batches(struct sp_db *db, struct sp_arena *page, struct sp_arena *work,
             const char *clamd_socket, const char *dir, bool dry_run,
             volatile sig_atomic_t *stop, struct sp_attachment_scan_counts *n,
             struct sp_problem *p)
{
    for (;;) {
        sp_arena_reset(page);
        PGresult *r = sp_db_exec(db, page, &due_stmt, NULL, p);
        if (r == NULL)
            return p->rc;
        int rows = PQntuples(r);
        for (int i = 0; i < rows; i++) {
            if (stop && *stop)
                return SP_OK;
            sp_arena_reset(work);
            if (!scan_one(db, work, clamd_socket, dir, sp_db_str(r, i, 0), sp_db_str(r, i, 1),
                          sp_db_int(r, i, 2), dry_run, n))
                return SP_OK;
        }
        if (rows < BATCH || dry_run)
            return SP_OK;
    }
}

enum sp_rc
sp_attachment_scan_pass(struct sp_db *db, const char *clamd_socket, const char *dir,
                        bool dry_run, volatile sig_atomic_t *stop,
                        struct sp_attachment_scan_counts *n, struct sp_problem *p)
{
    memset(n, 0, sizeof(*n));
    struct sp_arena page, work;
    sp_arena_init(&page, 8192);
    sp_arena_init(&work, 8192);
    /* A busy lock is logged by log_scan, as a pass at info. */
    enum sp_rc rc = sp_db_job_lock(db, &page, SP_ATTACHMENT_SCAN_LOCK_KEY, NULL, p);
    if (rc == SP_OK) {
        rc = scan_batches(db, &page, &work, clamd_socket, dir, dry_run, stop, n, p);
        sp_db_job_unlock(db, &page, SP_ATTACHMENT_SCAN_LOCK_KEY);
    }
    log_scan(rc, n);
    sp_arena_destroy(&work);
    sp_arena_destroy(&page);
    return rc;
}

/* --- cleanup --------------------------------------------------------------- */

static bool
key_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n < 64 && s[0] != '.' &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* Unlinks the names of batch (a text[] literal) that no row names. */
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
        if (dry_run || unlink(path) == 0)
            n->files++;
        else
            n->errors++;
    }
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
        struct stat st;
        if (!key_ok(e->d_name) || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode) || (int64_t)st.st_mtime * 1000 > now_ms - ORPHAN_AGE_S * 1000LL)
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
}

enum sp_rc
sp_attachment_cleanup_pass(struct sp_db *db, const char *dir, int64_t now_ms, bool dry_run,
                           struct sp_attachment_cleanup_counts *n, struct sp_problem *p)
{
    memset(n, 0, sizeof(*n));
    struct sp_arena a;
    sp_arena_init(&a, 16384);
    const char *params[1] = {sp_arena_sprintf(&a, "%lld", (long long)now_ms)};
    PGresult *r = sp_db_exec(db, &a, dry_run ? &stale_count_stmt : &stale_stmt, params, p);
    enum sp_rc rc = r == NULL ? p->rc : SP_OK;
    if (r != NULL) {
        n->rows = dry_run ? sp_db_int(r, 0, 0) : atoll(PQcmdTuples(r));
        sweep_files(db, &a, dir, now_ms, dry_run, n);
    }
    struct sp_log_line *l = sp_log_begin(rc == SP_OK ? SP_LOG_INFO : SP_LOG_ERROR,
                                         "attachment_cleanup_pass");
    SP_LOG_COUNTS(l, SP_ATTACHMENT_CLEANUP_COUNTS, n);
    sp_log_int(l, "dry_run", dry_run);
    sp_log_end(l);
    sp_arena_destroy(&a);
    return rc;
}
