/*
 * chat_presence: who is connected to a live chat. See chat_presence.h.
 */
#include "domain/chat_presence.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/hash.h"
#include "core/log.h"
#include "db/db.h"
#include "domain/chat_bus.h"

/* Rows a sweep deletes at most. */
#define PRESENCE_SWEEP_MAX 200

#define PRESENCE_AGG(rel)                                                           \
    "(SELECT CASE WHEN bool_or(state = 'online') THEN 'online'"                     \
    " WHEN count(*) > 0 THEN 'away' ELSE 'offline' END FROM " rel ")"

/* The CTE `prev`: session $1's presence rows seen within the last `ttl`
 * (a parameter) seconds, before this change. */
#define PRESENCE_PREV(ttl)                                                          \
    "prev AS ("                                                                     \
    "  SELECT principal, conn_id, state FROM support_chat_presence"                 \
    "  WHERE session_public_id = $1 AND last_seen_at > now() - make_interval(secs => " ttl "::int))"

/* The others of prev (principal $2 aside): "principal:online|away,...". */
#define PRESENCE_OTHERS                                                             \
    "(SELECT coalesce(string_agg(o.principal || ':' || o.st, ','), '') FROM ("      \
    "   SELECT principal, CASE WHEN bool_or(state = 'online') THEN 'online' ELSE 'away' END st" \
    "   FROM prev WHERE principal <> $2 GROUP BY principal) o)"

/* Recording and leaving are serialized per session: each statement reads
 * the session's other connections in its own snapshot, so two connections
 * recorded at the same moment each missed the other and neither side ever
 * heard the other was online (QA: 3 rounds in 23). Under the lock, the
 * second sees the first's committed row and tells it. Class 7311950 of the
 * two-key space of the application locks (7311947 routing, 7311948 chat
 * opens, 7311949 AI questions in flight). Taken before any row: the only
 * other writers of these rows (the sweep, a frame's sign of life, an
 * EventSource's leave) take no advisory lock, so no cycle can form. */
static struct sp_stmt presence_lock_stmt = SP_STMT(
    "chat_presence_lock",
    "SELECT pg_advisory_xact_lock(7311950, hashtext('chat-presence:' || $1))", 1);

static struct sp_stmt presence_touch_stmt = SP_STMT(
    "chat_presence_touch",
    "WITH " PRESENCE_PREV("$5") ","
    " up AS ("
    "  INSERT INTO support_chat_presence (session_public_id, principal, conn_id, state)"
    "  VALUES ($1, $2, $3, coalesce($4::text, 'online'))"
    "  ON CONFLICT (session_public_id, principal, conn_id) DO UPDATE"
    "  SET last_seen_at = now(), state = coalesce($4::text, support_chat_presence.state)"
    "  RETURNING state)"
    "SELECT " PRESENCE_AGG("prev WHERE principal = $2") ","
    " " PRESENCE_AGG("(SELECT state FROM prev WHERE principal = $2 AND conn_id <> $3"
                     " UNION ALL SELECT state FROM up) x") ","
    " " PRESENCE_OTHERS,
    5);

static struct sp_stmt presence_leave_stmt = SP_STMT(
    "chat_presence_leave",
    "WITH " PRESENCE_PREV("$4") ","
    " del AS ("
    "  DELETE FROM support_chat_presence"
    "  WHERE session_public_id = $1 AND principal = $2 AND conn_id = $3 RETURNING 1)"
    "SELECT " PRESENCE_AGG("prev WHERE principal = $2") ","
    " " PRESENCE_AGG("prev WHERE principal = $2 AND conn_id <> $3") ","
    " " PRESENCE_OTHERS ","
    " (SELECT count(*) FROM del)",
    4);

/* Every connection of principal $2 in session $1, however fresh, and the
 * others with a row: "principal,..." (their freshness unread: a frame to
 * one gone is heard by nobody). */
