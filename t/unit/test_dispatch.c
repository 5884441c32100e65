/*
 * test_dispatch: what src/http/dispatch.c adds to every answer by the
 * route's role. Answers to authenticated routes carry a caller's tickets,
 * contacts or settings and must say Cache-Control: no-store (once, even
 * when the handler set its own); public routes (healthz, knowledge-base
 * articles) stay cacheable. Driven without FastCGI: with fcgx NULL the
 * whole response lands in r.out.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "http/auth.h"
#include "http/dispatch.h"
#include "unit.h"

static enum sp_rc
answer_ok(struct sp_req *r, struct sp_problem *p)
{
    (void)p;
    sp_resp_send(r, 200, "application/json", "{}", 2);
    return SP_OK;
}

static enum sp_rc
answer_cacheable(struct sp_req *r, struct sp_problem *p)
{
    (void)p;
    sp_resp_header(r, "cache-control", "private, max-age=5");
    sp_resp_send(r, 200, "application/json", "{}", 2);
    return SP_OK;
}

/* Fails as the route's query says: ?503, else an internal error whose
 * detail must never reach the client. */
static enum sp_rc
answer_failure(struct sp_req *r, struct sp_problem *p)
{
    if (strcmp(r->query, "503") == 0)
        return sp_problem_set(p, SP_UNAVAILABLE, "dependency_unavailable", "try again soon");
    return sp_problem_set(p, SP_ERROR, "internal", "secret: the pool is at 0x1234");
}

static const struct sp_route routes[] = {
    {SP_GET, "/public", answer_ok, SP_ROLE_NONE},
    {SP_GET, "/customer", answer_ok, SP_ROLE_CUSTOMER},
    {SP_GET, "/agent", answer_ok, SP_ROLE_AGENT},
    {SP_GET, "/admin", answer_ok, SP_ROLE_ADMIN},
    {SP_GET, "/own", answer_cacheable, SP_ROUTE_ANY_ROLE},
    {SP_GET, "/fails", answer_failure, SP_ROLE_NONE},
};

static struct sp_auth_keys *keys;
static struct sp_arena arena;
static struct sp_http_env env;
static struct sp_req req;

static void
setup(void)
{
    char err[256];
    struct sp_auth_config ac = {
        .hs_keys = "t:0123456789abcdef0123456789abcdef",
        .leeway_seconds = 60,
    };
    keys = sp_auth_keys_load(&ac, err, sizeof(err));
    ck_assert_msg(keys != NULL, "%s", err);
    sp_arena_init(&arena, 0);
    memset(&env, 0, sizeof(env));
    env.keys = keys;
    env.max_body_bytes = 1024;
}

static void
teardown(void)
{
    sp_arena_destroy(&arena);
    sp_auth_keys_free(keys);
}

/* Serves GET path as role (SP_ROLE_NONE: no Authorization header) and
 * returns the response text. */
static const char *
serve(const char *path, enum sp_role role)
{
    static char method[] = "REQUEST_METHOD=GET", uri[128], auth[1024];
    snprintf(uri, sizeof(uri), "REQUEST_URI=%s", path);
    char *envp[] = {method, uri, NULL, NULL};
    if (role != SP_ROLE_NONE) {
        const char *tok = sp_auth_mint_default(keys, &arena, "42", role, time(NULL), 600, NULL);
        ck_assert_ptr_nonnull(tok);
        snprintf(auth, sizeof(auth), "HTTP_AUTHORIZATION=Bearer %s", tok);
        envp[2] = auth;
    }
    sp_req_init(&req, &arena, &env, envp);
    sp_http_handle(&req, routes, sizeof(routes) / sizeof(routes[0]));
    sp_buf_putc(&req.out, '\0');
    return req.out.data;
}

static int
count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *at = text; (at = strcasestr(at, needle)) != NULL; at++)
        n++;
    return n;
}

/* Sends method (the REQUEST_METHOD text) to path, anonymously. */
static const char *
serve_method(const char *method, const char *path)
{
    char *envp[] = {sp_arena_sprintf(&arena, "REQUEST_METHOD=%s", method),
                    sp_arena_sprintf(&arena, "REQUEST_URI=%s", path), NULL};
    sp_req_init(&req, &arena, &env, envp);
    sp_http_handle(&req, routes, sizeof(routes) / sizeof(routes[0]));
    sp_buf_putc(&req.out, '\0');
    return req.out.data;
}

/* The operators' listener's routes in this table: /public only. */
static bool
public_is_operators(const struct sp_route *route)
{
    return strcmp(route->pattern, "/public") == 0;
}

