/*
 * queue: the agent ticket queue (API.md §5.5) — filters, sorts, full-text
 * search and keyset pagination over support_tickets. The SQL is assembled
 * from a fixed set of fragments (one prepared statement per combination,
 * see sp_db_exec_dynamic), with enum values inlined from our own tables
 * so the planner can match partial indexes; user text only ever travels
 * as parameters.
 * Must not: know HTTP.
 */
#ifndef SP_QUEUE_H
#define SP_QUEUE_H

#include <stdbool.h>

#include "domain/lifecycle.h"
#include "domain/sla.h"
#include "domain/tickets.h"
#include "core/crypto.h"
#include "core/cursor.h"

enum sp_queue_sort {
    SP_SORT_SLA_DUE = 0,     /* sla_due_at, nulls last (default) */
    SP_SORT_PRIORITY_DESC,   /* -priority */
    SP_SORT_CREATED,
    SP_SORT_CREATED_DESC,
    SP_SORT_UPDATED,
    SP_SORT_UPDATED_DESC,
    SP_SORT_MAX
};
extern const char *const sp_queue_sort_names[SP_SORT_MAX + 1];

enum sp_queue_assigned { SP_ASSIGNED_ANY_OR_NONE = 0, SP_ASSIGNED_NONE, SP_ASSIGNED_ANY,
                         SP_ASSIGNED_AGENT, SP_ASSIGNED_USER };

struct sp_queue_filter {
    bool statuses[SP_STATUS_MAX];
    bool priorities[SP_PRIORITY_MAX];   /* none set = all */
    const char **categories;            /* slugs */
    size_t ncategories;
    enum sp_queue_assigned assigned;
    long long assigned_agent;           /* SP_ASSIGNED_AGENT */
    /* SP_ASSIGNED_USER: the agent of this user id (assigned=me), looked up
     * inside the queue's statement rather than in a round trip of its own. */
    const char *assigned_user;
    bool sla_breached, sla_due_soon, sla_ok;  /* none set = all */
    const char *q;                      /* websearch syntax */
    const char *customer_id;
    /* customer_email's blind indexes: the canonical one and those a
     * contact stored before it may hold (sp_crypto_email_indexes); none
     * when customer_email is not asked for */
    const char *customer_email_index[SP_CRYPTO_EMAIL_INDEXES];
    size_t ncustomer_email_index;
    const char *created_after, *created_before;  /* RFC 3339 */
    enum sp_queue_sort sort;
    bool has_cursor;
    struct sp_cursor_key cursor;
    int limit;
};

struct sp_queue_page {
    struct sp_ticket *items;
    size_t n;
    bool has_next;
    struct sp_cursor_key next;
};

enum sp_rc sp_queue_search(struct sp_ctx *ctx, const struct sp_queue_filter *f,
                           struct sp_queue_page *out, struct sp_problem *p);

#endif
