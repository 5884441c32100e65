/*
 * dispatch: request id, routing, auth, handler, problem, access log.
 */
#include "http/dispatch.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/arena.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/metrics.h"
#include "http/auth_cache.h"

void
sp_req_init(struct sp_req *r, struct sp_arena *a, const struct sp_http_env *env, char **envp)
{
    memset(r, 0, sizeof(*r));
    r->arena = a;
    r->env = env;
    r->envp = envp;
    r->now_ms = (long)sp_clock_now_ms();
    r->start_us = sp_clock_mono_us();
    r->db_round_trips_at_start = sp_metrics_db_round_trips();
    r->route_index = -1;
    sp_buf_init(&r->headers, a, 256);
    sp_buf_init(&r->out, a, 64);

    const char *rid = sp_req_param(envp, "HTTP_X_REQUEST_ID");
    if (rid != NULL && sp_request_id_sane(rid)) {
        r->request_id = rid;
    } else {
        char *fresh = sp_arena_alloc(a, 21);
        sp_request_id(fresh);
        r->request_id = fresh;
    }
    sp_log_set_request_id(r->request_id);

    const char *m = sp_req_param(envp, "REQUEST_METHOD");
    r->method = sp_method_parse(m ? m : "");
    /* REQUEST_URI keeps the path as the client sent it (DOCUMENT_URI would
     * be nginx's normalized copy, with %2F made a "/"); the query string is
     * split off here, and only unreserved characters are decoded. */
    const char *uri = sp_req_param(envp, "REQUEST_URI");
    if (uri == NULL)
        uri = "/";
    const char *q = strchr(uri, '?');
    r->path = sp_router_path(a, uri, q ? (size_t)(q - uri) : strlen(uri));
    r->query = q ? q + 1 : "";
    r->principal.role = SP_ROLE_NONE;
}

/* Every answered request passes here once: the access line and the
 * shared counters (a few relaxed atomic adds, core/metrics.h). */
static void
access_log(const struct sp_req *r)
{
    long long us = sp_clock_mono_us() - r->start_us;
    sp_metrics_request(r->route_index, r->status, us > 0 ? (uint64_t)us : 0);
    struct sp_log_line *l = sp_log_begin(SP_LOG_INFO, "access");
    sp_log_str(l, "method", sp_method_name(r->method));
    sp_log_str(l, "path", r->path);  /* never the query: it may carry tokens */
    sp_log_str(l, "route", r->route);
    sp_log_int(l, "status", r->status);
    sp_log_int(l, "bytes", (long long)r->bytes_out);
    sp_log_int(l, "ms", (long)sp_clock_now_ms() - r->now_ms);
    sp_log_int(l, "db", (long long)(sp_metrics_db_round_trips() - r->db_round_trips_at_start));
    if (r->principal.role != SP_ROLE_NONE)
        sp_log_str(l, "role", sp_role_name(r->principal.role));
    /* Staff actions are audited by who did them (the brief's "centralized
     * logging pipeline"): an admin's change of an SLA policy or a rule
     * leaves no ticket event. A customer's own requests are recorded in
     * their tickets' events; their id stays out of the logs. */
    if (r->principal.role == SP_ROLE_AGENT || r->principal.role == SP_ROLE_ADMIN)
        sp_log_str(l, "user", r->principal.sub);
    sp_log_end(l);
}

/* p as the program's page for it, or as problem+json. */
static void
answer_problem(struct sp_req *r, const struct sp_problem *p)
{
    if (r->env->problem_page == NULL || !r->env->problem_page(r, p))
        sp_resp_problem(r, p);
}

void
sp_http_fail(struct sp_req *r, const struct sp_problem *p)
{
    answer_problem(r, p);
    access_log(r);
    sp_log_set_request_id(NULL);
}