static struct sp_stmt presence_drop_stmt = SP_STMT(
    "chat_presence_drop",
    "WITH del AS ("
    "  DELETE FROM support_chat_presence WHERE session_public_id = $1 AND principal = $2"
    "  RETURNING 1)"
    "SELECT (SELECT count(*) FROM del),"
    " (SELECT coalesce(string_agg(DISTINCT principal, ','), '') FROM support_chat_presence"
    "  WHERE session_public_id = $1 AND principal <> $2)",
    2);

/* The connection's row goes stale $5 seconds from now (the sweep takes it
 * then); one already staler is left as it is. */
static struct sp_stmt presence_fade_stmt = SP_STMT(
    "chat_presence_fade",
    "UPDATE support_chat_presence"
    " SET last_seen_at = least(last_seen_at, now() - make_interval(secs => $4::int - $5::int))"
    " WHERE session_public_id = $1 AND principal = $2 AND conn_id = $3",
    5);

static struct sp_stmt presence_sweep_stmt = SP_STMT(
    "chat_presence_sweep",
    "WITH stale AS ("
    "  SELECT session_public_id, principal, conn_id FROM support_chat_presence"
    "  WHERE last_seen_at <= now() - make_interval(secs => $1::int)"
    "  ORDER BY last_seen_at LIMIT $2 FOR UPDATE SKIP LOCKED),"
    " del AS ("
    "  DELETE FROM support_chat_presence p USING stale s"
    "  WHERE p.session_public_id = s.session_public_id AND p.principal = s.principal"
    "    AND p.conn_id = s.conn_id"
    "  RETURNING p.session_public_id, p.principal)"
    "SELECT DISTINCT d.session_public_id, d.principal,"
    " (SELECT coalesce(string_agg(DISTINCT q.principal, ','), '') FROM support_chat_presence q"
    "   WHERE q.session_public_id = d.session_public_id AND q.principal <> d.principal"
    "     AND q.last_seen_at > now() - make_interval(secs => $1::int))"
    " FROM del d"
    " WHERE NOT EXISTS (SELECT 1 FROM support_chat_presence q"
    "   WHERE q.session_public_id = d.session_public_id AND q.principal = d.principal"
    "     AND q.last_seen_at > now() - make_interval(secs => $1::int))",
    2);

/* st (params[0]: the session's public id) in a transaction of its own,
 * after the session's presence lock. st's result, or NULL with p filled. */
static PGresult *
exec_serialized(struct sp_ctx *ctx, struct sp_stmt *st, const char *const *params,
                struct sp_problem *p)
{
    if (sp_db_begin(ctx->db, ctx->arena, p) != SP_OK)
        return NULL;
    PGresult *r = sp_db_exec_locked(ctx->db, ctx->arena, &presence_lock_stmt, params, st,
                                    params, p);
    if (r == NULL || sp_db_commit(ctx->db, ctx->arena, p) != SP_OK) {
        sp_db_rollback(ctx->db, ctx->arena);
        return NULL;
    }
    return r;
}

static void
read_change(PGresult *r, struct sp_chat_presence_change *out)
{
    out->before = sp_db_str(r, 0, 0);
    out->after = sp_db_str(r, 0, 1);
    out->others = sp_db_str(r, 0, 2);
    if (out->before == NULL)
        out->before = "offline";
    if (out->after == NULL)
        out->after = "offline";
    if (out->others == NULL)
        out->others = "";
}

const char *
sp_chat_presence_sender_type(const char *principal)
{
    if (strncmp(principal, "customer-", 9) == 0)
        return "customer";
    if (strncmp(principal, "agent-", 6) == 0 || strncmp(principal, "admin-", 6) == 0)
        return "agent";
    return NULL;
}

/* The agents row of a staff member (by user id), as a staff message's
 * agent_id names it (chat_sessions.c MESSAGE_AGENT): none for an admin who
 * is no agent. */
static struct sp_stmt staff_agent_stmt = SP_STMT(
    "chat_presence_staff_agent", "SELECT id FROM support_agents WHERE user_id = $1", 1);

