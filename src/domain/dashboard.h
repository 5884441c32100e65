/*
 * dashboard: the numbers of GET /support/agent/dashboard (API.md §5.5) —
 * ticket counts by status and priority, unassigned and SLA counts over the
 * live (non-closed) tickets, closed in the last 7 days, first-response
 * statistics of the last 7 days, chat counts, and per-agent workload.
 * Must not: know HTTP.
 */
#ifndef SP_DASHBOARD_H
#define SP_DASHBOARD_H

#include <stddef.h>

#include "core/problem.h"
#include "domain/agents.h"
#include "domain/ctx.h"
#include "domain/lifecycle.h"
#include "domain/sla.h"

struct sp_dashboard_agent {
    struct sp_agent agent;
    long long open_tickets;
    long long active_chats;
};

struct sp_dashboard {
    const char *generated_at;
    long long by_status[SP_STATUS_MAX];
    long long by_priority[SP_PRIORITY_MAX];
    long long unassigned, sla_breached, sla_due_soon;
    double first_response_avg_s, first_response_p90_s, first_response_within_pct;
    long long chats_waiting, chats_active;
    struct sp_dashboard_agent *agents;
    size_t nagents;
};

/* The first-response histogram of sql/024_dashboard_counts.sql: bins
 * 1-10 hold tenths of the first second, bin k >= 11
 * [1.1^(k-11), 1.1^(k-10)) s, bin 200 everything beyond. */
#define SP_FR_BINS 200
#define SP_FR_SUBSECOND_BINS 10
#define SP_FR_BIN_RATIO 1.1

/* The 90th percentile (percentile_cont's rank) of a histogram in seconds,
 * rounded to 0.1 s: each sample is placed within its bin (10 %), so the
 * result is within 10 % (or 0.1 s) of the exact value; 0 if empty. It is
 * held to [lo, hi], the smallest and the largest sample, where the exact
 * one lies (one sample is its own p90, never its bin's middle); lo > hi
 * when they are not known. */
double sp_dashboard_p90(const long long bins[SP_FR_BINS], double lo, double hi);

/* Adds "b:c,b:c;b:c,..." — per hour, its non-zero bins as 1-based bin
 * and count (sql/031) — to bins. Anything unreadable (or a count outside
 * 0..SP_FR_COUNT_MAX) ends the walk: the text comes from our own
 * statement, so that would be a schema change this code missed. */
#define SP_FR_COUNT_MAX 1000000000000000LL
void sp_dashboard_add_histograms(const char *s, long long bins[SP_FR_BINS]);

enum sp_rc sp_dashboard_load(struct sp_ctx *ctx, struct sp_dashboard *out, struct sp_problem *p);

#endif
