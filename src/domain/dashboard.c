/*
 * dashboard: two statements, one for the ticket/chat numbers (from the
 * counters of sql/024) and one for the agents. See dashboard.h.
 */
#include "domain/dashboard.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "db/db.h"
#include "domain/tickets.h"

/* Counts come from the counters the database keeps in the same
 * transaction as every ticket change (sql/024_dashboard_counts.sql): a sum
 * over a few hundred counter rows and 169 hourly rows, instead of a pass
 * over the live tickets. What is a range of time rather than a counter —
 * targets past due but not yet flagged, due within the hour, the part
 * of the oldest hour that lies before the 7-day window, and the week's
 * first responses missed unanswered — comes from small index ranges, so
 * every number is exact at the moment of the request. */
#define NUMBERS_COLUMNS(C, SEP)                                                                    \
    C(NC_GENERATED_AT, "support_ts(now())", str, generated_at) SEP                                 \
    C(NC_OPEN, "live.open", int, by_status[SP_STATUS_OPEN]) SEP                                    \
    C(NC_IN_PROGRESS, "live.in_progress", int, by_status[SP_STATUS_IN_PROGRESS]) SEP               \
    C(NC_PENDING, "live.pending", int, by_status[SP_STATUS_PENDING_CUSTOMER]) SEP                  \
    C(NC_RESOLVED, "live.resolved", int, by_status[SP_STATUS_RESOLVED]) SEP                        \
    C(NC_CLOSED_7D, "h.closed - edge_closed.n", int, by_status[SP_STATUS_CLOSED]) SEP              \
    C(NC_LOW, "live.low", int, by_priority[SP_PRIORITY_LOW]) SEP                                   \
    C(NC_NORMAL, "live.normal", int, by_priority[SP_PRIORITY_NORMAL]) SEP                          \
    C(NC_HIGH, "live.high", int, by_priority[SP_PRIORITY_HIGH]) SEP                                \
    C(NC_URGENT, "live.urgent", int, by_priority[SP_PRIORITY_URGENT]) SEP                          \
    C(NC_UNASSIGNED, "live.unassigned", int, unassigned) SEP                                       \
    C(NC_BREACHED, SP_TICKETS_SLA_BREACHED_OPEN_COUNT, int, sla_breached) SEP                    \
    C(NC_DUE_SOON, "due.soon", int, sla_due_soon) SEP                                              \
    C(NC_FR_N, "h.fr_n - edge_fr.n", int, fr_n) SEP                                                \
    C(NC_FR_AVG,                                                                                   \
      "coalesce(round(((h.fr_sum_s - edge_fr.s) / nullif(h.fr_n - edge_fr.n, 0))::numeric, 1), 0)", \
      double, first_response_avg_s) SEP                                                            \
    C(NC_FR_PCT,                                                                                   \
      "coalesce(round((100.0 * (h.fr_ok - edge_fr.ok)"                                           \
      " / nullif(h.fr_n - edge_fr.n + missed.n, 0))::numeric, 1), 100.0)",                         \
      double, first_response_within_pct) SEP                                                       \
    C(NC_FR_HIST, "h.hist", str, fr_hist) SEP                                                      \
    C(NC_FR_EDGE_BINS, "edge_fr.bins", str, fr_edge_bins) SEP                                      \
    C(NC_FR_MIN, "least(h.lo, edge_in.lo)", double, fr_min_s) SEP                                  \
    C(NC_FR_MAX, "greatest(h.hi, edge_in.hi)", double, fr_max_s) SEP                               \
    C(NC_CHATS_WAITING, "chats.waiting", int, chats_waiting) SEP                                   \
    C(NC_CHATS_ACTIVE, "chats.active", int, chats_active)
enum numbers_column { NUMBERS_COLUMNS(SP_COL_ENUM, ) NC_COUNT };
_Static_assert(SP_STATUS_MAX == 5 && SP_PRIORITY_MAX == 4,
               "NUMBERS_COLUMNS counts every status and every priority");

#define LIVE_COUNT(key, as) "coalesce(sum(n) FILTER (WHERE key = '" key "'), 0) AS " as

