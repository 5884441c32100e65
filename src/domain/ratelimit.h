/*
 * ratelimit: fixed-window counters in PostgreSQL, so a limit holds across
 * every worker and node (API.md §1). One statement counts the request in
 * each of its windows and reports the tightest.
 * Must not: know HTTP (the API layer renders RateLimit-* headers).
 */
#ifndef SP_RATELIMIT_H
#define SP_RATELIMIT_H

#include <stdbool.h>

#include "core/problem.h"
#include "domain/ctx.h"

struct sp_rate_window {
    long seconds;          /* 60, 86400, ... */
    long limit;
};

struct sp_rate_result {
    bool allowed;
    long limit;            /* of the window reported */
    long remaining;
    long reset_seconds;    /* until that window ends */
};

/* Counts one request of `bucket` (e.g. "ticket_create:<user>") in up to 4
 * windows. The reported window is the exceeded one, else the one with the
 * fewest requests left. */
enum sp_rc sp_rate_hit(struct sp_ctx *ctx, const char *bucket, const struct sp_rate_window *w,
                       int nwindows, struct sp_rate_result *out, struct sp_problem *p);

#endif