/* The agent id of a staff principal (0: none, or a failure, logged). */
static long long
staff_agent_id(struct sp_ctx *ctx, const char *user_id)
{
    struct sp_problem p;
    sp_problem_init(&p);
    const char *params[1] = {user_id};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &staff_agent_stmt, params, &p);
    if (r == NULL) {
        sp_log_step_failed(SP_LOG_WARN, "chat_presence_failed", "staff_agent", p.detail);
        return 0;
    }
    return PQntuples(r) > 0 ? sp_db_int(r, 0, 0) : 0;
}

void
sp_chat_presence_sender(struct sp_ctx *ctx, struct sp_jw *w, const char *principal,
                        long long agent_id)
{
    const char *type = sp_chat_presence_sender_type(principal);
    const char *dash = strchr(principal, '-');
    const char *sub = dash != NULL ? dash + 1 : principal;
    sp_jw_kstr(w, "sender_type", type);
    if (type == NULL || strcmp(type, "agent") != 0) {
        sp_jw_kstr(w, "sender_id", sub);
        return;
    }
    /* Staff as a staff message names them: the agent id, never the user
     * id (QA: customers read a staff account's identity here). */
    if (agent_id == 0)
        agent_id = staff_agent_id(ctx, sub);
    char id[24];
    snprintf(id, sizeof(id), "%lld", agent_id);
    sp_jw_kstr(w, "sender_id", agent_id != 0 ? id : NULL);
    sp_jw_kint_or_null(w, "agent_id", agent_id);
}

void
sp_chat_presence_frame(struct sp_ctx *ctx, struct sp_jw *w, const char *session_id,
                       const char *principal, long long agent_id, const char *state)
{
    sp_jw_object(w);
    sp_jw_kstr(w, "type", "presence");
    sp_jw_kstr(w, "session_id", session_id);
    sp_chat_presence_sender(ctx, w, principal, agent_id);
    sp_jw_kstr(w, "state", state);
    sp_jw_end(w);
}

/* principal's presence frame, alone in b. */
static void
render_frame(struct sp_ctx *ctx, struct sp_buf *b, const char *sid, const char *principal,
             const char *state)
{
    struct sp_jw w;
    sp_buf_init(b, ctx->arena, 256);
    sp_jw_init(&w, b);
    sp_chat_presence_frame(ctx, &w, sid, principal, 0, state);
}

/* Tells every other fresh participant ("principal[:state],...") that
 * principal is now `state`. */
static void
tell_others(struct sp_ctx *ctx, const char *sid, const char *principal, const char *state,
            const char *others)
{
    if (others == NULL || *others == '\0')
        return;
    struct sp_buf b;
    render_frame(ctx, &b, sid, principal, state);
    char *list = sp_arena_strdup(ctx->arena, others);
    for (char *save = NULL, *it = strtok_r(list, ",", &save); it != NULL;
         it = strtok_r(NULL, ",", &save)) {
        char *colon = strrchr(it, ':');
        if (colon != NULL)
            *colon = '\0';
        if (sp_chat_presence_sender_type(it) != NULL)
            sp_chat_bus_publish(sid, it, b.data, b.len);
    }
}

/* Tells a newly connected principal (its private channel) who else is here. */
static void
snapshot(struct sp_ctx *ctx, const char *sid, const char *principal, const char *others)
{
    if (others == NULL || *others == '\0')
        return;
    char *list = sp_arena_strdup(ctx->arena, others);
    int k = 0;
    for (char *save = NULL, *it = strtok_r(list, ",", &save); it != NULL && k < 16;
         it = strtok_r(NULL, ",", &save), k++) {
        char *colon = strrchr(it, ':');
        if (colon == NULL)
            continue;
        *colon = '\0';
        const char *st = colon + 1;
        if (sp_chat_presence_sender_type(it) == NULL ||
            (strcmp(st, "online") != 0 && strcmp(st, "away") != 0))
            continue;
        struct sp_buf b;
        render_frame(ctx, &b, sid, it, st);
        sp_chat_bus_publish(sid, principal, b.data, b.len);
    }
}