static struct sp_stmt numbers_stmt = SP_STMT_READ(
    "dashboard_numbers",
    "WITH live AS ("
    "  SELECT " LIVE_COUNT("status:open", "open") ", "
    LIVE_COUNT("status:in_progress", "in_progress") ", "
    LIVE_COUNT("status:pending_customer", "pending") ", "
    LIVE_COUNT("status:resolved", "resolved") ", " LIVE_COUNT("priority:low", "low") ", "
    LIVE_COUNT("priority:normal", "normal") ", " LIVE_COUNT("priority:high", "high") ", "
    LIVE_COUNT("priority:urgent", "urgent") ", " LIVE_COUNT("unassigned", "unassigned")
    "  FROM support_ticket_counts"
    "), due AS ("
    "  SELECT count(*) AS soon FROM support_tickets"
    "  WHERE sla_due_at >= now() AND NOT sla_breached AND status <> 'closed'"
    "    AND sla_due_at < now() + interval '60 minutes'"
    "), w AS ("
    "  SELECT now() - interval '7 days' AS since, date_trunc('hour', now() - interval '7 days')"
    "    AS first_hour"
    "), h AS ("
    "  SELECT coalesce(sum(closed), 0) AS closed, coalesce(sum(fr_n), 0) AS fr_n,"
    "   coalesce(sum(fr_sum_s), 0) AS fr_sum_s, coalesce(sum(fr_ok), 0) AS fr_ok,"
    "   coalesce(string_agg(fr_hist_sparse, ';'), '') AS hist,"
    /* the oldest hour's range may be a sample outside the window's: its
     * part inside comes from edge_in */
    "   min(fr_min_s) FILTER (WHERE hour > w.first_hour) AS lo,"
    "   max(fr_max_s) FILTER (WHERE hour > w.first_hour) AS hi"
    "  FROM support_ticket_hours, w WHERE hour >= w.first_hour"
    "), edge_closed AS ("
    "  SELECT count(*) AS n FROM support_tickets, w"
    "  WHERE closed_at >= w.first_hour AND closed_at < w.since"
    "), edge_fr AS ("
    "  SELECT count(*) AS n, coalesce(sum(support_fr_seconds(t)), 0) AS s,"
    "   count(*) FILTER (WHERE t.first_responded_at <= t.first_response_due_at) AS ok,"
    "   coalesce(array_agg(support_fr_bin(support_fr_seconds(t)))::text, '') AS bins"
    "  FROM support_tickets t, w"
    "  WHERE t.first_responded_at IS NOT NULL AND t.created_at >= w.first_hour"
    "    AND t.created_at < w.since"
    "), edge_in AS ("
    "  SELECT min(support_fr_seconds(t)) AS lo, max(support_fr_seconds(t)) AS hi"
    "  FROM support_tickets t, w"
    "  WHERE t.first_responded_at IS NOT NULL AND t.created_at >= w.since"
    "    AND t.created_at < w.first_hour + interval '1 hour'"
    "), missed AS ("
    /* first responses missed with no answer yet: a miss for the share in
     * time from the moment the due passes, not only once someone answers
     * late (the average and p90 are of answers only); an index-only scan
     * of sql/046's support_tickets_unanswered_missed */
    "  SELECT count(*) AS n FROM support_tickets t, w"
    "  WHERE t.first_responded_at IS NULL AND t.created_at >= w.since"
    "    AND (t.sla_breached_first_response OR (t.first_response_due_at < now()"
    "         AND t.status IN ('open', 'in_progress', 'pending_customer')))"
    "), chats AS ("
    "  SELECT count(*) FILTER (WHERE status = 'waiting') AS waiting,"
    "   count(*) FILTER (WHERE status = 'active') AS active"
    "  FROM support_chat_sessions WHERE status <> 'closed' AND expires_at > now()"
    ")"
    " SELECT " NUMBERS_COLUMNS(SP_COL_SQL, ", ")
    " FROM live, due, h, edge_closed, edge_fr, edge_in, missed, chats",
    0);

/* What the numbers statement reads before the percentile is worked out. */
struct numbers_row {
    const char *generated_at;
    long long by_status[SP_STATUS_MAX];
    long long by_priority[SP_PRIORITY_MAX];
    long long unassigned, sla_breached, sla_due_soon, fr_n;
    double first_response_avg_s, first_response_within_pct;
    const char *fr_hist, *fr_edge_bins;
    double fr_min_s, fr_max_s;
    long long chats_waiting, chats_active;
};

