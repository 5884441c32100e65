/*
 * health: liveness and readiness (API.md §3). readyz checks that the
 * database answers and that its schema is at this release's migration.
 */
#include "api/handlers.h"

#include "api/app.h"
#include "api/common.h"
#include "domain/store.h"

enum sp_rc
sp_api_healthz(struct sp_req *r, struct sp_problem *p)
{
    (void)p;
    struct sp_buf *b = sp_api_buf(r);
    sp_buf_puts(b, "{\"status\":\"ok\"}");
    sp_resp_json(r, 200, b);
    return SP_OK;
}

enum sp_rc
sp_api_readyz(struct sp_req *r, struct sp_problem *p)
{
    const struct sp_app *app = r->env->app;
    int current = sp_store_schema_version(r->env->db);
    struct sp_buf *b = sp_api_buf(r);
    if (current < 0) {
        sp_buf_puts(b, "{\"status\":\"unavailable\",\"checks\":{\"database\":\"unreachable\"}}");
        sp_resp_send(r, 503, "application/json; charset=utf-8", b->data, b->len);
        return SP_OK;
    }
    if (current != app->migrations_latest) {
        sp_buf_printf(b,
                      "{\"status\":\"unavailable\",\"checks\":{\"database\":\"ok\","
                      "\"migrations\":\"at %d, expected %d\"}}",
                      current, app->migrations_latest);
        sp_resp_send(r, 503, "application/json; charset=utf-8", b->data, b->len);
        return SP_OK;
    }
    (void)p;
    sp_buf_puts(b, "{\"status\":\"ok\",\"checks\":{\"database\":\"ok\",\"migrations\":\"ok\"}}");
    sp_resp_json(r, 200, b);
    return SP_OK;
}
