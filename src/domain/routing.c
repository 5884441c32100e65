/*
 * routing: agent picks for new tickets and chats. See routing.h.
 */
#include "domain/routing.h"

#include <string.h>

#include "core/arena.h"
#include "db/db.h"
#include "domain/agents.h"

/* Picks of one team (or skill) are serialized for the rest of the
 * transaction: the next statement's snapshot then sees the previous pick's
 * committed last_assigned_at. Row locks with SKIP LOCKED alone would skip
 * agents whose picks are still in flight (leaving tickets unassigned) and
 * re-check only the WHERE clause, not the ORDER BY, after a wait. */
#define PICK_LOCK_HASH(h) "pg_advisory_xact_lock(7311947, " h ")"
#define PICK_LOCK(key) PICK_LOCK_HASH("hashtext(" key ")")
/* The lock key of a team's chat picks (text, in C and in SQL). */
#define CHAT_KEY "chat:"

static struct sp_stmt serialize_stmt =
    SP_STMT("route_serialize", "SELECT " PICK_LOCK("$1"), 1);

/* A skill's chat picks may hand a chat to an agent of any team, and an
 * agent's chat capacity is only counted under its team's lock (accepts
 * and team picks take that one alone): so they take the chat lock of
 * every team with an agent of the skill. Always in the order of the lock
 * keys, so two such picks never each hold a lock the other waits for.
 * (DISTINCT keeps the subquery from being flattened: its order holds.)
 * An agent given the skill between this statement and the pick is picked
 * without its team's lock: only an admin's edit racing a pick, at worst
 * one chat over that agent's capacity. */
static struct sp_stmt skill_teams_lock_stmt = SP_STMT(
    "route_chat_skill_lock",
    "SELECT " PICK_LOCK_HASH("k") " FROM ("
    "  SELECT DISTINCT hashtext('" CHAT_KEY "' || team) AS k FROM support_agents"
    "  WHERE $1 = ANY (skills) ORDER BY k"
    ") AS teams",
    1);

static struct sp_stmt round_robin_stmt = SP_STMT(
    "route_round_robin",
    "UPDATE support_agents SET last_assigned_at = clock_timestamp() WHERE id = ("
    "  SELECT a.id FROM support_agents a"
    "  WHERE a.team = $1 AND " SP_AGENT_ROUTABLE("a")
    "    AND " SP_AGENT_OPEN_TICKETS("a") " < $2::bigint"
    "  ORDER BY a.last_assigned_at NULLS FIRST, a.id"
    "  LIMIT 1"
    ") RETURNING id",
    2);

static struct sp_stmt skill_stmt = SP_STMT(
    "route_skill",
    "UPDATE support_agents SET last_assigned_at = clock_timestamp() WHERE id = ("
    "  SELECT a.id FROM support_agents a"
    "  WHERE $1 = ANY (a.skills) AND " SP_AGENT_ROUTABLE("a")
    "    AND " SP_AGENT_OPEN_TICKETS("a") " < $2::bigint"
    "  ORDER BY " SP_AGENT_OPEN_TICKETS("a") ", a.last_assigned_at NULLS FIRST, a.id"
    "  LIMIT 1"
    ") RETURNING id",
    2);

/* A keep counts the agent's open tickets under the locks of every pick
 * that could hand them one (their team's round robin, each of their
 * skills), taken in key order as skill_teams_lock_stmt takes its own:
 * a pick in flight commits first and is counted, and a later pick counts
 * the kept ticket. Without them both saw one place left and took it. */
static struct sp_stmt keep_lock_stmt = SP_STMT(
    "route_keep_lock",
    "SELECT " PICK_LOCK_HASH("k") " FROM ("
    "  SELECT DISTINCT hashtext(x.key) AS k FROM support_agents a,"
    "  LATERAL (SELECT 'round_robin:' || a.team"
    "           UNION ALL SELECT 'skill:' || s FROM unnest(a.skills) s) AS x(key)"
    "  WHERE a.id = $1::bigint AND x.key IS NOT NULL ORDER BY k"
    ") AS picks",
    1);

/* Every pick that could hand agent $1 (or the agent of user $2) work
 * holds its lock while it writes the agent's row (last_assigned_at): the
 * ticket picks of its team and of each of its skills, and its team's
 * chat picks (a skill's chat pick holds its team's too), as the row
 * stands and as a patch makes it (team $3, skills $4: JSON, NULL when
 * unchanged). Ticket keys first, then chat keys, as a chat's conversion
 * takes them; each phase in key order. */
