/*
 * admin: what support_admin manages through /support/admin (API.md §6) —
 * categories, SLA policies, priority rules and agents. Small tables, each
 * listed by id keyset, created and partly updated in one statement.
 * Writes that can collide map unique violations to precise codes
 * (slug_taken, user_id_taken).
 * Must not: know HTTP. Pattern validity is checked by the caller with
 * sp_rules_pattern_valid before saving (bad patterns never reach tickets).
 */
#ifndef SP_ADMIN_H
#define SP_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "core/problem.h"
#include "domain/ctx.h"

/* A field of a partial update: set=false leaves the column alone;
 * value NULL (with set) writes SQL NULL. Values are text as PostgreSQL
 * reads them ("true", "42", "{a,b}"). */
struct sp_admin_field {
    bool set;
    const char *value;
};

enum sp_admin_table { SP_ADMIN_CATEGORIES, SP_ADMIN_PRIORITY_RULES, SP_ADMIN_AGENTS,
                      SP_ADMIN_TABLE_MAX };

/* Column lists per table, in the order callers fill their field arrays. */
enum { SP_CAT_SLUG, SP_CAT_NAME, SP_CAT_DESCRIPTION, SP_CAT_IS_ACTIVE, SP_CAT_ROUTING,
       SP_CAT_TEAM, SP_CAT_SKILL, SP_CAT_DEFAULT_PRIORITY, SP_CAT_NFIELDS };
enum { SP_RULE_POSITION, SP_RULE_NAME, SP_RULE_IS_ACTIVE, SP_RULE_CATEGORY, SP_RULE_TIER,
       SP_RULE_PATTERN, SP_RULE_SENTIMENT_BELOW, SP_RULE_PRIORITY, SP_RULE_NFIELDS };
enum { SP_AGENT_USER_ID, SP_AGENT_DISPLAY_NAME, SP_AGENT_TEAM, SP_AGENT_SKILLS,
       SP_AGENT_STATUS, SP_AGENT_MAX_CHATS, SP_AGENT_NFIELDS };

/* Rows come back as one JSON object text each, ready to embed. */
struct sp_admin_rows {
    const char **json;
    size_t n;
    long long next_after;    /* 0 = end */
};

enum sp_rc sp_admin_list(struct sp_ctx *ctx, enum sp_admin_table t, long long after, int limit,
                         struct sp_admin_rows *out, struct sp_problem *p);
/* Inserts (fields not set take their defaults) and returns the row. */
enum sp_rc sp_admin_create(struct sp_ctx *ctx, enum sp_admin_table t,
                           const struct sp_admin_field *fields, const char **row_json,
                           struct sp_problem *p);
/* Updates the set fields of row id; SP_NOT_FOUND when there is none.
 * Priority rules also bump their version (the workers' pattern caches
 * recompile on it). */
enum sp_rc sp_admin_update(struct sp_ctx *ctx, enum sp_admin_table t, long long id,
                           const struct sp_admin_field *fields, const char **row_json,
                           struct sp_problem *p);
enum sp_rc sp_admin_delete(struct sp_ctx *ctx, enum sp_admin_table t, long long id,
                           struct sp_problem *p);

/* SLA policies: all rows; upsert of (priority, category slug or NULL). */
enum sp_rc sp_admin_sla_list(struct sp_ctx *ctx, struct sp_admin_rows *out,
                             struct sp_problem *p);
enum sp_rc sp_admin_sla_put(struct sp_ctx *ctx, const char *priority, const char *category_slug,
                            long first_response_minutes, long resolution_minutes,
                            const char **row_json, struct sp_problem *p);

/* *id = 0 when no category has this slug. */
enum sp_rc sp_admin_category_id(struct sp_ctx *ctx, const char *slug, long long *id,
                                struct sp_problem *p);

#endif
