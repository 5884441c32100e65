/*
 * chat_archive: one pass of the chat-session-archive job. See
 * chat_archive.h.
 */
#include "domain/chat_archive.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/log.h"
#include "db/db.h"
#include "domain/chat_access.h"
#include "domain/chat_bus.h"
#include "domain/chat_convert.h"
#include "domain/chat_sessions.h"
#include "domain/job_log.h"
#include "domain/rules.h"

static struct sp_stmt candidates_stmt = SP_STMT_READ(
    "chat_archive_candidates",
    "SELECT id, public_id FROM support_chat_sessions"
    " WHERE status <> 'closed' AND id > $3::bigint"
    "   AND (coalesce(last_message_at, started_at) < support_from_ms($2::bigint)"
    "        OR expires_at <= support_from_ms($1::bigint))"
    " ORDER BY id LIMIT 200",
    3);

/* Tells the session's subscribers, after commit: the ticket it became,
 * then that it closed; then the chats its agent's freed place went to
 * (joins), that the agent joined. */
static void
announce(struct sp_ctx *ctx, const char *public_id, bool converted,
         const struct sp_chat_joins *joins)
{
    if (converted) {
        struct sp_chat_session s;
        struct sp_problem ignored;
        sp_problem_init(&ignored);
        if (sp_chat_get(ctx, public_id, NULL, &s, &ignored) == SP_OK && s.ticket_public_id) {
            struct sp_chat_system_extra extra = {.ticket_id = s.ticket_public_id};
            sp_chat_access_publish_system(ctx, public_id, "ticket_created", &extra);
        }
    }
    sp_chat_access_publish_system(ctx, public_id, "closed", NULL);
    sp_chat_access_revoke_session(public_id);
    sp_chat_access_publish_joins(ctx, joins);
}

/* One pass over the candidates: what it runs in and what it counted. */
struct pass {
    struct sp_ctx ctx;               /* its arena is reset for each session */
    int64_t now_ms, idle_before_ms;
    bool dry_run;
    struct sp_chat_archive_counts *n;
};

/* One session in one short transaction (rolled back in a dry run), then
 * its subscribers are told. */
static void
archive_session(struct pass *ps, long long id, const char *public_id)
{
    struct sp_db *db = ps->ctx.db;
    struct sp_arena *work = ps->ctx.arena;
    sp_arena_reset(work);
    struct sp_problem one;
    sp_problem_init(&one);
    bool archived = false, converted = false;
    struct sp_chat_joins joins = {0};
    ps->ctx.chat_joins = &joins;
    bool ok = sp_db_begin(db, work, &one) == SP_OK &&
              sp_chat_archive_one(&ps->ctx, id, ps->now_ms, ps->idle_before_ms, &archived,
                                  &converted, &one) == SP_OK;
    if (ok && !ps->dry_run)
        ok = sp_db_commit(db, work, &one) == SP_OK;
    else
        sp_db_rollback(db, work);
    ps->ctx.chat_joins = NULL;   /* joins is this call's */
    if (!ok) {
        ps->n->errors++;
        struct sp_log_line *l = sp_log_begin(SP_LOG_ERROR, "chat_archive_failed");
        sp_log_int(l, "session_id", id);
        sp_log_str(l, "code", one.code);
        sp_log_end(l);
        return;
    }
    if (!archived) {
        ps->n->skipped++;
        return;
    }
    ps->n->closed++;
    ps->n->converted += converted;
    if (!ps->dry_run) {
        announce(&ps->ctx, public_id, converted, &joins);
        return;
    }
    /* What a real run would do, session by session (--help: a dry run
     * logs what would be done); ids only, as every line (no names, no
     * text). */
    struct sp_log_line *l = sp_log_begin(SP_LOG_INFO, "chat_archive_session");
    sp_log_int(l, "session_id", id);
    sp_log_str(l, "chat", public_id);
    sp_log_str(l, "would", converted ? "close_and_convert" : "close");
    sp_log_int(l, "dry_run", 1);
    sp_log_end(l);
}