static void
announce(struct sp_ctx *ctx, const struct sp_chat_presence_conn *c,
         const struct sp_chat_presence_change *chg)
{
    if (strcmp(chg->before, chg->after) != 0)
        tell_others(ctx, c->session_id, c->principal, chg->after, chg->others);
}

bool
sp_chat_presence_record(struct sp_ctx *ctx, const struct sp_chat_presence_conn *c,
                        const char *state, struct sp_chat_presence_change *chg)
{
    struct sp_problem p;
    sp_problem_init(&p);
    char t[24];
    snprintf(t, sizeof(t), "%d", c->timeout_s);
    const char *params[5] = {c->session_id, c->principal, c->conn_id, state, t};
    PGresult *r = exec_serialized(ctx, &presence_touch_stmt, params, &p);
    if (r == NULL) {
        sp_log_step_failed(SP_LOG_WARN, "chat_presence_failed", "touch", p.detail);
        return false;
    }
    read_change(r, chg);
    return true;
}

void
sp_chat_presence_joined(struct sp_ctx *ctx, const struct sp_chat_presence_conn *c,
                        const struct sp_chat_presence_change *chg)
{
    announce(ctx, c, chg);
    snapshot(ctx, c->session_id, c->principal, chg->others);
}

bool
sp_chat_presence_touch(struct sp_ctx *ctx, const struct sp_chat_presence_conn *c,
                       const char *state, struct sp_chat_presence_change *chg)
{
    if (!sp_chat_presence_record(ctx, c, state, chg))
        return false;
    announce(ctx, c, chg);
    return true;
}

/* Seconds between two sweeps, and between two sign-of-life writes of one
 * connection by one worker: a fifth of the timeout, 1 to 15 s. */
static int
interval(int timeout_s)
{
    int i = timeout_s / 5;
    return i < 1 ? 1 : i > 15 ? 15 : i;
}

/* A message or typing frame is a sign of life, but writing it down once
 * per interval is enough: this worker remembers when it last recorded
 * each connection (direct-mapped by a 64-bit hash; a collision costs one
 * extra write, or at worst one skipped write of another connection). */
#define TOUCH_MEMO_SLOTS 1024
static struct {
    uint64_t key;
    time_t at;
} touch_memo[TOUCH_MEMO_SLOTS];

static uint64_t
touch_key(const struct sp_chat_presence_conn *c)
{
    uint64_t h = SP_FNV1A_INIT;
    const char *parts[3] = {c->session_id, c->principal, c->conn_id};
    for (int i = 0; i < 3; i++)  /* each with its NUL: "ab|c" and "a|bc" differ */
        h = sp_fnv1a(h, parts[i], strlen(parts[i]) + 1);
    return h;
}

bool
sp_chat_presence_alive_due(const struct sp_chat_presence_conn *c)
{
    uint64_t key = touch_key(c);
    size_t slot = (size_t)(key % TOUCH_MEMO_SLOTS);
    time_t now = time(NULL);
    return !(touch_memo[slot].key == key && now >= touch_memo[slot].at &&
             now - touch_memo[slot].at < interval(c->timeout_s));
}

static void
remember_touch(const struct sp_chat_presence_conn *c)
{
    uint64_t key = touch_key(c);
    size_t slot = (size_t)(key % TOUCH_MEMO_SLOTS);
    touch_memo[slot].key = key;
    touch_memo[slot].at = time(NULL);
}

void
sp_chat_presence_alive(struct sp_ctx *ctx, const struct sp_chat_presence_conn *c)
{
    if (!sp_chat_presence_alive_due(c))
        return;
    struct sp_chat_presence_change chg;
    if (sp_chat_presence_touch(ctx, c, NULL, &chg))
        remember_touch(c);
}