/* On the operators' listener (SUPPORT_LISTENER=operators) only the
 * program's operators routes are answered; every other route is an
 * unknown path, authenticated or not (QA: nginx passed
 * /support/tickets/..%2Fmetrics there and the worker answered the
 * tickets route). The other listener is unchanged. */
START_TEST(the_operators_listener_answers_only_its_routes)
{
    env.operators_route = public_is_operators;
    const char *tok = sp_auth_mint_default(keys, &arena, "42", SP_ROLE_CUSTOMER, time(NULL), 600,
                                           NULL);
    static const char *const paths[] = {"/customer", "/fails", "/public", "/nowhere"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char *envp[] = {sp_arena_strdup(&arena, "REQUEST_METHOD=GET"),
                        sp_arena_sprintf(&arena, "REQUEST_URI=%s", paths[i]),
                        sp_arena_strdup(&arena, "SUPPORT_LISTENER=operators"),
                        sp_arena_sprintf(&arena, "HTTP_AUTHORIZATION=Bearer %s", tok), NULL};
        sp_req_init(&req, &arena, &env, envp);
        sp_http_handle(&req, routes, sizeof(routes) / sizeof(routes[0]));
        sp_buf_putc(&req.out, '\0');
        const char *want = i == 2 ? "Status: 200" : "Status: 404";
        ck_assert_msg(strstr(req.out.data, want) != NULL, "%s: %s", paths[i], req.out.data);
    }
    ck_assert_ptr_nonnull(strstr(serve("/customer", SP_ROLE_CUSTOMER), "Status: 200"));
    env.operators_route = NULL;
    static char get[] = "REQUEST_METHOD=GET", uri[] = "REQUEST_URI=/public",
                listener[] = "SUPPORT_LISTENER=operators";
    char *envp[] = {get, uri, listener, NULL};
    sp_req_init(&req, &arena, &env, envp);
    sp_http_handle(&req, routes, sizeof(routes) / sizeof(routes[0]));
    sp_buf_putc(&req.out, '\0');
    ck_assert_ptr_nonnull(strstr(req.out.data, "Status: 404"));
}
END_TEST

/* A 405 names the method sent (it said "OTHER is not allowed here" for
 * FOO); the client's text is shown only when it is a short token. */
START_TEST(a_405_names_the_method_sent_when_it_is_a_short_token)
{
    const char *out = serve_method("FOO", "/public");
    ck_assert_msg(strstr(out, "Status: 405") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "\"FOO is not allowed here; use GET, HEAD\"") != NULL, "%s", out);
    out = serve_method("DELETE", "/public");
    ck_assert_msg(strstr(out, "\"DELETE is not allowed here; use GET, HEAD\"") != NULL, "%s", out);
    static const char *const odd[] = {"F\"O<b>", "ABCDEFGHIJKLMNOPQ", "", "G T"};
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        out = serve_method(odd[i], "/public");
        ck_assert_msg(strstr(out, "Status: 405") != NULL, "%s", out);
        ck_assert_msg(strstr(out, "\"this method is not allowed here; use GET, HEAD\"") != NULL,
                      "%s: %s", odd[i], out);
    }
}
END_TEST

START_TEST(authenticated_answers_are_not_stored)
{
    static const struct {
        const char *path;
        enum sp_role role;
    } cases[] = {{"/customer", SP_ROLE_CUSTOMER}, {"/agent", SP_ROLE_AGENT},
                 {"/admin", SP_ROLE_ADMIN}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *out = serve(cases[i].path, cases[i].role);
        ck_assert_msg(strstr(out, "Status: 200") != NULL, "%s: %s", cases[i].path, out);
        ck_assert_msg(count(out, "Cache-Control: no-store\r\n") == 1, "%s: %s", cases[i].path,
                      out);
    }
}
END_TEST

START_TEST(refusals_of_authenticated_routes_are_not_stored_either)
{
    const char *out = serve("/agent", SP_ROLE_NONE);
    ck_assert_msg(strstr(out, "Status: 401") != NULL, "%s", out);
    ck_assert_msg(count(out, "Cache-Control: no-store\r\n") == 1, "%s", out);
    out = serve("/admin", SP_ROLE_CUSTOMER);
    ck_assert_msg(strstr(out, "Status: 403") != NULL, "%s", out);
    ck_assert_msg(count(out, "Cache-Control: no-store\r\n") == 1, "%s", out);
}
END_TEST

/* A role refusal names the role, and for the agent's routes that an
 * admin may use them too (QA: a customer read that admins were refused). */
START_TEST(a_role_refusal_names_who_may)
{
    const char *out = serve("/agent", SP_ROLE_CUSTOMER);
    ck_assert_msg(strstr(out, "Status: 403") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "needs the support_agent role (or support_admin)") != NULL, "%s",
                  out);
    out = serve("/admin", SP_ROLE_AGENT);
    ck_assert_msg(strstr(out, "needs the support_admin role\"") != NULL, "%s", out);
}
END_TEST

