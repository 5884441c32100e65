/*
 * agents: support_agents reads and writes. See agents.h.
 */
#include "domain/agents.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/names.h"
#include "core/utf8.h"
#include "db/db.h"
#include "domain/admin_sessions.h"
#include "domain/chat_sessions.h"
#include "domain/routing.h"
#include "domain/ticket_route.h"
#include "domain/ticket_subject.h"

#define AGENT_COLS SP_AGENT_COLS

/* Never writes when the row exists (no bloat from a read-mostly call),
 * and then does not even try: an INSERT that meets its conflict has
 * taken an id from the sequence (QA: each GET /support/agent/me burned
 * one). */

const char *const sp_agent_status_names[] = {"active", "away", NULL};
static struct sp_stmt ensure_stmt = SP_STMT(
    "agent_ensure",
    "WITH found AS (SELECT " AGENT_COLS " FROM support_agents WHERE user_id = $1),"
    " ins AS ("
    "  INSERT INTO support_agents (user_id, display_name, status)"
    "  SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM found)"
    "  ON CONFLICT (user_id) DO NOTHING RETURNING " AGENT_COLS
    ") SELECT * FROM found UNION ALL SELECT * FROM ins LIMIT 1",
    3);

static struct sp_stmt get_stmt = SP_STMT_READ(
    "agent_get", "SELECT " AGENT_COLS " FROM support_agents WHERE id = $1::bigint", 1);

static struct sp_stmt by_user_stmt = SP_STMT_READ(
    "agent_by_user", "SELECT " AGENT_COLS " FROM support_agents WHERE user_id = $1", 1);

/* FOR SHARE, not KEY SHARE: a deactivation's UPDATE changes no key
 * column, so it takes FOR NO KEY UPDATE, which only SHARE conflicts
 * with. */
static struct sp_stmt get_shared_stmt = SP_STMT(
    "agent_get_shared",
    "SELECT " AGENT_COLS " FROM support_agents WHERE id = $1::bigint FOR SHARE", 1);

/* FOR NO KEY UPDATE: the lock the assignment's own stamp of the row
 * (last_assigned_at, in ticket_apply) takes, taken up front. Two
 * assignments to one agent that each held a share and then wanted the
 * update waited for each other (40P01, answered 503: QA, 6 parallel
 * claims by one agent); now the second waits at this read. It conflicts
 * with a deactivation's update as the share did. */
static struct sp_stmt get_assignee_stmt = SP_STMT(
    "agent_get_assignee",
    "SELECT " AGENT_COLS " FROM support_agents WHERE id = $1::bigint FOR NO KEY UPDATE", 1);

/* The agent's own columns after its PATCH. A PATCH that changes none of
 * them keeps updated_at and the version (the ETag stays good); $7, an
 * If-Match versions (NULL: any), makes a stale one miss the row. */
#define SELF_NEW                                                                                \
    "coalesce($2, status), CASE WHEN $3::boolean THEN $4::int ELSE max_concurrent_chats END,"   \
    " CASE WHEN $5::boolean THEN $6 ELSE display_name END"
#define SELF_CHANGED                                                                            \
    "ROW(" SELF_NEW ") IS DISTINCT FROM ROW(status, max_concurrent_chats, display_name)"
static struct sp_stmt update_self_stmt = SP_STMT(
    "agent_update_self",
    "UPDATE support_agents SET (status, max_concurrent_chats, display_name) = (" SELF_NEW "),"
    " updated_at = CASE WHEN " SELF_CHANGED " THEN now() ELSE updated_at END,"
    " version = version + (" SELF_CHANGED ")::integer"
    " WHERE user_id = $1 AND ($7::integer[] IS NULL OR version = ANY($7::integer[]))"
    " RETURNING " AGENT_COLS,
    7);

bool
sp_agent_user_id_ok(const char *user_id)
{
    /* As a sub is written: no sign, no leading zero ("007" would never
     * match a sub of 7), not 0. */
    size_t n = strlen(user_id);
    return n >= 1 && n <= 64 && strspn(user_id, "0123456789") == n && user_id[0] != '0';
}

/* A name routing matches exactly (a skill, a team): one line, trimmed,
 * invisible characters dropped, case folded and NFKC (sp_name_fold_compat:
 * "Café" typed precomposed or with a combining accent, "CAFÉ", are one
 * skill; QA: NFC and NFD were two, and a category's NFD skill never
 * routed to an agent's NFC one; a "tech\u200bnical" looked like
 * "technical" and matched nothing, a fullwidth "ｆｕｌｌ" was not "full"),
 * at most max characters as stored; NULL when it is not one. */
