/*
 * dashboard: two statements, one for the ticket/chat numbers and one for
 * the agents. See dashboard.h.
 */
#include "domain/dashboard.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "db/db.h"

/* One pass over the live (non-closed) tickets — an index-only scan of the
 * covering partial index support_tickets_live — with FILTERed counts, plus
 * two small range scans (closed in 7 days, first responses in 7 days). */
static struct sp_stmt numbers_stmt = SP_STMT_READ(
    "dashboard_numbers",
    "WITH live AS ("
    "  SELECT count(*) FILTER (WHERE status = 'open') AS open,"
    "   count(*) FILTER (WHERE status = 'in_progress') AS in_progress,"
    "   count(*) FILTER (WHERE status = 'pending_customer') AS pending,"
    "   count(*) FILTER (WHERE status = 'resolved') AS resolved,"
    "   count(*) FILTER (WHERE priority = 'low') AS low,"
    "   count(*) FILTER (WHERE priority = 'normal') AS normal,"
    "   count(*) FILTER (WHERE priority = 'high') AS high,"
    "   count(*) FILTER (WHERE priority = 'urgent') AS urgent,"
    "   count(*) FILTER (WHERE assigned_agent_id IS NULL) AS unassigned,"
    "   count(*) FILTER (WHERE sla_breached OR sla_due_at < now()) AS breached,"
    "   count(*) FILTER (WHERE NOT sla_breached AND sla_due_at >= now()"
    "     AND sla_due_at < now() + interval '60 minutes') AS due_soon"
    "  FROM support_tickets WHERE status <> 'closed'"
    "), fr AS ("
    "  SELECT coalesce(round(avg(s)::numeric, 1), 0) AS avg_s,"
    "   coalesce(round(percentile_cont(0.9) WITHIN GROUP (ORDER BY s)::numeric, 1), 0) AS p90_s,"
    "   coalesce(round(100.0 * count(*) FILTER (WHERE ok) / nullif(count(*), 0), 1), 100.0) AS pct"
    "  FROM (SELECT extract(epoch FROM first_responded_at - created_at) AS s,"
    "          first_responded_at <= first_response_due_at AS ok"
    "        FROM support_tickets"
    "        WHERE first_responded_at IS NOT NULL AND created_at >= now() - interval '7 days') x"
    "), chats AS ("
    "  SELECT count(*) FILTER (WHERE status = 'waiting') AS waiting,"
    "   count(*) FILTER (WHERE status = 'active') AS active"
    "  FROM support_chat_sessions WHERE status <> 'closed'"
    ")"
    " SELECT support_ts(now()), live.open, live.in_progress, live.pending, live.resolved,"
    "  (SELECT count(*) FROM support_tickets"
    "    WHERE closed_at IS NOT NULL AND closed_at >= now() - interval '7 days'),"
    "  live.low, live.normal, live.high, live.urgent, live.unassigned, live.breached,"
    "  live.due_soon, fr.avg_s, fr.p90_s, fr.pct, chats.waiting, chats.active"
    " FROM live, fr, chats",
    0);

static struct sp_stmt agents_stmt = SP_STMT_READ(
    "dashboard_agents",
    "SELECT " SP_AGENT_COLS ","
    " (SELECT count(*) FROM support_tickets t WHERE t.assigned_agent_id = support_agents.id"
    "   AND t.status IN ('open', 'in_progress', 'pending_customer')),"
    " (SELECT count(*) FROM support_chat_sessions s"
    "   WHERE s.assigned_agent_id = support_agents.id AND s.status = 'active')"
    " FROM support_agents ORDER BY team, support_agents.id LIMIT 1000",
    0);

enum sp_rc
sp_dashboard_load(struct sp_ctx *ctx, struct sp_dashboard *out, struct sp_problem *p)
{
    memset(out, 0, sizeof(*out));
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &numbers_stmt, NULL, p);
    if (r == NULL)
        return p->rc;
    int c = 0;
    out->generated_at = sp_db_str(r, 0, c++);
    for (int i = 0; i < SP_STATUS_MAX; i++)
        out->by_status[i] = sp_db_int(r, 0, c++);
    for (int i = 0; i < SP_PRIORITY_MAX; i++)
        out->by_priority[i] = sp_db_int(r, 0, c++);
    out->unassigned = sp_db_int(r, 0, c++);
    out->sla_breached = sp_db_int(r, 0, c++);
    out->sla_due_soon = sp_db_int(r, 0, c++);
    out->first_response_avg_s = strtod(sp_db_str(r, 0, c++), NULL);
    out->first_response_p90_s = strtod(sp_db_str(r, 0, c++), NULL);
    out->first_response_within_pct = strtod(sp_db_str(r, 0, c++), NULL);
    out->chats_waiting = sp_db_int(r, 0, c++);
    out->chats_active = sp_db_int(r, 0, c++);

    r = sp_db_exec(ctx->db, ctx->arena, &agents_stmt, NULL, p);
    if (r == NULL)
        return p->rc;
    int n = PQntuples(r);
    out->agents = sp_arena_calloc(ctx->arena, (size_t)n + 1, sizeof(*out->agents));
    for (int i = 0; i < n; i++) {
        struct sp_dashboard_agent *d = &out->agents[out->nagents++];
        sp_agent_read_row(r, i, &d->agent);
        d->open_tickets = sp_db_int(r, i, SP_AGENT_NCOLS);
        d->active_chats = sp_db_int(r, i, SP_AGENT_NCOLS + 1);
    }
    return SP_OK;
}