void
sp_chat_presence_alive_recorded(struct sp_ctx *ctx, const struct sp_chat_presence_conn *c,
                                bool refreshed)
{
    if (refreshed)
        remember_touch(c);
    else
        sp_chat_presence_alive(ctx, c);
}

void
sp_chat_presence_leave(struct sp_ctx *ctx, const struct sp_chat_presence_conn *c)
{
    if (sp_chat_presence_sender_type(c->principal) == NULL)
        return;
    struct sp_problem p;
    sp_problem_init(&p);
    char t[24];
    snprintf(t, sizeof(t), "%d", c->timeout_s);
    const char *params[4] = {c->session_id, c->principal, c->conn_id, t};
    PGresult *r = exec_serialized(ctx, &presence_leave_stmt, params, &p);
    if (r == NULL) {
        sp_log_step_failed(SP_LOG_WARN, "chat_presence_failed", "leave", p.detail);
        return;
    }
    struct sp_chat_presence_change chg;
    read_change(r, &chg);
    if (sp_db_int(r, 0, 3) == 0)
        return;   /* not ours (already swept): no change */
    announce(ctx, c, &chg);
}

void
sp_chat_presence_drop(struct sp_ctx *ctx, const char *session_id, const char *principal)
{
    if (sp_chat_presence_sender_type(principal) == NULL)
        return;
    struct sp_problem p;
    sp_problem_init(&p);
    const char *params[2] = {session_id, principal};
    PGresult *r = exec_serialized(ctx, &presence_drop_stmt, params, &p);
    if (r == NULL) {
        sp_log_step_failed(SP_LOG_WARN, "chat_presence_failed", "drop", p.detail);
        return;
    }
    if (sp_db_int(r, 0, 0) > 0)
        tell_others(ctx, session_id, principal, "offline", sp_db_str(r, 0, 1));
}

void
sp_chat_presence_leave_soon(struct sp_ctx *ctx, const struct sp_chat_presence_conn *c)
{
    if (sp_chat_presence_sender_type(c->principal) == NULL)
        return;
    struct sp_problem p;
    sp_problem_init(&p);
    char t[24], grace[24];
    snprintf(t, sizeof(t), "%d", c->timeout_s);
    snprintf(grace, sizeof(grace), "%d", interval(c->timeout_s));
    const char *params[5] = {c->session_id, c->principal, c->conn_id, t, grace};
    if (sp_db_exec(ctx->db, ctx->arena, &presence_fade_stmt, params, &p) == NULL)
        sp_log_step_failed(SP_LOG_WARN, "chat_presence_failed", "leave_soon", p.detail);
}

void
sp_chat_presence_sweep_maybe(struct sp_ctx *ctx, int timeout_s)
{
    static time_t last;
    time_t now = time(NULL);
    if (last != 0 && now - last < interval(timeout_s))
        return;
    last = now;
    struct sp_problem p;
    sp_problem_init(&p);
    char t[24], max[24];
    snprintf(t, sizeof(t), "%d", timeout_s);
    snprintf(max, sizeof(max), "%d", PRESENCE_SWEEP_MAX);
    const char *params[2] = {t, max};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &presence_sweep_stmt, params, &p);
    if (r == NULL) {
        sp_log_step_failed(SP_LOG_WARN, "chat_presence_failed", "sweep", p.detail);
        return;
    }
    int rows = PQntuples(r);
    for (int i = 0; i < rows; i++) {
        const char *sid = sp_db_str(r, i, 0), *principal = sp_db_str(r, i, 1);
        if (sid == NULL || principal == NULL || sp_chat_presence_sender_type(principal) == NULL)
            continue;
        tell_others(ctx, sid, principal, "offline", sp_db_str(r, i, 2));
    }
    if (rows > 0) {
        struct sp_log_line *l = sp_log_begin(SP_LOG_INFO, "chat_presence_swept");
        sp_log_int(l, "participants", (long long)rows);
        sp_log_end(l);
    }
}
