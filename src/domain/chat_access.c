/*
 * chat_access: grants and revocation of live chat access. See
 * chat_access.h.
 */
#include "domain/chat_access.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/ids.h"
#include "core/log.h"
#include "db/db.h"
#include "domain/chat_bus.h"
#include "domain/chat_presence.h"
#include "domain/chat_sessions.h"

/* The principal's live grant is extended; without one, a new grant with
 * a fresh access name ($4) is recorded. Its row is named
 * "<principal>.<access>", the channel its connections subscribe to. */
static struct sp_stmt grant_stmt = SP_STMT(
    "chat_access_grant",
    "WITH upd AS ("
    "  UPDATE support_chat_grants SET expires_at = greatest(expires_at, to_timestamp($3::bigint))"
    "  WHERE session_public_id = $1 AND principal LIKE $2 || '.%' AND expires_at > now()"
    "  RETURNING principal),"
    " ins AS ("
    "  INSERT INTO support_chat_grants (session_public_id, principal, expires_at)"
    "  SELECT $1, $2 || '.' || $4, to_timestamp($3::bigint) WHERE NOT EXISTS (SELECT 1 FROM upd)"
    "  RETURNING principal)"
    " SELECT principal FROM upd UNION ALL SELECT principal FROM ins ORDER BY 1 LIMIT 1",
    4);

static struct sp_stmt revoke_agents_stmt = SP_STMT(
    "chat_access_revoke_agents",
    "DELETE FROM support_chat_grants"
    " WHERE session_public_id = $1 AND principal LIKE 'agent-%'"
    "   AND split_part(principal, '.', 1) <> 'agent-' || coalesce((SELECT user_id"
    "       FROM support_agents WHERE id = $2::bigint), '')"
    " RETURNING principal",
    2);

static struct sp_stmt sweep_stmt = SP_STMT(
    "chat_access_sweep",
    "DELETE FROM support_chat_grants g USING ("
    "  SELECT session_public_id, principal FROM support_chat_grants"
    "  WHERE expires_at <= now() ORDER BY expires_at LIMIT 200 FOR UPDATE SKIP LOCKED) x"
    " WHERE g.session_public_id = x.session_public_id AND g.principal = x.principal"
    " RETURNING g.session_public_id, g.principal",
    0);

/* One principal's grants of a session (any access name). */
static struct sp_stmt revoke_principal_stmt = SP_STMT(
    "chat_access_revoke_principal",
    "DELETE FROM support_chat_grants"
    " WHERE session_public_id = $1 AND split_part(principal, '.', 1) = $2"
    " RETURNING principal",
    2);

/* Every grant of agent $1's user, as an agent or as an admin, on any
 * session (a deactivation: rare, so a scan of the grants will do). */
static struct sp_stmt revoke_agent_stmt = SP_STMT(
    "chat_access_revoke_agent",
    "DELETE FROM support_chat_grants"
    " WHERE split_part(principal, '.', 1) IN (SELECT v.role || '-' || a.user_id"
    "   FROM support_agents a, (VALUES ('agent'), ('admin')) AS v(role)"
    "   WHERE a.id = $1::bigint)"
    " RETURNING session_public_id, principal",
    1);

/* One session's expired grants: its primary key's prefix finds them. */
static struct sp_stmt sweep_session_stmt = SP_STMT(
    "chat_access_sweep_session",
    "DELETE FROM support_chat_grants WHERE session_public_id = $1 AND expires_at <= now()"
    " RETURNING principal",
    1);

enum sp_rc
sp_chat_access_grant(struct sp_ctx *ctx, const char *session_id, const char *principal,
                     long long expires_epoch, const char **access, struct sp_problem *p)
{
    char until[24], fresh[2 * SP_CHAT_ACCESS_NONCE_BYTES + 1];
    snprintf(until, sizeof(until), "%lld", expires_epoch);
    sp_random_hex(fresh, SP_CHAT_ACCESS_NONCE_BYTES);
    const char *params[4] = {session_id, principal, until, fresh};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &grant_stmt, params, p);
    if (r == NULL)
        return p->rc;
    if (PQntuples(r) != 1)
        return sp_problem_set(p, SP_ERROR, "internal", "no grant recorded");
    *access = sp_db_str(r, 0, 0);
    return SP_OK;
}

/* nchan (1.3.6) keeps a websocket whose channel was deleted subscribed
 * until the client answers the close frame or WEBSOCKET_CLOSING_TIMEOUT
 * (250 ms) passes, and sends it every message published meanwhile: data
 * after the close frame (RFC 6455 §5.5.1), to someone who lost access.
 * So after disconnecting anyone, the publish that follows waits that
 * long. */