static const char *
routing_name(struct sp_arena *a, const char *s, size_t max)
{
    struct sp_problem none;
    sp_problem_init(&none);
    const char *name = sp_ticket_subject(a, "name", s, &none);
    if (name == NULL || (name = sp_name_fold_compat(a, name, strlen(name))) == NULL ||
        sp_utf8_count(name, strlen(name)) > max)
        return NULL;
    return name;
}

const char *
sp_agent_skill(struct sp_arena *a, const char *s)
{
    return routing_name(a, s, SP_AGENT_SKILL_MAX);
}

const char *
sp_agent_team(struct sp_arena *a, const char *s)
{
    return routing_name(a, s, SP_AGENT_TEAM_MAX);
}

/* Whether name is the agent's current name as customers read it: the
 * same text, or the same key when that has a letter or digit (a name
 * with none reads as nothing in particular). Sending it back is no
 * rename (QA: an agent whose kept token name read as another's could not
 * send its own name back, nor change its status beside it). */
static bool
same_name(struct sp_arena *a, const char *name, const char *current)
{
    if (current == NULL)
        return false;
    if (strcmp(name, current) == 0)
        return true;
    const char *key = sp_name_key(a, name), *theirs = sp_name_key(a, current);
    return key != NULL && theirs != NULL && *key != '\0' && strcmp(key, theirs) == 0;
}

const char *
sp_agent_display_name(struct sp_arena *a, const char *s, const char *from_name,
                      const char *current, struct sp_problem *p)
{
    const char *name = sp_ticket_subject_max(a, "display_name", s, SP_AGENT_NAME_MAX, p);
    if (name == NULL || same_name(a, name, current))
        return name;
    const char *platform = sp_name_reserved(a, name, from_name);
    if (platform != NULL) {
        sp_problem_fieldf(p, "display_name", "reserved",
                          "is reserved: customers would read it as \"%s\", a sender name of"
                          " the platform itself",
                          platform);
        return NULL;
    }
    const char *key = sp_name_key(a, name);
    if (key != NULL && *key == '\0') {
        sp_problem_field(p, "display_name", "empty",
                         "has no letter or digit: punctuation, symbols and emoji alone tell"
                         " no agent from another");
        return NULL;
    }
    return name;
}

/* Every write that may give an active agent a display name (an agent's
 * rename, an admin's create, rename or reactivation) takes this lock
 * first in its transaction and holds it to its commit, then compares the
 * names in a statement of its own (sp_db_exec_locked): of two agents
 * renamed to one name at once, the second sees the first's commit. No
 * index can say it: the key (core/names) is not SQL. Taken by name
 * writers only, before any other lock but a create's Idempotency-Key row
 * (which no other writer waits for), so no cycle can form. */
static struct sp_stmt names_lock_stmt =
    SP_STMT("agent_names_lock", "SELECT pg_advisory_xact_lock(7311951, 0)", 0);
/* The active agents' names, and the one agent's own (mine) whatever its
 * state. */
static struct sp_stmt names_stmt = SP_STMT(
    "agent_names",
    "SELECT id, display_name, is_active, (id = $1::bigint OR user_id = $2) IS TRUE AS mine"
    " FROM support_agents WHERE display_name IS NOT NULL"
    " AND (is_active OR id = $1::bigint OR user_id = $2)",
    2);

/* 409 display_name_taken when an active agent other than the one id (0:
 * none) or user_id (NULL: none) names has a display name with the key of
 * name (core/names: what a customer could not tell apart) — unless that
 * one agent is active and name is its current name (same_name): keeping
 * it changes nothing customers see, even beside a twin the token's name
 * made. A reactivated agent's name is compared as a new one. Under the
 * names lock, which it takes. */
