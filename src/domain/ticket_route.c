/*
 * ticket_route: routing an existing ticket. See ticket_route.h.
 */
#include "domain/ticket_route.h"

#include "core/arena.h"
#include "core/log.h"
#include "db/db.h"
#include "domain/routing.h"

enum sp_rc
sp_ticket_route(struct sp_ticket_change *c, const char *routing, const char *team,
                const char *skill, bool *routed, struct sp_problem *p)
{
    *routed = false;
    const struct sp_ticket_state *t = &c->after;
    if (t->assigned_agent_id != 0 || t->status == SP_STATUS_RESOLVED ||
        t->status == SP_STATUS_CLOSED || !sp_route_routes(routing, skill))
        return SP_OK;
    long long agent = 0;
    if (sp_route_ticket(c->ctx, routing, team, skill, c->ctx->agent_max_open, 0, &agent, p) !=
        SP_OK)
        return p->rc;
    if (agent == 0) {
        c->after.left_to_routing = true; /* for the next agent who becomes available */
        return SP_OK;
    }
    sp_ticket_set_assignee_routed(c, agent);
    *routed = true;
    return SP_OK;
}

enum sp_rc
sp_ticket_route_waiting(struct sp_ctx *ctx, long long agent_id, struct sp_problem *p)
{
    struct sp_waiting_ticket *w;
    size_t n;
    if (sp_route_ticket_waiting(ctx, agent_id, &w, &n, p) != SP_OK)
        return p->rc;
    for (size_t i = 0; i < n; i++) {
        struct sp_ticket_ref ref = {.id = w[i].id, .public_id = NULL};
        struct sp_ticket_state st;
        struct sp_ticket_change c;
        if (sp_ticket_lock(ctx, &ref, NULL, &st, p) != SP_OK)
            return p->rc;
        sp_ticket_change_init(&c, ctx, &st, (struct sp_actor){"system", NULL});
        /* To the agent who became available, not to the category's
         * general pick: the list is what it may take (its places, at
         * most SP_ROUTE_HANDOUT_MAX, under every pick lock they need).
         * Picked round robin, two agents back at once were not sharing
         * the backlog: the second's hand-out gave the first, holding
         * ten already, half of what was left (QA: 12/2 of 14). */
        if (st.assigned_agent_id != 0 || st.status == SP_STATUS_RESOLVED ||
            st.status == SP_STATUS_CLOSED)
            continue;
        sp_ticket_set_assignee_routed(&c, agent_id);
        if (sp_ticket_apply(&c, NULL, NULL, p) != SP_OK)
            return p->rc;
    }
    return SP_OK;
}

/* The statuses SP_AGENT_OPEN_TICKETS counts. */
static bool
counted(enum sp_status s)
{
    return s == SP_STATUS_OPEN || s == SP_STATUS_IN_PROGRESS || s == SP_STATUS_PENDING_CUSTOMER;
}

long long
sp_ticket_route_freed(const struct sp_ticket_change *c)
{
    long long agent = c->before.assigned_agent_id;
    if (agent == 0 || !counted(c->before.status))
        return 0;
    return c->after.assigned_agent_id != agent || !counted(c->after.status) ? agent : 0;
}

void
sp_ticket_route_freed_hand_out(struct sp_ctx *ctx, long long agent_id)
{
    if (agent_id == 0)
        return;
    struct sp_problem p;
    sp_problem_init(&p);
    if (sp_db_begin(ctx->db, ctx->arena, &p) == SP_OK &&
        sp_ticket_route_waiting(ctx, agent_id, &p) == SP_OK &&
        sp_db_commit(ctx->db, ctx->arena, &p) == SP_OK)
        return;
    sp_db_rollback(ctx->db, ctx->arena);
    sp_log_step_failed(SP_LOG_WARN, "ticket_hand_out_failed", "freed place", p.detail);
}

/* The tickets agent $1 is working on (not resolved or closed: the open
 * tickets routing counts, SP_AGENT_OPEN_TICKETS), locked in id order. */
static struct sp_stmt held_stmt = SP_STMT(
    "ticket_route_held",
    "SELECT id FROM support_tickets WHERE assigned_agent_id = $1::bigint"
    " AND status IN ('open', 'in_progress', 'pending_customer') ORDER BY id FOR UPDATE",
    1);

static PGresult *
lock_held(struct sp_ctx *ctx, long long agent_id, struct sp_problem *p)
{
    return sp_db_exec_id(ctx->db, ctx->arena, &held_stmt, agent_id, p);
}

enum sp_rc
sp_ticket_route_lock_held(struct sp_ctx *ctx, long long agent_id, struct sp_problem *p)
{
    return lock_held(ctx, agent_id, p) == NULL ? p->rc : SP_OK;
}

enum sp_rc
sp_ticket_route_hand_back(struct sp_ctx *ctx, long long agent_id, const char *reason,
                          struct sp_problem *p)
{
    PGresult *r = lock_held(ctx, agent_id, p);
    if (r == NULL)
        return p->rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct sp_ticket_ref ref = {.id = sp_db_int(r, i, 0)};
        struct sp_ticket_state st;
        struct sp_ticket_change c;
        if (sp_ticket_lock(ctx, &ref, NULL, &st, p) != SP_OK)
            return p->rc;
        sp_ticket_change_init(&c, ctx, &st, (struct sp_actor){"system", NULL});
        sp_ticket_hand_back(&c, reason);
        if (sp_ticket_apply(&c, NULL, NULL, p) != SP_OK)
            return p->rc;
    }
    return SP_OK;
}
