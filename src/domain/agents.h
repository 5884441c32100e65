/*
 * agents: support_agents rows — auto-provisioning on an agent's first
 * request (team general), the caller's own record, the admin's list,
 * create and update (API.md §6) and the lookups routing and the
 * dashboard need.
 * Must not: know HTTP; validate the shape of input (the API does).
 */
#ifndef SP_AGENTS_H
#define SP_AGENTS_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "core/problem.h"
#include "core/versions.h"
#include "db/db.h"
#include "domain/admin_store.h"
#include "domain/ctx.h"

/* An agent's status values (API.md §5.4), NULL-terminated. */
extern const char *const sp_agent_status_names[];

struct sp_agent {
    long long id;
    const char *user_id;
    const char *display_name;
    const char *team;
    const char *skills_json;       /* JSON array text */
    const char *status;            /* active | away */
    long long max_concurrent_chats;
    const char *last_assigned_at;
    const char *created_at, *updated_at;
    long long version;             /* every write's (sql/052): the admin ETag's */
    bool is_active;                /* false: deactivated by an admin (sql/074) */
};

/* An agent row's columns (table support_agents), in the scheme of db.h's
 * SP_COL_*: the SELECT list SP_AGENT_COLS, the enum below, and
 * sp_agent_read_row() come from this one list. A statement may select
 * more after them, from index SP_AGENT_NCOLS on. */
#define SP_AGENT_COLUMNS(C, SEP)                                                                \
    C(SP_AGENT_COL_ID, "support_agents.id", int, id) SEP                                        \
    C(SP_AGENT_COL_USER_ID, "user_id", str, user_id) SEP                                        \
    C(SP_AGENT_COL_DISPLAY_NAME, "display_name", str, display_name) SEP                         \
    C(SP_AGENT_COL_TEAM, "team", str, team) SEP                                                 \
    C(SP_AGENT_COL_SKILLS, "array_to_json(skills)::text", str, skills_json) SEP                 \
    C(SP_AGENT_COL_STATUS, "status", str, status) SEP                                           \
    C(SP_AGENT_COL_MAX_CHATS, "max_concurrent_chats", int, max_concurrent_chats) SEP            \
    C(SP_AGENT_COL_LAST_ASSIGNED_AT, "support_ts(last_assigned_at)", str, last_assigned_at) SEP \
    C(SP_AGENT_COL_CREATED_AT, "support_ts(support_agents.created_at)", str, created_at) SEP    \
    C(SP_AGENT_COL_UPDATED_AT, "support_ts(support_agents.updated_at)", str, updated_at) SEP    \
    C(SP_AGENT_COL_VERSION, "support_agents.version", int, version) SEP                         \
    C(SP_AGENT_COL_IS_ACTIVE, "support_agents.is_active", bool, is_active)
#define SP_AGENT_COLS SP_AGENT_COLUMNS(SP_COL_SQL, ", ")
enum sp_agent_column { SP_AGENT_COLUMNS(SP_COL_ENUM, ) SP_AGENT_NCOLS };
void sp_agent_read_row(const PGresult *r, int row, struct sp_agent *a);

/* SQL: the workload of the agent row `alias`, its tickets not yet
 * resolved; routing caps it, the dashboard shows it. */
#define SP_AGENT_OPEN_TICKETS(alias)                                                          \
    "(SELECT count(*) FROM support_tickets t WHERE t.assigned_agent_id = " alias ".id"        \
    " AND t.status IN ('open', 'in_progress', 'pending_customer'))"

/* SQL: whether the agent row `alias` may be handed work by routing (a
 * ticket, a chat): its own status active and not deactivated by an admin
 * (sql/074). Every pick and every count of who could take work uses it. */
#define SP_AGENT_ROUTABLE(alias) "(" alias ".status = 'active' AND " alias ".is_active)"

/* The caller's agent row, created on first sight (API.md §5.5) with
 * status status_if_new ("active" for an agent's token, "away" for an
 * admin's: an admin who only reads the admin API joins no routing); an
 * existing row is never changed. 403 agent_deactivated when an admin
 * deactivated the row: the caller may do nothing as staff. */
enum sp_rc sp_agent_ensure(struct sp_ctx *ctx, const char *user_id, const char *display_name,
                           const char *status_if_new, struct sp_agent *out,
                           struct sp_problem *p);
/* SP_NOT_FOUND when no such agent. */
enum sp_rc sp_agent_get(struct sp_ctx *ctx, long long id, struct sp_agent *out,
                        struct sp_problem *p);
/* sp_agent_get, the row locked FOR SHARE until the caller's transaction
 * ends: a write that gives the agent work (a ticket's assignment, a
 * customer's reopen) reads is_active after a deactivation in flight
 * commits, or makes the deactivation wait for it (whose hand-back then
 * finds the ticket). In the lock order of every writer: the ticket, then
 * routing's locks, then the agent's row. */
enum sp_rc sp_agent_get_shared(struct sp_ctx *ctx, long long id, struct sp_agent *out,
                               struct sp_problem *p);
/* sp_agent_get_shared for a write that assigns the agent a ticket: the
 * row locked FOR NO KEY UPDATE instead, the lock the assignment's stamp
 * of the row (last_assigned_at) takes later in the transaction. Under a
 * share, two assignments to one agent at once each waited for the
 * other's share to update the row (a deadlock). Same lock order. */
enum sp_rc sp_agent_get_assignee(struct sp_ctx *ctx, long long id, struct sp_agent *out,
                                 struct sp_problem *p);
