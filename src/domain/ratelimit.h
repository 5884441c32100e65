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
    long window_seconds;   /* its length: the 429's detail names it (per minute, per day) */
};

/* The upsert that counts one request of `bucket` (an SQL text expression)
 * in each window of `from` (an SQL FROM item w with a bigint column
 * seconds), aligned to the epoch so every node agrees on the edges.
 * RETURNING (seconds, count, reset_s): sp_rate_hit's statement, and a
 * step of statements that count a request along with other work. */
#define SP_RATE_HIT_SQL(bucket, from)                                                        \
    "INSERT INTO support_rate_limits AS r (bucket, window_start, count)"                     \
    " SELECT " bucket " || ':' || w.seconds,"                                                \
    "   to_timestamp(floor(extract(epoch FROM now()) / w.seconds) * w.seconds), 1"           \
    " FROM " from " ON CONFLICT (bucket, window_start) DO UPDATE SET count = r.count + 1"    \
    " RETURNING split_part(bucket, ':', -1)::bigint AS seconds, count,"                      \
    "   ceil(extract(epoch FROM window_start) + split_part(bucket, ':', -1)::bigint"         \
    "        - extract(epoch FROM now()))::bigint AS reset_s"

/* Counts one request of `bucket` (e.g. "ticket_create:<user>") in up to 4
 * windows. The reported window is the exceeded one, else the one with the
 * fewest requests left. */
enum sp_rc sp_rate_hit(struct sp_ctx *ctx, const char *bucket, const struct sp_rate_window *w,
                       int nwindows, struct sp_rate_result *out, struct sp_problem *p);

/* The result of one window w that counted `count` requests, `reset`
 * seconds before it ends (the columns of SP_RATE_HIT_SQL). */
void sp_rate_result_of(const struct sp_rate_window *w, long count, long reset,
                       struct sp_rate_result *out);

#endif
