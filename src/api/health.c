/*
 * health: liveness and readiness (API.md §3). readyz checks that the
 * database answers and that its schema is at least at this release's
 * newest migration: a newer schema is ready (an upgrade migrates before
 * it restarts the old release, which keeps working on the new schema:
 * docs/operations.md, Upgrades), an older one is not. Its database check
 * gives up after READY_WAIT_MS: a stopped server would otherwise hold it
 * until nginx's timeout, and a load balancer's probe longer still.
 */
#include "api/handlers.h"

#include "api/app.h"
#include "api/common.h"
#include "core/arena.h"
#include "core/json_writer.h"
#include "domain/store.h"

#define READY_WAIT_MS 2000

/* {"status":…[,"checks":{"database":…[,"migrations":…]}]}, never from a
 * cache: a probe asks about this node now (QA: no Cache-Control, so a
 * cache in front could keep answering "ok" for a node that went down). */
static enum sp_rc
answer(struct sp_req *r, int code, const char *status, const char *database,
       const char *migrations)
{
    sp_resp_header(r, "Cache-Control", "no-store");
    struct sp_jw *w = sp_api_object(r);
    sp_jw_kstr(w, "status", status);
    if (database != NULL) {
        sp_jw_kobject(w, "checks");
        sp_jw_kstr(w, "database", database);
        if (migrations != NULL)
            sp_jw_kstr(w, "migrations", migrations);
        sp_jw_end(w);
    }
    return sp_api_send(r, code, w);
}

enum sp_rc
sp_api_healthz(struct sp_req *r, struct sp_problem *p)
{
    (void)p;
    return answer(r, 200, "ok", NULL, NULL);
}

enum sp_rc
sp_api_readyz(struct sp_req *r, struct sp_problem *p)
{
    (void)p;
    const struct sp_app *app = r->env->app;
    bool timed_out = false;
    int current = sp_store_schema_version(r->env->db, READY_WAIT_MS, &timed_out);
    if (current < 0)
        return answer(r, 503, "unavailable",
                      timed_out ? sp_arena_sprintf(r->arena, "no answer within %d ms",
                                                   READY_WAIT_MS)
                                : "unreachable",
                      NULL);
    if (current < app->migrations_latest)
        return answer(r, 503, "unavailable", "ok",
                      sp_arena_sprintf(r->arena, "at %d, expected %d", current,
                                       app->migrations_latest));
    /* Ready; the check still tells an operator this node lags the schema
     * (restart it with the new release). */
    if (current > app->migrations_latest)
        return answer(r, 200, "ok", "ok",
                      sp_arena_sprintf(r->arena, "at %d, release knows %d", current,
                                       app->migrations_latest));
    return answer(r, 200, "ok", "ok", "ok");
}