static enum sp_rc
claim_name(struct sp_ctx *ctx, long long id, const char *user_id, const char *name,
           struct sp_problem *p)
{
    const char *params[2] = {id != 0 ? sp_arena_sprintf(ctx->arena, "%lld", id) : NULL, user_id};
    PGresult *r =
        sp_db_exec_locked(ctx->db, ctx->arena, &names_lock_stmt, NULL, &names_stmt, params, p);
    if (r == NULL)
        return p->rc;
    const char *key = sp_name_key(ctx->arena, name);
    if (key == NULL || *key == '\0')
        return SP_OK;   /* its own unchanged (else refused as empty): nothing to compare */
    int taken = -1;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *stored = sp_db_str(r, i, 1), *theirs = sp_name_key(ctx->arena, stored);
        if (sp_db_bool(r, i, 3)) {
            if (sp_db_bool(r, i, 2) && same_name(ctx->arena, name, stored))
                return SP_OK;
        } else if (taken < 0 && theirs != NULL && strcmp(key, theirs) == 0) {
            taken = i;
        }
    }
    if (taken < 0)
        return SP_OK;
    return sp_problem_set(p, SP_CONFLICT, "display_name_taken",
                          "agent %lld's display name reads the same to customers"
                          " (names are compared ignoring case, accents, spaces,"
                          " punctuation, symbols and look-alike letters): choose another name",
                          sp_db_int(r, taken, 0));
}

/* An admin's create (id 0) or patch of agent id: when the row will be
 * active with a display name it did not have as an active row (a new
 * name, or a reactivation), that name must be free (claim_name). The row
 * is read after the names lock, so its name is the one the lock
 * protects. */
static enum sp_rc
claim_admin_name(struct sp_ctx *ctx, long long id, const struct sp_table_value *values,
                 struct sp_problem *p)
{
    const struct sp_table_value *name = &values[SP_AGENT_DISPLAY_NAME];
    const struct sp_table_value *active = &values[SP_AGENT_IS_ACTIVE];
    bool renames = name->set && name->value != NULL;
    bool reactivates = active->set && active->value != NULL && strcmp(active->value, "true") == 0;
    bool deactivates = active->set && active->value != NULL && strcmp(active->value, "false") == 0;
    if ((!renames && !reactivates) || deactivates)
        return SP_OK;
    if (id == 0)
        return renames ? claim_name(ctx, 0, NULL, name->value, p) : SP_OK;
    struct sp_agent a;
    if (sp_db_exec(ctx->db, ctx->arena, &names_lock_stmt, NULL, p) == NULL)
        return p->rc;
    if (sp_agent_get(ctx, id, &a, p) != SP_OK) {
        if (p->rc != SP_NOT_FOUND)
            return p->rc;
        sp_problem_init(p);   /* the update answers 404 */
        return SP_OK;
    }
    const char *will_be = renames ? name->value : a.display_name;
    if (will_be == NULL || (!a.is_active && !reactivates) ||
        (a.is_active && !renames))
        return SP_OK;
    return claim_name(ctx, id, NULL, will_be, p);
}

/* The create's check (sp_admin_store_check with id 0, in the create's
 * transaction); nothing while the body has field errors (the API then
 * only collects them) and nothing for a patch (before_admin_update
 * claims its name in the update's transaction). */
static enum sp_rc
check_admin_row(struct sp_ctx *ctx, long long id, const struct sp_table_value *values,
                struct sp_problem *p)
{
    if (id != 0 || p->rc != SP_OK)
        return p->rc;
    return claim_admin_name(ctx, 0, values, p);
}

/* The items are skills as sp_agent_skill made them ("" for none). */
static bool
skill_ok(const char *skill)
{
    return *skill != '\0';
}

const struct sp_list_rule sp_agent_skills_rule = {
    .field = "skills",
    .max = SP_AGENT_SKILLS_MAX,
    .ok = skill_ok,
    .items = "skills",
    .bad_code = "invalid",
    .bad = "must be a skill: 1 to 64 characters, not blank, without control characters or"
           " line breaks",
    .duplicate = "a skill is listed twice (in upper or lower case, or another Unicode form)",
};

/* The agent may have become available — back to work, created, in a new
 * team, with new skills or more chats —: the tickets left to routing and
 * the waiting chats it may take are routed at once, in the write's
 * transaction (API.md §5.3–5.4, §7). Tickets first: a chat's conversion
 * takes a ticket's pick locks before its chat locks, and so does this. */
static enum sp_rc
take_waiting(struct sp_ctx *ctx, long long agent_id, struct sp_problem *p)
{
    if (sp_ticket_route_waiting(ctx, agent_id, p) != SP_OK)
        return p->rc;
    return sp_chat_route_waiting(ctx, agent_id, p);
}

/* After an admin's write: a deactivated agent's work goes (its tickets
 * back to routing, its chats back to waiting: API.md §6) and so do its
 * admin page sessions (a reactivation gives no old cookie back); an
 * active one may take waiting work. A deactivated agent is routed
 * nothing, so take_waiting would hand it nothing either. */
