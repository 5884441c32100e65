/*
 * ratelimit: PostgreSQL fixed windows. See ratelimit.h.
 */
#include "domain/ratelimit.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/metrics.h"
#include "db/db.h"

static struct sp_stmt hit_stmt = SP_STMT(
    "rate_hit", SP_RATE_HIT_SQL("$1", "unnest($2::bigint[]) AS w(seconds)"), 2);

/* Takes one window's count into *out (see sp_rate_hit): an exceeded window
 * beats one with room (the longest wait among exceeded ones); otherwise
 * the one with the fewest left wins. */
static void
consider(struct sp_rate_result *out, bool *have, const struct sp_rate_window *w, long count,
         long reset)
{
    long left = w->limit - count;
    bool exceeded = left < 0;
    bool better = !*have || (exceeded && out->allowed) ||
                  (exceeded && !out->allowed && reset > out->reset_seconds) ||
                  (!exceeded && out->allowed && left < out->remaining);
    if (!better)
        return;
    *have = true;
    out->allowed = !exceeded;
    out->limit = w->limit;
    out->window_seconds = w->seconds;
    out->remaining = exceeded ? 0 : left;
    out->reset_seconds = reset < 1 ? 1 : reset;
}

void
sp_rate_result_of(const struct sp_rate_window *w, long count, long reset,
                  struct sp_rate_result *out)
{
    bool have = false;
    memset(out, 0, sizeof(*out));
    out->allowed = true;
    consider(out, &have, w, count, reset);
    if (!out->allowed)
        sp_metrics_count(SP_M_RATE_LIMITED);
}

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
        for (int i = 0; i < nwindows; i++)
            if (w[i].seconds == secs)
                consider(out, &have, &w[i], count, reset);
    }
    if (!out->allowed)
        sp_metrics_count(SP_M_RATE_LIMITED);
    return SP_OK;
}
