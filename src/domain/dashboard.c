/*
 * dashboard: two statements, one for the ticket/chat numbers and one for
 * the agents. See dashboard.h.
 */
#include "domain/dashboard.h"

#include <string.h>

#include "core/arena.h"
#include "db/db.h"

/* One pass over the live (non-closed) tickets — an index-only scan of the
 * covering partial index support_tickets_live — with FILTERed counts, plus
 * two small range scans (closed in 7 days, first responses in 7 days). */
/* The numbers' columns (db.h's scheme): SELECT list, enum and reader. */
#define NUMBERS_COLUMNS(C, SEP)                                                                    \
    C(NC_GENERATED_AT, "support_ts(now())", str, generated_at) SEP                                 \
    C(NC_OPEN, "live.open", int, by_status[SP_STATUS_OPEN]) SEP                                    \
    C(NC_IN_PROGRESS, "live.in_progress", int, by_status[SP_STATUS_IN_PROGRESS]) SEP               \
    C(NC_PENDING, "live.pending", int, by_status[SP_STATUS_PENDING_CUSTOMER]) SEP                  \
    C(NC_RESOLVED, "live.resolved", int, by_status[SP_STATUS_RESOLVED]) SEP                        \
    C(NC_CLOSED_7D,                                                                                \
      "(SELECT count(*) FROM support_tickets"                                                      \
      "  WHERE closed_at IS NOT NULL AND closed_at >= now() - interval '7 days')",                 \
      int, by_status[SP_STATUS_CLOSED]) SEP                                                        \
    C(NC_LOW, "live.low", int, by_priority[SP_PRIORITY_LOW]) SEP                                   \
    C(NC_NORMAL, "live.normal", int, by_priority[SP_PRIORITY_NORMAL]) SEP                          \
    C(NC_HIGH, "live.high", int, by_priority[SP_PRIORITY_HIGH]) SEP                                \
    C(NC_URGENT, "live.urgent", int, by_priority[SP_PRIORITY_URGENT]) SEP                          \
    C(NC_UNASSIGNED, "live.unassigned", int, unassigned) SEP                                       \
    C(NC_BREACHED, "live.breached", int, sla_breached) SEP                                         \
    C(NC_DUE_SOON, "live.due_soon", int, sla_due_soon) SEP                                         \
    C(NC_FR_AVG, "fr.avg_s", double, first_response_avg_s) SEP                                     \
    C(NC_FR_P90, "fr.p90_s", double, first_response_p90_s) SEP                                     \
    C(NC_FR_PCT, "fr.pct", double, first_response_within_pct) SEP                                  \
    C(NC_CHATS_WAITING, "chats.waiting", int, chats_waiting) SEP                                   \
    C(NC_CHATS_ACTIVE, "chats.active", int, chats_active)
enum numbers_column { NUMBERS_COLUMNS(SP_COL_ENUM, ) NC_COUNT };
_Static_assert(SP_STATUS_MAX == 5 && SP_PRIORITY_MAX == 4,
               "NUMBERS_COLUMNS counts every status and every priority");

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
    " SELECT " NUMBERS_COLUMNS(SP_COL_SQL, ", ")
    " FROM live, fr, chats",
    0);

/* An agent's workload, after its agent columns (from SP_AGENT_NCOLS on). */
#define WORKLOAD_COLUMNS(C, SEP)                                                                   \
    C(WC_OPEN_TICKETS,                                                                             \
      "(SELECT count(*) FROM support_tickets t WHERE t.assigned_agent_id = support_agents.id"      \
      "   AND t.status IN ('open', 'in_progress', 'pending_customer'))",                           \
      int, open_tickets) SEP                                                                       \
    C(WC_ACTIVE_CHATS,                                                                             \
      "(SELECT count(*) FROM support_chat_sessions s"                                              \
      "   WHERE s.assigned_agent_id = support_agents.id AND s.status = 'active')",                 \
      int, active_chats)
enum workload_column { WORKLOAD_COLUMNS(SP_COL_ENUM, ) WC_COUNT };

static struct sp_stmt agents_stmt = SP_STMT_READ(
    "dashboard_agents",
    "SELECT " SP_AGENT_COLS ", " WORKLOAD_COLUMNS(SP_COL_SQL, ", ")
    " FROM support_agents ORDER BY team, support_agents.id LIMIT 1000",
    0);

static void
read_numbers(const PGresult *r, struct sp_dashboard *out)
{
    const int row = 0, col = 0;
    NUMBERS_COLUMNS(SP_COL_READ, )
}

static void
read_agent(const PGresult *r, int row, struct sp_dashboard_agent *out)
{
    const int col = SP_AGENT_NCOLS;
    sp_agent_read_row(r, row, &out->agent);
    WORKLOAD_COLUMNS(SP_COL_READ, )
}

enum sp_rc
sp_dashboard_load(struct sp_ctx *ctx, struct sp_dashboard *out, struct sp_problem *p)
{
    memset(out, 0, sizeof(*out));
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &numbers_stmt, NULL, p);
    if (r == NULL)
        return p->rc;
    read_numbers(r, out);

    r = sp_db_exec(ctx->db, ctx->arena, &agents_stmt, NULL, p);
    if (r == NULL)
        return p->rc;
    int n = PQntuples(r);
    out->agents = sp_arena_calloc(ctx->arena, (size_t)n + 1, sizeof(*out->agents));
    for (int i = 0; i < n; i++)
        read_agent(r, i, &out->agents[out->nagents++]);
    return SP_OK;
}