static enum sp_rc
after_admin_write(struct sp_ctx *ctx, long long agent_id, struct sp_problem *p)
{
    struct sp_agent a;
    if (sp_agent_get(ctx, agent_id, &a, p) != SP_OK)
        return p->rc;
    if (a.is_active)
        return take_waiting(ctx, agent_id, p);
    if (sp_ticket_route_hand_back(ctx, agent_id, "agent_deactivated", p) != SP_OK ||
        sp_admin_session_end_user(ctx, a.user_id, p) != SP_OK)
        return p->rc;
    return sp_chat_return_agent_chats(ctx, agent_id, p);
}

/* Whether the agent holds work a change of its user_id would hand to
 * another person: tickets not closed, chats not ended; counted after the
 * row's lock (sp_db_exec_locked), so an assignment that stamped the row
 * first is seen. And whether it is deactivated: then its user_id is what
 * keeps that person out — moved, their next request would provision a
 * fresh, active row (QA). No row when the user_id stays. */
static struct sp_stmt row_lock_stmt = SP_STMT(
    "agent_row_lock", "SELECT 1 FROM support_agents WHERE id = $1::bigint FOR UPDATE", 1);
enum work_column { WORK_TICKETS, WORK_CHATS, WORK_DEACTIVATED };
static struct sp_stmt work_stmt = SP_STMT(
    "agent_work",
    "SELECT (SELECT count(*) FROM support_tickets t"
    "        WHERE t.assigned_agent_id = a.id AND t.status <> 'closed'),"
    " (SELECT count(*) FROM support_chat_sessions s WHERE s.assigned_agent_id = a.id"
    "  AND s.status <> 'closed' AND s.expires_at > now()), NOT a.is_active"
    " FROM support_agents a WHERE a.id = $1::bigint AND a.user_id IS DISTINCT FROM $2",
    2);

static enum sp_rc
check_no_work(struct sp_ctx *ctx, long long id, const char *user_id, bool reactivating,
              struct sp_problem *p)
{
    const char *params[2] = {sp_arena_sprintf(ctx->arena, "%lld", id), user_id};
    PGresult *r =
        sp_db_exec_locked(ctx->db, ctx->arena, &row_lock_stmt, params, &work_stmt, params, p);
    if (r == NULL)
        return p->rc;
    long long tickets = PQntuples(r) == 1 ? sp_db_int(r, 0, WORK_TICKETS) : 0;
    long long chats = PQntuples(r) == 1 ? sp_db_int(r, 0, WORK_CHATS) : 0;
    if (PQntuples(r) == 1 && sp_db_bool(r, 0, WORK_DEACTIVATED) && !reactivating)
        return sp_problem_set(p, SP_CONFLICT, "agent_deactivated",
                              "agent %lld is deactivated, and its user_id is what keeps that"
                              " person out: moved, their next request would make a new, active"
                              " agent. Create an agent for the new user_id instead",
                              id);
    if (tickets == 0 && chats == 0)
        return SP_OK;
    return sp_problem_set(p, SP_CONFLICT, "agent_has_work",
                          "agent %lld holds %lld ticket%s not closed and %lld chat%s not ended,"
                          " which a new user_id would hand to another person: reassign them"
                          " first",
                          id, tickets, tickets == 1 ? "" : "s", chats, chats == 1 ? "" : "s");
}

/* Before the row, in the order every other writer takes them: a
 * deactivation's tickets and chats (each command locks its ticket or
 * session before routing's locks and the agent), then the picks' locks
 * (sp_route_agent_write_locks), for the team and skills the patch may set
 * as well as those the row has; then, for a new user_id, the row and its
 * work (check_no_work). */
static enum sp_rc
before_admin_update(struct sp_ctx *ctx, long long id, const struct sp_table_value *values,
                    struct sp_problem *p)
{
    const struct sp_table_value *team = &values[SP_AGENT_TEAM], *skills = &values[SP_AGENT_SKILLS];
    const struct sp_table_value *active = &values[SP_AGENT_IS_ACTIVE];
    const struct sp_table_value *user = &values[SP_AGENT_USER_ID];
    if (claim_admin_name(ctx, id, values, p) != SP_OK)
        return p->rc;
    if (active->set && active->value != NULL && strcmp(active->value, "false") == 0 &&
        (sp_ticket_route_lock_held(ctx, id, p) != SP_OK ||
         sp_chat_lock_agent_chats(ctx, id, p) != SP_OK))
        return p->rc;
    if (sp_route_agent_write_locks(ctx, id, NULL, team->set ? team->value : NULL,
                                   skills->set ? skills->value : NULL, p) != SP_OK)
        return p->rc;
    bool reactivating = active->set && active->value != NULL && strcmp(active->value, "true") == 0;
    return user->set && user->value != NULL ? check_no_work(ctx, id, user->value, reactivating, p)
                                            : SP_OK;
}