/* sp_agent_get_assignee, then 403 agent_deactivated when the row is
 * deactivated: an agent taking work itself (a claim, a reply that assigns
 * it) inside the ticket's transaction, where the request's provisioning
 * read the row before a deactivation committed. */
enum sp_rc sp_agent_refuse_deactivated_assignee(struct sp_ctx *ctx, long long id,
                                                struct sp_problem *p);
/* 403 agent_deactivated when user_id's agent row was deactivated by an
 * admin (as sp_agent_ensure answers); SP_OK when it is active or there
 * is none (nothing is created): the admin pages' sign-in. */
enum sp_rc sp_agent_refuse_deactivated(struct sp_ctx *ctx, const char *user_id,
                                       struct sp_problem *p);

struct sp_agent_update {
    const char *status;            /* NULL = unchanged */
    bool has_max_chats;
    long long max_concurrent_chats;
    bool has_display_name;
    const char *display_name;      /* NULL with has_display_name clears it */
    struct sp_versions if_match;   /* the versions If-Match names; none: any */
};
/* The caller's own row; a display name another active agent's reads as
 * (the same key, core/names) is 409 display_name_taken, decided under a
 * lock every name writer takes, so two agents renamed to one name at
 * once never both win. */
enum sp_rc sp_agent_update_self(struct sp_ctx *ctx, const char *user_id,
                                const struct sp_agent_update *u, struct sp_agent *out,
                                struct sp_problem *p);

/* Admin writes: the columns, in the order the values arrays are indexed.
 * skills travels as a JSON array text (any text round-trips exactly). */
enum { SP_AGENT_USER_ID, SP_AGENT_DISPLAY_NAME, SP_AGENT_TEAM, SP_AGENT_SKILLS,
       SP_AGENT_STATUS, SP_AGENT_MAX_CHATS, SP_AGENT_IS_ACTIVE, SP_AGENT_NFIELDS };

/* An agent's user_id is the user id of its JWT `sub`, which shared
 * API.md §2 makes an integer (as a string or a number): a positive
 * decimal integer as written, without sign or leading zero, 1..64
 * digits. Anything else could never be a caller. */
bool sp_agent_user_id_ok(const char *user_id);
/* skills[]: at most 50 distinct skills of 1..64 characters each (a skill
 * listed twice is refused, as an article's tag or a webhook's event). */
#define SP_AGENT_SKILLS_MAX 50
#define SP_AGENT_SKILL_MAX 64
extern const struct sp_list_rule sp_agent_skills_rule;
/* A skill (an agent's, a category's required_skill) as stored: trimmed
 * of blanks as a ticket subject is (domain/ticket_subject: spaces,
 * zero-width and other invisible characters), A-Z in lower case, so
 * "Billing", " billing " and "billing" are one skill and skill routing
 * matches them. NULL when nothing visible is left, when it holds a
 * control character or line break, or when it is over
 * SP_AGENT_SKILL_MAX characters. In the arena. */
const char *sp_agent_skill(struct sp_arena *a, const char *s);
/* A team (an agent's, a category's round-robin team) as stored: made as
 * a skill is, at most SP_AGENT_TEAM_MAX characters, so "General",
 * " general " and "general" are one team and round robin finds the
 * category's agents. NULL when it is not one. In the arena. */
#define SP_AGENT_TEAM_MAX 100
#define SP_AGENT_NAME_MAX 200  /* a display name, trimmed */
const char *sp_agent_team(struct sp_arena *a, const char *s);

/* A display name as stored (docs/API.md §5, §6): one line of text, as a
 * ticket subject (domain/ticket_subject): the blanks around it go (and
 * do not count toward SP_AGENT_NAME_MAX, else too_long); NULL
 * with a field error on display_name when it holds a control character
 * or line break (invalid) or nothing visible (empty). It is shown in
 * staff notifications, chats and logs, where a line break or terminal
 * escape would forge a line. NULL with the field error reserved when it
 * reads as one of the platform's own sender names (core/names'
 * sp_name_reserved; from_name: SUPPORT_MAIL_FROM_NAME): customers would
 * take the agent for the platform; and the field error empty when it has
 * no letter or digit ("...", "★": its key is empty, nothing to tell it
 * from another by). current: the agent's stored name (NULL: none, a
 * create): a name that reads as it (the same text, or the same key) is
 * no rename and is never refused as reserved or empty. In the arena. */
const char *sp_agent_display_name(struct sp_arena *a, const char *s, const char *from_name,
                                  const char *current, struct sp_problem *p);

/* The admin's list, create and update (API.md §6); a create or update
 * with another agent's user_id is 409 user_id_taken, one giving an
 * active agent a display name another active agent's reads as (the same
 * key, core/names) 409 display_name_taken (a reactivation too: the
 * name it has; an active agent's own name sent back never), a change of the
 * user_id of an agent holding a ticket not closed or a chat not ended 409
 * agent_has_work (the work would pass to another person unrecorded).
 * A patch that deactivates an agent (is_active false) unassigns its open,
 * in-progress and pending tickets (an `unassigned` event each, reason
 * agent_deactivated, left to routing again) and returns its active chats
 * to waiting, in the write's transaction; the chats are noted in
 * ctx->chat_joins (event agent_left: their frames, and their routing to
 * whoever is free, after commit: sp_chat_route_returned); its admin
 * page sessions end with it (sp_admin_session_end_user). */
extern const struct sp_admin_store sp_agent_store;

#endif