/* Authenticates from "Authorization: Bearer <jwt>". */
static enum sp_rc
authenticate(struct sp_req *r, enum sp_role needed, struct sp_problem *p)
{
    const char *h = sp_req_header(r, "Authorization");
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0')
        return sp_problem_set(p, SP_UNAUTHORIZED, "token_missing", "missing bearer token");
    const char *token = h + 7;
    while (*token == ' ')
        token++;
    time_t now = (time_t)(sp_clock_now_ms() / 1000);
    if (!sp_auth_cache_get(token, now, sp_auth_keys_leeway(r->env->keys), r->arena,
                           &r->principal)) {
        enum sp_rc rc = sp_auth_verify(r->env->keys, r->arena, token, now, &r->principal, p);
        if (rc != SP_OK) {
            r->principal.role = SP_ROLE_NONE;
            return rc;
        }
        sp_auth_cache_put(token, &r->principal);
    }
    /* An admin has the agent's role too (sp_principal_has_role): say so,
     * or a customer reads that admins are refused (QA). */
    if (needed != SP_ROUTE_ANY_ROLE && !sp_principal_has_role(&r->principal, needed))
        return sp_problem_set(p, SP_FORBIDDEN, "forbidden", "this endpoint needs the %s role%s",
                              sp_role_name(needed),
                              needed == SP_ROLE_AGENT ? " (or support_admin)" : "");
    return r->env->on_authenticated != NULL ? r->env->on_authenticated(r, p) : SP_OK;
}

/* The method as the client sent it, for a 405's detail: sp_method_name
 * says OTHER for every method we do not know. nginx passes only a token
 * of capital letters, yet the text is the client's: anything but 1 to 16
 * token characters is "this method". */
static const char *
method_shown(const struct sp_req *r)
{
    static const char token[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *m = sp_req_param(r->envp, "REQUEST_METHOD");
    size_t n = m != NULL ? strlen(m) : 0;
    return n >= 1 && n <= 16 && strspn(m, token) == n ? m : "this method";
}

/* A route answered on the operators' listener (sp_http_env). */
static bool
operators_route(const struct sp_req *r, const struct sp_route *route)
{
    return route != NULL && r->env->operators_route != NULL && r->env->operators_route(route);
}

void
sp_http_handle(struct sp_req *r, const struct sp_route *routes, size_t nroutes)
{
    struct sp_problem p;
    sp_problem_init(&p);
    const struct sp_route *route = NULL;
    char allow[128];
    enum sp_route_result m = sp_router_match(routes, nroutes, r, &route, allow, sizeof(allow));
    const char *repeated = sp_req_repeated_header(r);
    if (repeated != NULL) {
        sp_problem_set(&p, SP_INVALID, "duplicate_header", "the %s header is given more than once",
                       repeated);
    } else if (m == SP_ROUTE_NOT_FOUND || (sp_req_operators(r) && !operators_route(r, route))) {
        sp_problem_set(&p, SP_NOT_FOUND, "not_found", "no such resource");
    } else if (m == SP_ROUTE_BAD_METHOD) {
        sp_resp_header(r, "Allow", allow);
        sp_problem_set(&p, SP_INVALID, "method_not_allowed", "%s is not allowed here; use %s",
                       method_shown(r), allow);
    } else {
        r->route = route->pattern;
        r->route_index = (int)(route - routes);
        /* Keyed on the route, not the answer: a public route (healthz, a
         * knowledge-base article) stays cacheable. */
        r->no_store = route->role != SP_ROLE_NONE;
        if (route->role == SP_ROLE_NONE || authenticate(r, route->role, &p) == SP_OK) {
            if (route->handler(r, &p) != SP_OK && p.rc == SP_OK)
                sp_problem_set(&p, SP_ERROR, "internal", "handler failed without a reason");
        }
    }
    if (!r->responded) {
        if (p.rc == SP_OK)
            sp_problem_set(&p, SP_ERROR, "internal", "handler produced no response");
        answer_problem(r, &p);
    }
    access_log(r);
    sp_log_set_request_id(NULL);
}
