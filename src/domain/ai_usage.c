/*
 * ai_usage: the ai-usage-monitor pass. See ai_usage.h.
 *
 * Both steps are one statement each over the window, inside the pass's
 * transaction: the aggregate upserts (and drops hourly rows whose calls
 * are gone, e.g. with a deleted ticket), the detection computes every
 * candidate of the window's complete hours, inserts the new ones
 * (ON CONFLICT DO NOTHING: flagged once) and queues their notifications.
 * Statistics are population ones over the baseline samples; a zero σ
 * (a flat history) makes any rise above the mean count, which is why the
 * volume kinds also need a floor of requests.
 */
#include "domain/ai_usage.h"

#include <libpq-fe.h>
#include <string.h>

#include "core/arena.h"
#include "core/log.h"
#include "db/db.h"
#include "domain/job_log.h"

#define HOUR_MS INT64_C(3600000)
#define WINDOW_HOURS 24
#define BACKFILL_HOURS (8 * 24)

/* $1 from, $2 to (ms, hour aligned): the hours [from, to). A user is a
 * side and an id: customers and staff are numbered apart, an agent and an
 * admin with one sub are one person (docs/API.md §10 "Owners"); '' is a
 * call logged without a caller_role (before sql/080). */
static struct sp_stmt aggregate_stmt = SP_STMT(
    "ai_usage_aggregate",
    "WITH agg AS ("
    "  SELECT date_trunc('hour', created_at, 'UTC') AS hour, model,"
    "   coalesce(user_id, '') AS user_id,"
    "   CASE caller_role WHEN 'customer' THEN 'customer' WHEN 'agent' THEN 'staff'"
    "    WHEN 'admin' THEN 'staff' ELSE '' END AS side, count(*)::integer AS requests,"
    "   (count(*) FILTER (WHERE error IS NOT NULL))::integer AS errors,"
    "   coalesce(sum(prompt_tokens), 0)::bigint AS prompt_tokens,"
    "   coalesce(sum(completion_tokens), 0)::bigint AS completion_tokens,"
    "   avg(latency_ms)::real AS avg_latency_ms,"
    "   (percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms))::real AS p95_latency_ms"
    "  FROM support_ai_interactions"
    "  WHERE created_at >= support_from_ms($1::bigint) AND created_at < support_from_ms($2::bigint)"
    "  GROUP BY 1, 2, 3, 4"
    "), up AS ("
    "  INSERT INTO support_ai_usage_hourly AS h (hour, model, user_id, side, requests, errors,"
    "   prompt_tokens, completion_tokens, avg_latency_ms, p95_latency_ms)"
    "  SELECT hour, model, user_id, side, requests, errors, prompt_tokens, completion_tokens,"
    "   avg_latency_ms, p95_latency_ms FROM agg"
    "  ON CONFLICT (hour, model, user_id, side) DO UPDATE SET requests = EXCLUDED.requests,"
    "   errors = EXCLUDED.errors, prompt_tokens = EXCLUDED.prompt_tokens,"
    "   completion_tokens = EXCLUDED.completion_tokens,"
    "   avg_latency_ms = EXCLUDED.avg_latency_ms, p95_latency_ms = EXCLUDED.p95_latency_ms,"
    "   updated_at = now()"
    "  WHERE (h.requests, h.errors, h.prompt_tokens, h.completion_tokens, h.avg_latency_ms,"
    "         h.p95_latency_ms) IS DISTINCT FROM (EXCLUDED.requests, EXCLUDED.errors,"
    "         EXCLUDED.prompt_tokens, EXCLUDED.completion_tokens, EXCLUDED.avg_latency_ms,"
    "         EXCLUDED.p95_latency_ms)"
    "  RETURNING 1"
    "), gone AS ("
    "  DELETE FROM support_ai_usage_hourly h"
    "  WHERE h.hour >= support_from_ms($1::bigint) AND h.hour < support_from_ms($2::bigint)"
    "   AND NOT EXISTS (SELECT 1 FROM agg WHERE agg.hour = h.hour AND agg.model = h.model"
    "                   AND agg.user_id = h.user_id AND agg.side = h.side)"
    "  RETURNING 1"
    ") SELECT (SELECT count(*) FROM up) + (SELECT count(*) FROM gone)",
    2);