static struct sp_stmt agent_write_locks_stmt = SP_STMT(
    "route_agent_write_locks",
    "SELECT " PICK_LOCK_HASH("k") " FROM ("
    "  SELECT DISTINCT x.phase, hashtext(x.key) AS k FROM support_agents a,"
    "  LATERAL (SELECT 0, 'round_robin:' || t FROM unnest(ARRAY[a.team, $3::text]) AS t"
    "           UNION ALL SELECT 0, 'skill:' || s FROM unnest(a.skills || ARRAY("
    "             SELECT jsonb_array_elements_text(coalesce($4::jsonb, '[]')))) AS s"
    "           UNION ALL SELECT 1, '" CHAT_KEY "' || t FROM unnest(ARRAY[a.team, $3::text]) AS t"
    "  ) AS x(phase, key)"
    "  WHERE (a.id = $1::bigint OR a.user_id = $2::text) AND x.key IS NOT NULL"
    "  ORDER BY x.phase, k"
    ") AS picks",
    4);

enum sp_rc
sp_route_agent_write_locks(struct sp_ctx *ctx, long long agent_id, const char *user_id,
                           const char *team, const char *skills_json, struct sp_problem *p)
{
    const char *params[4] = {agent_id != 0 ? sp_arena_sprintf(ctx->arena, "%lld", agent_id)
                                           : NULL,
                             user_id, team, skills_json};
    return sp_db_exec(ctx->db, ctx->arena, &agent_write_locks_stmt, params, p) == NULL ? p->rc
                                                                                      : SP_OK;
}

/* The agent a ticket continues the work of (sp_route_ticket's keep),
 * under the same open-ticket cap as a pick (counted after keep_lock_stmt:
 * sp_db_exec_locked, it sees the picks it waited for). */
static struct sp_stmt keep_stmt = SP_STMT(
    "route_keep",
    "UPDATE support_agents a SET last_assigned_at = clock_timestamp()"
    " WHERE a.id = $1::bigint AND a.is_active"
    "   AND " SP_AGENT_OPEN_TICKETS("a") " < $2::bigint RETURNING id",
    2);

/* Every pick: serialized by lock_st (serialize_stmt: on the key
 * lock_key), then st answers the agent's id, or no row when nobody can
 * take it (*agent_id stays 0). */
static enum sp_rc
pick(struct sp_ctx *ctx, struct sp_stmt *lock_st, const char *lock_key, struct sp_stmt *st,
     const char *const *params, long long *agent_id, struct sp_problem *p)
{
    const char *lock[1] = {lock_key};
    PGresult *r = sp_db_exec_locked(ctx->db, ctx->arena, lock_st, lock, st, params, p);
    if (r == NULL)
        return p->rc;
    if (PQntuples(r) == 1)
        *agent_id = sp_db_int(r, 0, 0);
    return SP_OK;
}

bool
sp_route_routes(const char *routing, const char *skill)
{
    return routing != NULL && (strcmp(routing, "round_robin") == 0 ||
                               (strcmp(routing, "skill") == 0 && skill != NULL));
}

enum sp_rc
sp_route_ticket(struct sp_ctx *ctx, const char *routing, const char *team, const char *skill,
                long max_open, long long keep, long long *agent_id, struct sp_problem *p)
{
    *agent_id = 0;
    if (keep != 0) {
        const char *kp[2] = {sp_arena_sprintf(ctx->arena, "%lld", keep),
                             sp_arena_sprintf(ctx->arena, "%ld", max_open)};
        PGresult *r =
            sp_db_exec_locked(ctx->db, ctx->arena, &keep_lock_stmt, kp, &keep_stmt, kp, p);
        if (r == NULL)
            return p->rc;
        if (PQntuples(r) == 1) {
            *agent_id = keep;
            return SP_OK;
        }
    }
    if (!sp_route_routes(routing, skill))
        return SP_OK;  /* manual: agents claim it */
    bool by_skill = strcmp(routing, "skill") == 0;
    struct sp_stmt *st = by_skill ? &skill_stmt : &round_robin_stmt;
    const char *key = by_skill ? skill : team ? team : "general";
    const char *params[2] = {key, sp_arena_sprintf(ctx->arena, "%ld", max_open)};
    return pick(ctx, &serialize_stmt, sp_arena_sprintf(ctx->arena, "%s:%s", routing, key), st,
                params, agent_id, p);
}

