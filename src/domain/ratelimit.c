/*
 * ratelimit: PostgreSQL fixed windows. See ratelimit.h.
 */
#include "domain/ratelimit.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/metrics.h"
#include "db/db.h"

/* Windows are aligned to the epoch so every node agrees on their edges. */
static struct sp_stmt hit_stmt = SP_STMT(
    "rate_hit",
    "INSERT INTO support_rate_limits AS r (bucket, window_start, count)"
    " SELECT $1 || ':' || w.seconds,"
    "   to_timestamp(floor(extract(epoch FROM now()) / w.seconds) * w.seconds), 1"
    " FROM unnest($2::bigint[]) AS w(seconds)"
    " ON CONFLICT (bucket, window_start) DO UPDATE SET count = r.count + 1"
    " RETURNING split_part(bucket, ':', -1)::bigint, count,"
    "   ceil(extract(epoch FROM window_start) + split_part(bucket, ':', -1)::bigint"
    "        - extract(epoch FROM now()))::bigint",
    2);

enum sp_rc
sp_rate_hit(struct sp_ctx *ctx, const char *bucket, const struct sp_rate_window *w, int nwindows,
            struct sp_rate_result *out, struct sp_problem *p)
{
    char seconds[128];
    size_t o = 0;
    seconds[o++] = '{';
    for (int i = 0; i < nwindows && i < 4; i++)
        o += (size_t)snprintf(seconds + o, sizeof(seconds) - o, "%s%ld", i ? "," : "",
                              w[i].seconds);
    snprintf(seconds + o, sizeof(seconds) - o, "}");
    const char *params[2] = {bucket, seconds};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &hit_stmt, params, p);
    if (r == NULL)
        return p->rc;
    memset(out, 0, sizeof(*out));
    out->allowed = true;
    bool have = false;
    for (int row = 0; row < PQntuples(r); row++) {
        long secs = (long)sp_db_int(r, row, 0), count = (long)sp_db_int(r, row, 1);
        long reset = (long)sp_db_int(r, row, 2);
        for (int i = 0; i < nwindows; i++) {
            if (w[i].seconds != secs)
                continue;
            long left = w[i].limit - count;
            bool exceeded = left < 0;
            /* An exceeded window beats one with room (the longest wait among
             * exceeded ones); otherwise the one with the fewest left. */
            bool better = !have || (exceeded && out->allowed) ||
                          (exceeded && !out->allowed && reset > out->reset_seconds) ||
                          (!exceeded && out->allowed && left < out->remaining);
            if (better) {
                have = true;
                out->allowed = !exceeded;
                out->limit = w[i].limit;
                out->remaining = exceeded ? 0 : left;
                out->reset_seconds = reset < 1 ? 1 : reset;
            }
        }
    }
    if (!out->allowed)
        sp_metrics_count(SP_M_RATE_LIMITED);
    return SP_OK;
}