/* A pass that closed chats with no publisher configured told none of
 * their live clients (sp_chat_bus_publish does nothing then): say so
 * once, so a stack run without SUPPORT_CHAT_PUBLISH_URL is not taken for
 * one that announced (QA: `scripts/dev job` closed chats silently). */
static void
warn_unannounced(const struct sp_chat_archive_counts *n, bool dry_run)
{
    if (dry_run || n->closed == 0 || sp_chat_bus_on())
        return;
    struct sp_log_line *l = sp_log_begin(SP_LOG_WARN, "chat_archive_unannounced");
    sp_log_int(l, "closed", n->closed);
    sp_log_int(l, "converted", n->converted);
    sp_log_str(l, "detail",
               "SUPPORT_CHAT_PUBLISH_URL is not set: live clients of these chats were not told "
               "they closed (they learn it from the history or a refused send)");
    sp_log_end(l);
}

enum sp_rc
sp_chat_archive_pass(struct sp_db *db, const struct sp_chat_archive_opts *o,
                     struct sp_chat_archive_counts *n, struct sp_problem *p)
{
    const bool dry_run = o->dry_run;
    volatile sig_atomic_t *stop = o->stop;
    memset(n, 0, sizeof(*n));
    /* A chat's ticket is prioritized like any other: without the rules
     * engine's cache no priority rule (tier, category, pattern) applies. */
    struct sp_rules_cache *rules = sp_rules_cache_new();
    if (rules == NULL)
        return sp_problem_set(p, SP_ERROR, "internal", "no memory for the priority rules");
    struct sp_arena page, work;
    sp_arena_init(&page, 16384);
    sp_arena_init(&work, 16384);
    struct pass ps = {
        /* routed like any ticket: under the same open-ticket cap */
        .ctx = {.arena = &work, .db = db, .rules = rules, .agent_max_open = o->agent_max_open,
                .customer_channels = o->customer_channels},
        .now_ms = o->now_ms, .idle_before_ms = o->now_ms - o->idle_minutes * 60000LL,
        .dry_run = dry_run, .n = n,
    };
    char now[24], idle[24];
    snprintf(now, sizeof(now), "%lld", (long long)o->now_ms);
    snprintf(idle, sizeof(idle), "%lld", (long long)ps.idle_before_ms);
    /* One run at a time (cluster-wide); a dry run changes nothing, so it
     * need not keep a real run out. */
    enum sp_rc rc = dry_run ? SP_OK
                            : sp_db_job_lock(db, &page, SP_CHAT_ARCHIVE_LOCK_KEY,
                                             "chat_archive_busy", p);
    bool locked = !dry_run && rc == SP_OK;
    for (long long after = 0; rc == SP_OK;) {
        sp_arena_reset(&page);
        const char *cp[3] = {now, idle, sp_arena_sprintf(&page, "%lld", after)};
        PGresult *r = sp_db_exec(db, &page, &candidates_stmt, cp, p);
        if (r == NULL) {
            rc = p->rc;
            break;
        }
        int rows = PQntuples(r);
        for (int i = 0; i < rows && !(stop && *stop); i++) {
            after = sp_db_int(r, i, 0);
            archive_session(&ps, after, sp_db_str(r, i, 1));
        }
        if (rows < 200 || (stop && *stop))
            break;
    }
    if (locked)
        sp_db_job_unlock(db, &page, SP_CHAT_ARCHIVE_LOCK_KEY);
    warn_unannounced(n, dry_run);
    SP_LOG_JOB_PASS("chat_archive_pass", rc, p, SP_CHAT_ARCHIVE_COUNTS, n, dry_run);
    sp_arena_destroy(&work);
    sp_arena_destroy(&page);
    sp_rules_cache_free(rules);
    return rc;
}
