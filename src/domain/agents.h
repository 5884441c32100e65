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
#include "db/table.h"
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
};

/* The columns sp_agent_read_row() reads, in order (table support_agents). */
#define SP_AGENT_COLS                                                               \
    "support_agents.id, user_id, display_name, team, array_to_json(skills)::text,"  \
    " status, max_concurrent_chats, support_ts(last_assigned_at),"                  \
    " support_ts(support_agents.created_at), support_ts(support_agents.updated_at)"
#define SP_AGENT_NCOLS 10
void sp_agent_read_row(const PGresult *r, int row, struct sp_agent *a);

/* The caller's agent row, created on first sight (API.md §5.5). */
enum sp_rc sp_agent_ensure(struct sp_ctx *ctx, const char *user_id, const char *display_name,
                           struct sp_agent *out, struct sp_problem *p);
/* SP_NOT_FOUND when no such agent. */
enum sp_rc sp_agent_get(struct sp_ctx *ctx, long long id, struct sp_agent *out,
                        struct sp_problem *p);

struct sp_agent_update {
    const char *status;            /* NULL = unchanged */
    bool has_max_chats;
    long long max_concurrent_chats;
    bool has_display_name;
    const char *display_name;      /* NULL with has_display_name clears it */
};
enum sp_rc sp_agent_update_self(struct sp_ctx *ctx, const char *user_id,
                                const struct sp_agent_update *u, struct sp_agent *out,
                                struct sp_problem *p);

/* Admin writes: the columns, in the order the values arrays are indexed.
 * skills travels as a JSON array text (any text round-trips exactly). */
enum { SP_AGENT_USER_ID, SP_AGENT_DISPLAY_NAME, SP_AGENT_TEAM, SP_AGENT_SKILLS,
       SP_AGENT_STATUS, SP_AGENT_MAX_CHATS, SP_AGENT_NFIELDS };

/* By id, after `after`; rows as JSON (API.md §6). */
enum sp_rc sp_agent_list(struct sp_ctx *ctx, long long after, int limit,
                         struct sp_table_rows *out, struct sp_problem *p);
/* 409 user_id_taken when another agent has the user_id. */
enum sp_rc sp_agent_create(struct sp_ctx *ctx, const struct sp_table_value *values,
                           const char **row_json, struct sp_problem *p);
/* The set values only; SP_NOT_FOUND when there is no agent id. */
enum sp_rc sp_agent_patch(struct sp_ctx *ctx, long long id, const struct sp_table_value *values,
                          const char **row_json, struct sp_problem *p);

#endif