/* $1 from, $2 to (ms: the complete hours [from, to)), $3 the volume
 * floor, $4 the user-burst floor, $5 the outbox recipient. Answers the
 * anomalies it flagged now. An anomaly's threshold is the bar its value
 * passed: the statistical one, or the floor when that is higher (with
 * no history the statistical bar is 0, and "threshold 0" told an admin
 * nothing of the 200 requests a burst needs). A user's hours of side ''
 * (before sql/086) count toward either side's baseline: an upgrade lowers
 * no bar; and an anomaly flagged then (side '') is not flagged again. */
enum { AN_ID, AN_HOUR, AN_KIND, AN_MODEL, AN_SIDE, AN_VALUE, AN_THRESHOLD, AN_COUNT };
static struct sp_stmt detect_stmt = SP_STMT(
    "ai_usage_detect",
    "WITH hours AS ("
    "  SELECT g.h FROM generate_series(support_from_ms($1::bigint),"
    "   support_from_ms($2::bigint) - interval '1 hour', interval '1 hour') AS g(h)"
    "), history AS (SELECT min(hour) AS first FROM support_ai_usage_hourly"
    "), per_model AS ("
    "  SELECT u.hour, u.model, sum(u.requests)::float8 AS requests,"
    "   sum(u.errors)::float8 AS errors,"
    "   sum(u.prompt_tokens + u.completion_tokens)::float8 AS tokens"
    "  FROM support_ai_usage_hourly u JOIN hours ON u.hour = hours.h GROUP BY 1, 2"
    "), same_hour AS ("        /* the same hour on each of the 7 days before */
    "  SELECT m.hour, m.model, coalesce(sum(x.requests), 0)::float8 AS requests,"
    "   coalesce(sum(x.prompt_tokens + x.completion_tokens), 0)::float8 AS tokens"
    "  FROM per_model m CROSS JOIN generate_series(1, 7) AS d(n)"
    "  LEFT JOIN support_ai_usage_hourly x ON x.model = m.model"
    "   AND x.hour = m.hour - d.n * interval '1 day'"
    "  GROUP BY m.hour, m.model, d.n"
    "), base AS ("
    "  SELECT hour, model, avg(requests) AS rm, stddev_pop(requests) AS rs,"
    "   avg(tokens) AS tm, stddev_pop(tokens) AS ts FROM same_hour GROUP BY 1, 2"
    "), err AS ("
    "  SELECT m.hour, m.model, m.requests, m.errors, coalesce((SELECT"
    "   sum(x.errors)::float8 / nullif(sum(x.requests), 0) FROM support_ai_usage_hourly x"
    "   WHERE x.model = m.model AND x.hour >= m.hour - interval '7 days'"
    "   AND x.hour < m.hour), 0) AS p"
    "  FROM per_model m"
    "), per_user AS ("
    "  SELECT u.hour, u.side, u.user_id, sum(u.requests)::float8 AS requests"
    "  FROM support_ai_usage_hourly u JOIN hours ON u.hour = hours.h"
    "  WHERE u.user_id <> '' GROUP BY 1, 2, 3"
    "), user_base AS ("          /* the user's 168 hours before, absent ones 0 */
    "  SELECT pu.hour, pu.side, pu.user_id, pu.requests,"
    "   coalesce(sum(hh.n), 0) / 168.0 AS mean, coalesce(sum(hh.n * hh.n), 0) / 168.0 AS sq"
    "  FROM per_user pu LEFT JOIN LATERAL (SELECT sum(x.requests)::float8 AS n"
    "   FROM support_ai_usage_hourly x WHERE x.user_id = pu.user_id"
    "   AND x.side IN (pu.side, '')"
    "   AND x.hour >= pu.hour - interval '7 days' AND x.hour < pu.hour GROUP BY x.hour) hh"
    "   ON true"
    "  GROUP BY 1, 2, 3, 4"
    "), cand AS ("
    "  SELECT m.hour, 'requests' AS kind, m.model, '' AS side, '' AS user_id,"
    "   m.requests AS value, greatest(b.rm + 3 * b.rs, $3::float8) AS threshold,"
    "   b.rm AS mean, b.rs AS sd"
    "  FROM per_model m JOIN base b USING (hour, model) CROSS JOIN history"
    "  WHERE m.requests >= $3::float8 AND m.requests > b.rm + 3 * b.rs"
    "   AND history.first <= m.hour - interval '7 days'"
    "  UNION ALL"
    "  SELECT m.hour, 'tokens', m.model, '', '', m.tokens, b.tm + 3 * b.ts, b.tm, b.ts"
    "  FROM per_model m JOIN base b USING (hour, model) CROSS JOIN history"
    "  WHERE m.requests >= $3::float8 AND m.tokens > b.tm + 3 * b.ts"
    "   AND history.first <= m.hour - interval '7 days'"
    "  UNION ALL"
    "  SELECT e.hour, 'error_rate', e.model, '', '', e.errors / e.requests,"
    "   greatest(e.p + 3 * sqrt(e.p * (1 - e.p) / e.requests), 0.1), e.p,"
    "   sqrt(e.p * (1 - e.p) / e.requests)"
    "  FROM err e WHERE e.errors >= 5 AND e.errors / e.requests >= 0.1"
    "   AND e.errors / e.requests > e.p + 3 * sqrt(e.p * (1 - e.p) / e.requests)"
    "  UNION ALL"
    "  SELECT u.hour, 'user_burst', '', u.side, u.user_id, u.requests,"
    "   greatest(u.mean + 3 * s.sd, $4::float8), u.mean, s.sd"
    "  FROM user_base u CROSS JOIN LATERAL"
    "   (SELECT sqrt(greatest(u.sq - u.mean * u.mean, 0)) AS sd) s"
    "  WHERE u.requests >= $4::float8 AND u.requests > u.mean + 3 * s.sd"
    "), ins AS ("
    "  INSERT INTO support_ai_usage_anomalies (hour, kind, model, side, user_id, value,"
    "   threshold, mean, stddev)"
    "  SELECT hour, kind, model, side, user_id, value, threshold, mean, sd FROM cand c"
    "  WHERE c.side = '' OR NOT EXISTS (SELECT 1 FROM support_ai_usage_anomalies a"
    "   WHERE a.hour = c.hour AND a.kind = c.kind AND a.model = c.model"
    "   AND a.user_id = c.user_id AND a.side = '')"
    "  ON CONFLICT (hour, kind, model, user_id, side) DO NOTHING"
    "  RETURNING id, hour, kind, model, side, user_id, value, threshold, mean, stddev"
    "), o AS ("
    "  INSERT INTO support_outbox (kind, event_type, channel, recipient, payload)"
    "  SELECT 'notification', 'ai.usage_anomaly', 'team', $5,"
    "   jsonb_build_object('anomaly_id', id, 'hour', support_ts(hour), 'kind', kind,"
    "    'model', nullif(model, ''), 'side', nullif(side, ''), 'user_id', nullif(user_id, ''),"
    "    'value', round(value::numeric, 4), 'threshold', round(threshold::numeric, 4),"
    "    'mean', round(mean::numeric, 4), 'stddev', round(stddev::numeric, 4))"
    "  FROM ins"
    ") SELECT id, support_ts(hour), kind, model, side, value, threshold FROM ins"
    " ORDER BY hour, kind, model, user_id, side",
    5);