/* Versioned (sql/052): the version is the row's ETag, for If-Match; the
 * agent's own PATCH bumps it too when it changes the row (update_self_stmt), routing's
 * last_assigned_at does not (no admin edits it). Not deletable: the admin
 * API has no DELETE for agents. */
const struct sp_admin_store sp_agent_store = {{
    "support_agents",
    "json_build_object('id', x.id, 'user_id', x.user_id, 'display_name', x.display_name,"
    " 'team', x.team, 'skills', x.skills, 'status', x.status, 'is_active', x.is_active,"
    " 'max_concurrent_chats', x.max_concurrent_chats,"
    " 'last_assigned_at', support_ts(x.last_assigned_at), " SP_ADMIN_ROW_STAMPS ")",
    "user_id_taken", "another agent has this user_id", true, SP_AGENT_NFIELDS,
    {[SP_AGENT_USER_ID] = {"user_id", "$"}, [SP_AGENT_DISPLAY_NAME] = {"display_name", "$"},
     [SP_AGENT_TEAM] = {"team", "$"},
     [SP_AGENT_SKILLS] = {"skills", "ARRAY(SELECT jsonb_array_elements_text($::jsonb))"},
     [SP_AGENT_STATUS] = {"status", "$"},
     [SP_AGENT_MAX_CHATS] = {"max_concurrent_chats", "$::int"},
     [SP_AGENT_IS_ACTIVE] = {"is_active", "$::boolean"}}},
    .check_row = check_admin_row, .after_write = after_admin_write,
    .before_update = before_admin_update};

void
sp_agent_read_row(const PGresult *r, int row, struct sp_agent *out)
{
    const int col = 0;
    SP_AGENT_COLUMNS(SP_COL_READ, )
}

/* sp_agent_read_row as a one-row lookup's reader (sp_db_one). */
static void
read_agent(const PGresult *r, int row, void *item)
{
    sp_agent_read_row(r, row, item);
}

/* The caller's row, deactivated: nothing it may do as staff. */
static enum sp_rc
refuse_deactivated(const struct sp_agent *a, struct sp_problem *p)
{
    if (a->is_active)
        return SP_OK;
    return sp_problem_set(p, SP_FORBIDDEN, "agent_deactivated",
                          "your agent account (agent %lld) was deactivated by an administrator:"
                          " ask an administrator to reactivate it",
                          a->id);
}

enum sp_rc
sp_agent_ensure(struct sp_ctx *ctx, const char *user_id, const char *display_name,
                const char *status_if_new, struct sp_agent *out, struct sp_problem *p)
{
    /* Every staff request reads its row: one statement, and the token's
     * name is looked at only on first sight (the reserved check folds it
     * and the reserved names, tens of microseconds a request for a
     * value the found row never uses). */
    enum sp_rc rc = sp_db_one(ctx->db, ctx->arena, &by_user_stmt, &user_id, "agent", read_agent,
                              out, p);
    if (rc != SP_NOT_FOUND)
        return rc != SP_OK ? rc : refuse_deactivated(out, p);
    sp_problem_init(p);
    /* The token's name claim is nobody's typing to refuse: made one line
     * of at most 200 characters, as a mail's subject is (docs/API.md §5). */
    if (display_name != NULL)
        display_name = sp_utf8_valid(display_name, strlen(display_name))
                           ? sp_ticket_subject_of_text(ctx->arena, display_name, 200)
                           : NULL;
    /* Nor may it pose as the platform ("System"): such a name is left
     * out, the agent names itself (PATCH /support/agent/me). Another
     * agent's name is kept: two people may share one, and the first
     * request has nobody to refuse (docs/API.md §5). */
    if (display_name != NULL && sp_name_reserved(ctx->arena, display_name,
                                                 ctx->mail_from_name) != NULL)
        display_name = NULL;
    const char *params[3] = {user_id, display_name, status_if_new};
    rc = sp_db_one(ctx->db, ctx->arena, &ensure_stmt, params, "agent", read_agent, out, p);
    if (rc == SP_NOT_FOUND) {
        /* A concurrent first request inserted the row after this
         * statement's snapshot was taken: its ON CONFLICT waited for that
         * commit, its SELECT could not see it. A new statement (a new
         * snapshot) does. */
        sp_problem_init(p);
        rc = sp_db_one(ctx->db, ctx->arena, &by_user_stmt, params, "agent", read_agent, out, p);
    }
    return rc != SP_OK ? rc : refuse_deactivated(out, p);
}