static void
settle_after_kick(void)
{
    struct timespec ts = {0, SP_CHAT_ACCESS_SETTLE_MS * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Runs a revoking statement and disconnects each (session, principal)
 * row it returns (session_col < 0: every row is of session_id); with
 * gone, each is recorded offline too (sp_chat_presence_drop). The number
 * of rows, or -1 after logging why. */
static int
revoke_rows(struct sp_ctx *ctx, struct sp_stmt *st, const char *const *params,
            const char *session_id, int session_col, int principal_col, const char *step,
            bool gone)
{
    struct sp_problem p;
    sp_problem_init(&p);
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, st, params, &p);
    if (r == NULL) {
        sp_log_step_failed(SP_LOG_WARN, "chat_revoke_failed", step, p.detail);
        return -1;
    }
    int n = PQntuples(r);
    bool any = false;
    for (int i = 0; i < n; i++) {
        bool existed;
        const char *sid = session_col < 0 ? session_id : sp_db_str(r, i, session_col);
        const char *grant = sp_db_str(r, i, principal_col);
        sp_chat_bus_kick(sid, grant, &existed);
        any = any || existed;
        if (gone)   /* the grant is "<principal>.<access>" */
            sp_chat_presence_drop(ctx, sid,
                                  sp_arena_strndup(ctx->arena, grant, strcspn(grant, ".")));
    }
    if (any)
        settle_after_kick();
    return n;
}

/* What a sweep revoked (n < 0: it failed, logged already): one event
 * for the periodic sweep and a session's, so both count alike. */
static void
log_expired(int n)
{
    if (n <= 0)
        return;
    struct sp_log_line *l = sp_log_begin(SP_LOG_INFO, "chat_access_expired");
    sp_log_int(l, "revoked", n);
    sp_log_end(l);
}

void
sp_chat_access_revoke_agents(struct sp_ctx *ctx, const char *session_id, long long keep_agent_id)
{
    char keep[24];
    snprintf(keep, sizeof(keep), "%lld", keep_agent_id);
    const char *params[2] = {session_id, keep};
    revoke_rows(ctx, &revoke_agents_stmt, params, session_id, -1, 0, "transfer", true);
}

void
sp_chat_access_revoke_principal(struct sp_ctx *ctx, const char *session_id, const char *principal)
{
    const char *params[2] = {session_id, principal};
    revoke_rows(ctx, &revoke_principal_stmt, params, session_id, -1, 0, "credentials replaced",
                false);
}

void
sp_chat_access_revoke_agent(struct sp_ctx *ctx, long long agent_id)
{
    const char *params[1] = {sp_arena_sprintf(ctx->arena, "%lld", agent_id)};
    revoke_rows(ctx, &revoke_agent_stmt, params, NULL, 0, 1, "deactivation", true);
}

void
sp_chat_access_revoke_session(const char *session_id)
{
    sp_chat_bus_kick(session_id, NULL, NULL);
}

void
sp_chat_access_sweep_maybe(struct sp_ctx *ctx)
{
    static time_t last;
    time_t now = time(NULL);
    if (last != 0 && now >= last && now - last < SP_CHAT_ACCESS_SWEEP_S)
        return;
    last = now;
    log_expired(revoke_rows(ctx, &sweep_stmt, NULL, NULL, 0, 1, "sweep", false));
}

void
sp_chat_access_sweep_session(struct sp_ctx *ctx, const char *session_id)
{
    const char *params[1] = {session_id};
    log_expired(revoke_rows(ctx, &sweep_session_stmt, params, session_id, -1, 0,
                            "session sweep", false));
}

void
sp_chat_access_publish_system(struct sp_ctx *ctx, const char *session_id, const char *event,
                              const struct sp_chat_system_extra *extra)
{
    sp_chat_access_sweep_session(ctx, session_id);
    struct sp_chat_system_extra x = extra != NULL ? *extra : (struct sp_chat_system_extra){0};
    struct sp_chat_message m;
    struct sp_problem p;
    sp_problem_init(&p);
    /* Without its stored message (a failed read, logged by db/) the frame
     * still says what happened; the history has the rest. */
    if (sp_chat_system_message(ctx, session_id, event, x.agent_id, &m, &p) == SP_OK)
        x.stored = &m;
    sp_chat_bus_system(ctx->arena, session_id, event, &x);
}

void
sp_chat_access_publish_joins(struct sp_ctx *ctx, const struct sp_chat_joins *joins)
{
    for (const struct sp_chat_join *j = joins->first; j != NULL; j = j->next) {
        /* An agent taken out of a chat hears nothing more of it. */
        if (j->event != NULL)
            sp_chat_access_revoke_agents(ctx, j->public_id, 0);
        sp_chat_access_publish_system(ctx, j->public_id, j->event ? j->event : "agent_joined",
                                      &(struct sp_chat_system_extra){.agent_id = j->agent_id});
    }
}