void
sp_dashboard_add_histograms(const char *s, long long bins[SP_FR_BINS])
{
    while (*s != '\0') {
        if (*s == ',' || *s == ';') {
            s++;
            continue;
        }
        char *end;
        long b = strtol(s, &end, 10);
        if (end == s || *end != ':')
            return;
        s = end + 1;
        long long c = strtoll(s, &end, 10);
        if (end == s || c < 0 || c > SP_FR_COUNT_MAX)
            return;
        if (b >= 1 && b <= SP_FR_BINS && bins[b - 1] <= SP_FR_COUNT_MAX)
            bins[b - 1] += c;
        s = end;
    }
}

/* Takes "{b,b,...}" (a list of bin numbers, 1-based) out of bins. */
static void
remove_bins(const char *s, long long bins[SP_FR_BINS])
{
    for (; *s != '\0'; s++) {
        if (*s == '{' || *s == ',' || *s == '}')
            continue;
        char *end;
        long b = strtol(s, &end, 10);
        if (end == s)
            return;
        if (b >= 1 && b <= SP_FR_BINS && bins[b - 1] > 0)
            bins[b - 1]--;
        s = end - 1;
    }
}

/* The idx-th smallest sample (0-based) as the histogram places it: the c
 * samples of a bin spread evenly over its range, on the bin's geometric
 * scale (the tenth-of-a-second bins under a second on a linear one). */
static double
sample_at(const long long bins[SP_FR_BINS], long long idx)
{
    long long before = 0;
    int k = 0;
    while (k < SP_FR_BINS - 1 && before + bins[k] <= idx)
        before += bins[k++];
    double at = ((double)(idx - before) + 0.5) / (double)(bins[k] > 0 ? bins[k] : 1);
    if (k < SP_FR_SUBSECOND_BINS)
        return ((double)k + at) / SP_FR_SUBSECOND_BINS;
    return pow(SP_FR_BIN_RATIO,
               (double)(k - SP_FR_SUBSECOND_BINS) + (k == SP_FR_BINS - 1 ? 0 : at));
}

double
sp_dashboard_p90(const long long bins[SP_FR_BINS], double lo, double hi)
{
    long long n = 0;
    for (int i = 0; i < SP_FR_BINS; i++)
        n += bins[i];
    if (n == 0)
        return 0;
    /* percentile_cont: between the samples either side of rank 0.9 (n-1). */
    double rank = 0.9 * (double)(n - 1);
    long long below = (long long)rank, above = below + 1 < n ? below + 1 : below;
    double a = sample_at(bins, below), b = sample_at(bins, above);
    double p90 = a + (rank - (double)below) * (b - a);
    /* The histogram places a sample anywhere in its 10 % bin; the
     * observed range is exact (QA: one answer of 27.1 s read p90 26.8). */
    if (lo <= hi)
        p90 = p90 < lo ? lo : p90 > hi ? hi : p90;
    return round(p90 * 10) / 10;
}

static void
read_numbers(const PGresult *r, struct sp_dashboard *d)
{
    struct numbers_row nr, *out = &nr;
    const int row = 0, col = 0;
    NUMBERS_COLUMNS(SP_COL_READ, )
    d->generated_at = nr.generated_at;
    memcpy(d->by_status, nr.by_status, sizeof(d->by_status));
    memcpy(d->by_priority, nr.by_priority, sizeof(d->by_priority));
    d->unassigned = nr.unassigned;
    d->sla_breached = nr.sla_breached;
    d->sla_due_soon = nr.sla_due_soon;
    d->first_response_avg_s = nr.first_response_avg_s;
    d->first_response_within_pct = nr.first_response_within_pct;
    d->chats_waiting = nr.chats_waiting;
    d->chats_active = nr.chats_active;
    long long bins[SP_FR_BINS] = {0};
    sp_dashboard_add_histograms(nr.fr_hist, bins);
    remove_bins(nr.fr_edge_bins, bins);
    d->first_response_p90_s = nr.fr_n > 0 ? sp_dashboard_p90(bins, nr.fr_min_s, nr.fr_max_s) : 0;
}

/* An agent's workload, after its agent columns (from SP_AGENT_NCOLS on). */
#define WORKLOAD_COLUMNS(C, SEP)                                                                   \
    C(WC_OPEN_TICKETS, SP_AGENT_OPEN_TICKETS("support_agents"), int, open_tickets) SEP            \
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