START_TEST(public_answers_stay_cacheable)
{
    const char *out = serve("/public", SP_ROLE_NONE);
    ck_assert_msg(strstr(out, "Status: 200") != NULL, "%s", out);
    ck_assert_msg(count(out, "Cache-Control") == 0, "%s", out);
}
END_TEST

/* The worker routes REQUEST_URI with its unreserved escapes decoded
 * (router.h): "/pu%62lic" is "/public", as nginx matched it. */
START_TEST(request_uri_is_routed_with_unreserved_escapes_decoded)
{
    const char *out = serve("/pu%62%6Cic?x=%2D", SP_ROLE_NONE);
    ck_assert_msg(strstr(out, "Status: 200") != NULL, "%s", out);
    ck_assert_str_eq(req.path, "/public");
    ck_assert_str_eq(req.query, "x=%2D");
    out = serve("/pub%2Flic", SP_ROLE_NONE);
    ck_assert_msg(strstr(out, "Status: 404") != NULL, "%s", out);
}
END_TEST

/* A problem is about one request: no-store, on a public path or none
 * (a 404 or 405 has no route whose role could say so). */
START_TEST(problems_are_not_stored_whatever_the_route)
{
    const char *out = serve("/nowhere", SP_ROLE_NONE);
    ck_assert_msg(strstr(out, "Status: 404") != NULL, "%s", out);
    ck_assert_msg(count(out, "Cache-Control: no-store\r\n") == 1, "%s", out);
}
END_TEST

START_TEST(a_handlers_own_cache_control_is_the_only_one)
{
    const char *out = serve("/own", SP_ROLE_CUSTOMER);
    ck_assert_msg(count(out, "Cache-Control") == 1, "%s", out);
    ck_assert_msg(strstr(out, "cache-control: private, max-age=5\r\n") != NULL, "%s", out);
}
END_TEST

/* A program's own page for problems (api/kb_pages' HTML pages): the
 * title and detail as sp_resp_problem_head gives them. */
static bool
page_of(struct sp_req *r, const struct sp_problem *p)
{
    struct sp_problem_answer a = sp_resp_problem_head(r, p);
    const char *page = sp_arena_sprintf(r->arena, "<h1>%s</h1><p>%s</p>", a.title, a.detail);
    sp_resp_send(r, a.status, "text/html", page, strlen(page));
    return true;
}

/* A program's page for a problem says what problem+json would say, no
 * more: a 500's detail hidden, a 503 with its Retry-After, and no-store
 * (QA: the pages answered 500 and 503 as problem+json). */
START_TEST(a_problem_page_has_the_status_headers_and_public_detail_of_problem_json)
{
    env.problem_page = page_of;
    const char *out = serve("/fails?500", SP_ROLE_NONE);
    ck_assert_msg(strstr(out, "Status: 500") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "<h1>Internal error</h1><p>an internal error occurred</p>"), "%s",
                  out);
    ck_assert_msg(strstr(out, "secret") == NULL, "%s", out);
    ck_assert_msg(count(out, "Cache-Control: no-store\r\n") == 1, "%s", out);
    out = serve("/fails?503", SP_ROLE_NONE);
    ck_assert_msg(strstr(out, "Status: 503") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "<p>try again soon</p>"), "%s", out);
    ck_assert_msg(count(out, "Retry-After: 1\r\n") == 1, "%s", out);
    ck_assert_msg(count(out, "Cache-Control: no-store\r\n") == 1, "%s", out);
    out = serve("/agent", SP_ROLE_NONE);
    ck_assert_msg(strstr(out, "Status: 401") != NULL && strstr(out, "WWW-Authenticate: Bearer"),
                  "%s", out);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("dispatch");
    TCase *tc = tcase_create("cache-control");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, authenticated_answers_are_not_stored);
    tcase_add_test(tc, refusals_of_authenticated_routes_are_not_stored_either);
    tcase_add_test(tc, a_role_refusal_names_who_may);
    tcase_add_test(tc, public_answers_stay_cacheable);
    tcase_add_test(tc, request_uri_is_routed_with_unreserved_escapes_decoded);
    tcase_add_test(tc, problems_are_not_stored_whatever_the_route);
    tcase_add_test(tc, a_handlers_own_cache_control_is_the_only_one);
    tcase_add_test(tc, a_405_names_the_method_sent_when_it_is_a_short_token);
    tcase_add_test(tc, the_operators_listener_answers_only_its_routes);
    tcase_add_test(tc, a_problem_page_has_the_status_headers_and_public_detail_of_problem_json);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
