/*
 * ai_usage: the ai-usage-monitor job (API.md §12) — one pass, in one
 * transaction (rolled back in a dry run), under a cluster-wide advisory
 * lock:
 *   1. support_ai_interactions summed per UTC hour, model and user — a
 *      side (customer, or staff for an agent or admin: one person) and an
 *      id, customers and staff being numbered apart — (requests,
 *      errors, prompt and completion tokens, average and p95 latency)
 *      into support_ai_usage_hourly, upserted for every hour of the
 *      window (the last 24 hours; 8 days with backfill), so re-runs and
 *      late rows converge on the same numbers;
 *   2. anomalies of the last 24 complete hours (also with backfill: older
 *      hours' baselines would reach past the aggregate) flagged into
 *      support_ai_usage_anomalies:
 *        requests, tokens  a model's hour above mean + 3σ of the same hour
 *                          on the 7 days before (absent days count 0),
 *                          with at least min_requests requests and a week
 *                          of history in the table;
 *        error_rate        a model's error share above its trailing 7-day
 *                          rate + 3 binomial standard errors, with >= 5
 *                          errors and >= 10 %;
 *        user_burst        one user's requests above mean + 3σ of that
 *                          user's 168 trailing hours, and >= user_burst;
 *      each with the bar it passed as its threshold (the floor when that
 *      is higher than the statistical bar);
 *   3. each newly flagged anomaly queued for the admins in the outbox
 *      (notification ai.usage_anomaly, channel team, recipient
 *      support_admin) in the same statement — an anomaly is flagged and
 *      notified once, whatever re-runs follow.
 * Must not: know HTTP.
 */
#ifndef SP_AI_USAGE_H
#define SP_AI_USAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/log.h"
#include "core/problem.h"

struct sp_db;

#define SP_AI_USAGE_LOCK_KEY 0x53504149555345LL /* "SPAIUSE" */
#define SP_AI_USAGE_TEAM "support_admin"        /* the outbox recipient */

struct sp_ai_usage_opts {
    int64_t now_ms;
    bool dry_run;
    bool backfill;               /* aggregate 8 days instead of 24 hours */
    long min_requests;           /* SUPPORT_AI_USAGE_MIN_REQUESTS */
    long user_burst;             /* SUPPORT_AI_USAGE_USER_BURST */
};

#define SP_AI_USAGE_COUNTS(F)                                                                      \
    F(hours)      /* hours aggregated */                                                           \
    F(rows)       /* hourly rows written or changed */                                             \
    F(anomalies)  /* newly flagged (and notified) */
struct sp_ai_usage_counts {
    SP_AI_USAGE_COUNTS(SP_LOG_COUNT_MEMBER)
};

enum sp_rc sp_ai_usage_pass(struct sp_db *db, const struct sp_ai_usage_opts *o,
                            struct sp_ai_usage_counts *n, struct sp_problem *p);

#endif