/* The waiting tickets agent $1 may be routed (sp_route_ticket_waiting):
 * left to routing, unassigned and not resolved or closed, in a category
 * whose routing reaches the agent as sp_route_ticket picks — a skill
 * category whose skill the agent has, a round-robin one of the agent's
 * team (`general` when it names none); never manual. The soonest due
 * first (queue order; no running target last, then the oldest), at most
 * $3 and the agent's free places under the open-ticket cap $2 (none when
 * away). Counted after keep_lock_stmt (sp_db_exec_locked), which holds
 * every pick lock these tickets' routing takes, in key order. A ticket
 * another transaction holds is skipped (SKIP LOCKED). */
static struct sp_stmt ticket_waiting_stmt = SP_STMT(
    "route_ticket_waiting",
    "SELECT t.id, c.routing, c.team, c.required_skill FROM support_tickets t"
    " JOIN support_categories c ON c.id = t.category_id CROSS JOIN support_agents a"
    " WHERE a.id = $1::bigint AND t.left_to_routing AND t.assigned_agent_id IS NULL"
    "   AND t.status IN ('open', 'in_progress', 'pending_customer')"
    "   AND CASE c.routing WHEN 'skill' THEN c.required_skill = ANY (a.skills)"
    "       WHEN 'round_robin' THEN coalesce(c.team, 'general') = a.team ELSE false END"
    " ORDER BY coalesce(t.sla_due_at, 'infinity'::timestamptz), t.id"
    " LIMIT (SELECT coalesce(max(least($3::bigint,"
    "          greatest($2::bigint - " SP_AGENT_OPEN_TICKETS("a") ", 0))), 0)"
    "        FROM support_agents a WHERE a.id = $1::bigint AND " SP_AGENT_ROUTABLE("a") ")"
    " FOR UPDATE OF t SKIP LOCKED",
    3);

enum sp_rc
sp_route_ticket_waiting(struct sp_ctx *ctx, long long agent_id, struct sp_waiting_ticket **out,
                        size_t *n, struct sp_problem *p)
{
    *n = 0;
    const char *params[3] = {sp_arena_sprintf(ctx->arena, "%lld", agent_id),
                             sp_arena_sprintf(ctx->arena, "%ld", ctx->agent_max_open),
                             sp_arena_sprintf(ctx->arena, "%d", SP_ROUTE_HANDOUT_MAX)};
    PGresult *r = sp_db_exec_locked(ctx->db, ctx->arena, &keep_lock_stmt, params,
                                    &ticket_waiting_stmt, params, p);
    if (r == NULL)
        return p->rc;
    *n = (size_t)PQntuples(r);
    *out = sp_arena_calloc(ctx->arena, *n + 1, sizeof(**out));
    for (size_t i = 0; i < *n; i++)
        (*out)[i] = (struct sp_waiting_ticket){sp_db_int(r, (int)i, 0), sp_db_str(r, (int)i, 1),
                                               sp_db_str(r, (int)i, 2), sp_db_str(r, (int)i, 3)};
    return SP_OK;
}

#define ACTIVE_CHATS(alias)                                                         \
    "(SELECT count(*) FROM support_chat_sessions s WHERE s.assigned_agent_id = " alias ".id" \
    " AND s.status = 'active' AND s.expires_at > now())"

/* A chat pick among the agents `who` admits (one team's, or a skill's),
 * but for $2 (the agent a transfer moves it from; 0: none): the same
 * capacity and order whichever way the category routes. */
#define CHAT_PICK(who)                                                                 \
    "SELECT a.id FROM support_agents a"                                                \
    " WHERE " who " AND " SP_AGENT_ROUTABLE("a") " AND a.id <> $2::bigint"            \
    "   AND " ACTIVE_CHATS("a") " < a.max_concurrent_chats"                            \
    " ORDER BY " ACTIVE_CHATS("a") ", a.last_assigned_at NULLS FIRST, a.id LIMIT 1"

static struct sp_stmt chat_stmt = SP_STMT_READ("route_chat", CHAT_PICK("a.team = $1"), 2);
static struct sp_stmt chat_skill_stmt =
    SP_STMT_READ("route_chat_skill", CHAT_PICK("$1 = ANY (a.skills)"), 2);

enum sp_rc
sp_route_chat(struct sp_ctx *ctx, const char *routing, const char *team, const char *skill,
              long long exclude, long long *agent_id, struct sp_problem *p)
{
    *agent_id = 0;
    const char *other = sp_arena_sprintf(ctx->arena, "%lld", exclude);
    if (routing != NULL && strcmp(routing, "skill") == 0) {
        if (skill == NULL)
            return SP_OK;  /* as sp_route_ticket: a skill category needs its skill */
        const char *params[2] = {skill, other};
        return pick(ctx, &skill_teams_lock_stmt, skill, &chat_skill_stmt, params, agent_id, p);
    }
    const char *params[2] = {team ? team : "general", other};
    return pick(ctx, &serialize_stmt, sp_arena_sprintf(ctx->arena, CHAT_KEY "%s", params[0]),
                &chat_stmt, params, agent_id, p);
}