enum sp_rc
sp_agent_get(struct sp_ctx *ctx, long long id, struct sp_agent *out, struct sp_problem *p)
{
    const char *params[1] = {sp_arena_sprintf(ctx->arena, "%lld", id)};
    return sp_db_one(ctx->db, ctx->arena, &get_stmt, params, "agent", read_agent, out, p);
}

enum sp_rc
sp_agent_get_shared(struct sp_ctx *ctx, long long id, struct sp_agent *out, struct sp_problem *p)
{
    const char *params[1] = {sp_arena_sprintf(ctx->arena, "%lld", id)};
    return sp_db_one(ctx->db, ctx->arena, &get_shared_stmt, params, "agent", read_agent, out, p);
}

enum sp_rc
sp_agent_get_assignee(struct sp_ctx *ctx, long long id, struct sp_agent *out,
                      struct sp_problem *p)
{
    const char *params[1] = {sp_arena_sprintf(ctx->arena, "%lld", id)};
    return sp_db_one(ctx->db, ctx->arena, &get_assignee_stmt, params, "agent", read_agent, out,
                     p);
}

enum sp_rc
sp_agent_refuse_deactivated_assignee(struct sp_ctx *ctx, long long id, struct sp_problem *p)
{
    struct sp_agent a;
    if (sp_agent_get_assignee(ctx, id, &a, p) != SP_OK)
        return p->rc;
    return refuse_deactivated(&a, p);
}

enum sp_rc
sp_agent_refuse_deactivated(struct sp_ctx *ctx, const char *user_id, struct sp_problem *p)
{
    const char *params[1] = {user_id};
    struct sp_agent a;
    enum sp_rc rc = sp_db_one(ctx->db, ctx->arena, &by_user_stmt, params, "agent", read_agent,
                              &a, p);
    if (rc == SP_NOT_FOUND) {
        sp_problem_init(p);
        return SP_OK;   /* no row: nobody deactivated it */
    }
    return rc != SP_OK ? rc : refuse_deactivated(&a, p);
}

/* The self update's row; 412 when If-Match names another version (the
 * caller's row exists: sp_api_current_agent made it). */
static enum sp_rc
update_self(struct sp_ctx *ctx, const char *const *params, struct sp_versions if_match,
            struct sp_agent *out, struct sp_problem *p)
{
    enum sp_rc rc =
        sp_db_one(ctx->db, ctx->arena, &update_self_stmt, params, "agent", read_agent, out, p);
    if (rc == SP_NOT_FOUND && if_match.n > 0)
        return sp_problem_set(p, SP_PRECONDITION, "precondition_failed",
                              "your agent record is no longer at version %s",
                              sp_versions_text(ctx->arena, if_match));
    return rc;
}

enum sp_rc
sp_agent_update_self(struct sp_ctx *ctx, const char *user_id, const struct sp_agent_update *u,
                     struct sp_agent *out, struct sp_problem *p)
{
    const char *params[7] = {
        user_id, u->status, u->has_max_chats ? "true" : "false",
        sp_arena_sprintf(ctx->arena, "%lld", u->max_concurrent_chats),
        u->has_display_name ? "true" : "false", u->display_name,
        sp_versions_param(ctx->arena, u->if_match),
    };
    if (sp_db_begin(ctx->db, ctx->arena, p) != SP_OK)
        return p->rc;
    /* Back to work, or taking more chats: the waiting tickets and chats
     * the agent may take are routed at once (take_waiting), stamping
     * last_assigned_at, so the row is read again; their picks' locks are
     * taken before the row, as every pick takes them. */
    if ((u->has_display_name && u->display_name != NULL &&
         claim_name(ctx, 0, user_id, u->display_name, p) != SP_OK) ||
        sp_route_agent_write_locks(ctx, 0, user_id, NULL, NULL, p) != SP_OK ||
        update_self(ctx, params, u->if_match, out, p) != SP_OK ||
        take_waiting(ctx, out->id, p) != SP_OK ||
        sp_agent_get(ctx, out->id, out, p) != SP_OK ||
        sp_db_commit(ctx->db, ctx->arena, p) != SP_OK) {
        sp_db_rollback(ctx->db, ctx->arena);
        return p->rc;
    }
    return SP_OK;
}