static void
log_anomaly(const PGresult *r, int i, bool dry_run)
{
    struct sp_log_line *l = sp_log_begin(SP_LOG_WARN, "ai_usage_anomaly");
    /* A user_burst's user may be a customer, whose id stays out of the
     * logs (docs/operations.md "Logs"): the anomaly's row and the admins'
     * notification name the user; the line names the row and the side. */
    sp_log_int(l, "anomaly_id", sp_db_int(r, i, AN_ID));
    sp_log_str(l, "hour", sp_db_str(r, i, AN_HOUR));
    sp_log_str(l, "kind", sp_db_str(r, i, AN_KIND));
    sp_log_str(l, "model", sp_db_str(r, i, AN_MODEL));
    const char *side = sp_db_str(r, i, AN_SIDE);
    if (side[0] != '\0')
        sp_log_str(l, "side", side);
    sp_log_str(l, "value", sp_db_str(r, i, AN_VALUE));
    sp_log_str(l, "threshold", sp_db_str(r, i, AN_THRESHOLD));
    sp_log_int(l, "dry_run", dry_run);
    sp_log_end(l);
}

/* Steps 1-3 inside the pass's transaction. */
static enum sp_rc
aggregate_and_detect(struct sp_db *db, struct sp_arena *a, const struct sp_ai_usage_opts *o,
                     struct sp_ai_usage_counts *n, struct sp_problem *p)
{
    /* The hour holding now, rounded down before 1970 too (--now takes
     * years from 0001: a negative instant's remainder is negative). */
    int64_t hour = o->now_ms - ((o->now_ms % HOUR_MS) + HOUR_MS) % HOUR_MS;
    long hours = o->backfill ? BACKFILL_HOURS : WINDOW_HOURS;
    int64_t from = hour - hours * HOUR_MS;
    const char *agg[2] = {sp_arena_sprintf(a, "%lld", (long long)from),
                          sp_arena_sprintf(a, "%lld", (long long)(hour + HOUR_MS))};
    PGresult *r = sp_db_exec(db, a, &aggregate_stmt, agg, p);
    if (r == NULL)
        return p->rc;
    n->hours = hours + 1;
    n->rows = sp_db_int(r, 0, 0);
    /* Anomalies only in the last day's hours, also after a backfill:
     * older hours' baselines reach back past what was aggregated. */
    const char *det[5] = {sp_arena_sprintf(a, "%lld", (long long)(hour - WINDOW_HOURS * HOUR_MS)),
                          sp_arena_sprintf(a, "%lld", (long long)hour),
                          sp_arena_sprintf(a, "%ld", o->min_requests),
                          sp_arena_sprintf(a, "%ld", o->user_burst), SP_AI_USAGE_TEAM};
    r = sp_db_exec(db, a, &detect_stmt, det, p);
    if (r == NULL)
        return p->rc;
    n->anomalies = PQntuples(r);
    for (int i = 0; i < PQntuples(r); i++)
        log_anomaly(r, i, o->dry_run);
    return SP_OK;
}

enum sp_rc
sp_ai_usage_pass(struct sp_db *db, const struct sp_ai_usage_opts *o,
                 struct sp_ai_usage_counts *n, struct sp_problem *p)
{
    memset(n, 0, sizeof(*n));
    struct sp_arena a;
    sp_arena_init(&a, 4096);
    enum sp_rc rc = sp_db_job_lock(db, &a, SP_AI_USAGE_LOCK_KEY, "ai_usage_busy", p);
    bool locked = rc == SP_OK;
    if (rc == SP_OK && (rc = sp_db_begin(db, &a, p)) == SP_OK) {
        rc = aggregate_and_detect(db, &a, o, n, p);
        if (rc == SP_OK && !o->dry_run)
            rc = sp_db_commit(db, &a, p);
        else
            sp_db_rollback(db, &a);
    }
    if (locked)
        sp_db_job_unlock(db, &a, SP_AI_USAGE_LOCK_KEY);
    SP_LOG_JOB_PASS("ai_usage_pass", rc, p, SP_AI_USAGE_COUNTS, n, o->dry_run);
    sp_arena_destroy(&a);
    return rc;
}