/* Accepting serializes with routing on the agent's team (the lock
 * sp_route_chat takes); the capacity is then counted after the lock
 * (sp_db_exec_locked), seeing every pick committed before it was granted. */
static struct sp_stmt team_lock_stmt = SP_STMT(
    "chat_team_lock",
    "SELECT " PICK_LOCK("'" CHAT_KEY "' || team") " FROM support_agents WHERE id = $1::bigint",
    1);

enum capacity_column { CAP_ACTIVE, CAP_FULL, CAP_MAX, CAP_DEACTIVATED };
static struct sp_stmt capacity_stmt = SP_STMT_READ(
    "chat_agent_capacity",
    "SELECT a.status = 'active', " ACTIVE_CHATS("a") " >= a.max_concurrent_chats,"
    " a.max_concurrent_chats, NOT a.is_active FROM support_agents a WHERE a.id = $1::bigint",
    1);

enum sp_rc
sp_route_chat_room(struct sp_ctx *ctx, long long agent_id, enum sp_chat_room *room, int *max,
                   struct sp_problem *p)
{
    const char *cp[1] = {sp_arena_sprintf(ctx->arena, "%lld", agent_id)};
    PGresult *r =
        sp_db_exec_locked(ctx->db, ctx->arena, &team_lock_stmt, cp, &capacity_stmt, cp, p);
    if (r == NULL)
        return p->rc;
    *max = 0;
    if (PQntuples(r) != 1) {
        *room = SP_CHAT_ROOM_UNKNOWN;
        return SP_OK;
    }
    *max = (int)sp_db_int(r, 0, CAP_MAX);
    *room = sp_db_bool(r, 0, CAP_DEACTIVATED) ? SP_CHAT_ROOM_DEACTIVATED
            : !sp_db_bool(r, 0, CAP_ACTIVE)   ? SP_CHAT_ROOM_AWAY
            : sp_db_bool(r, 0, CAP_FULL)      ? SP_CHAT_ROOM_FULL
                                              : SP_CHAT_ROOM_FREE;
    return SP_OK;
}

enum sp_rc
sp_route_chat_no_room(struct sp_problem *p, const char *who, enum sp_chat_room room, int max)
{
    if (room == SP_CHAT_ROOM_FULL)
        return sp_problem_set(p, SP_CONFLICT, "agent_unavailable",
                              "%s has max_concurrent_chats (%d) active chats", who, max);
    if (room == SP_CHAT_ROOM_DEACTIVATED)
        return sp_problem_set(p, SP_CONFLICT, "agent_unavailable",
                              "%s is deactivated by an administrator", who);
    return sp_problem_set(p, SP_CONFLICT, "agent_unavailable", "%s is away", who);
}

/* Every chat lock a transfer may take, in the order of the lock keys: the
 * team of the agent it leaves ($1: its free place is offered to waiting
 * chats) and of the agent named ($2), or those the pick locks (the teams
 * of skill $3's agents, or team $4). Taken one by one as the transfer
 * went, two transfers the opposite way between two teams could each hold
 * the lock the other waited for (a deadlock, answered 503). Advisory
 * locks are re-entrant: the takes that follow pass at once. */
static struct sp_stmt transfer_locks_stmt = SP_STMT(
    "route_chat_transfer_locks",
    "SELECT " PICK_LOCK_HASH("k") " FROM ("
    "  SELECT DISTINCT k FROM ("
    "    SELECT hashtext('" CHAT_KEY "' || a.team) AS k FROM support_agents a"
    "    WHERE a.id IN ($1::bigint, $2::bigint) OR $3::text = ANY (a.skills)"
    "    UNION ALL SELECT hashtext('" CHAT_KEY "' || $4::text) WHERE $4::text IS NOT NULL"
    "  ) AS keys ORDER BY k"
    ") AS teams",
    4);

enum sp_rc
sp_route_chat_transfer_locks(struct sp_ctx *ctx, long long from, long long to,
                             const char *routing, const char *team, const char *skill,
                             struct sp_problem *p)
{
    bool by_skill = to == 0 && routing != NULL && strcmp(routing, "skill") == 0;
    const char *params[4] = {sp_arena_sprintf(ctx->arena, "%lld", from),
                             sp_arena_sprintf(ctx->arena, "%lld", to), by_skill ? skill : NULL,
                             to == 0 && !by_skill ? (team ? team : "general") : NULL};
    return sp_db_exec(ctx->db, ctx->arena, &transfer_locks_stmt, params, p) == NULL ? p->rc
                                                                                     : SP_OK;
}

/* The waiting chats agent $1 may take, oldest first, as many as its free
 * chat places (none when away): those whose category would route to it
 * as sp_route_chat picks — a skill category's skill among its skills,
 * else its team (`general` without a category), never a manual one.
 * Locked; a chat another transaction is routing or accepting is skipped
 * (SKIP LOCKED), and one it took meanwhile fails the status check once
 * its lock is released, so two agents freed at once never share one. */
static struct sp_stmt waiting_stmt = SP_STMT(
    "route_chat_waiting",
    "SELECT s.id, s.public_id FROM support_chat_sessions s"
    " CROSS JOIN support_agents a LEFT JOIN support_categories c ON c.id = s.category_id"
    " WHERE a.id = $1::bigint AND s.status = 'waiting' AND s.expires_at > now()"
    "   AND coalesce(c.routing, 'round_robin') <> 'manual'"
    "   AND CASE WHEN c.routing = 'skill' THEN c.required_skill = ANY (a.skills)"
    "            ELSE coalesce(c.team, 'general') = a.team END"
    " ORDER BY s.started_at, s.id"
    " LIMIT (SELECT coalesce(max(greatest(a.max_concurrent_chats - " ACTIVE_CHATS("a") ", 0)), 0)"
    "        FROM support_agents a WHERE a.id = $1::bigint AND " SP_AGENT_ROUTABLE("a") ")"
    " FOR UPDATE OF s SKIP LOCKED",
    1);

enum sp_rc
sp_route_chat_waiting(struct sp_ctx *ctx, long long agent_id, struct sp_waiting_chat **out,
                      size_t *n, struct sp_problem *p)
{
    *out = NULL;
    *n = 0;
    enum sp_chat_room room;
    int max;
    if (sp_route_chat_room(ctx, agent_id, &room, &max, p) != SP_OK || room != SP_CHAT_ROOM_FREE)
        return p->rc;
    PGresult *r = sp_db_exec_id(ctx->db, ctx->arena, &waiting_stmt, agent_id, p);
    if (r == NULL)
        return p->rc;
    *n = (size_t)PQntuples(r);
    *out = sp_arena_calloc(ctx->arena, *n + 1, sizeof(**out));
    for (size_t i = 0; i < *n; i++)
        (*out)[i] = (struct sp_waiting_chat){sp_db_str(r, (int)i, 0), sp_db_str(r, (int)i, 1)};
    return SP_OK;
}

static struct sp_stmt takers_stmt = SP_STMT_READ(
    "route_skill_takers",
    "SELECT a.id FROM support_agents a"
    " WHERE $1 = ANY (a.skills) AND " SP_AGENT_ROUTABLE("a") " AND a.id <> $2::bigint"
    " ORDER BY " SP_AGENT_OPEN_TICKETS("a") ", a.last_assigned_at NULLS FIRST, a.id"
    " LIMIT $3::integer",
    3);

enum sp_rc
sp_route_staff_to(struct sp_ctx *ctx, const char *routing, const char *team, const char *skill,
                  long long except, struct sp_route_staff *out, struct sp_problem *p)
{
    size_t n = 0;
    PGresult *r = NULL;
    if (routing != NULL && strcmp(routing, "skill") == 0 && team == NULL && skill != NULL) {
        const char *params[3] = {skill, sp_arena_sprintf(ctx->arena, "%lld", except),
                                 sp_arena_sprintf(ctx->arena, "%d", SP_ROUTE_TAKERS_MAX)};
        r = sp_db_exec(ctx->db, ctx->arena, &takers_stmt, params, p);
        if (r == NULL)
            return p->rc;
        n = (size_t)PQntuples(r);
    }
    const char **to = sp_arena_calloc(ctx->arena, n + 1, sizeof(*to));
    for (size_t i = 0; i < n; i++)
        to[i] = sp_db_str(r, (int)i, 0);
    if (n == 0) /* not routed by skill, or nobody active holds it */
        to[0] = team != NULL ? team : "general";
    *out = (struct sp_route_staff){n > 0 ? "agent" : "team", to, n > 0 ? n : 1};
    return SP_OK;
}
