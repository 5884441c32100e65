/*
 * test_health: liveness and readiness (API.md §3), the router's 404/405
 * answers and the X-Request-Id rules of API.md §1.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Ids we generate or accept: a sane token, never the caller's junk. */
#define SANE_ID_RE "^[A-Za-z0-9._-]{8,128}$"

START_TEST(healthz_is_200_with_status_ok)
{
    struct sp_t_resp *r = sp_t_get("/support/healthz", NULL);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "ok");
    /* a probe asks about this node now: never from a cache (QA) */
    ck_assert_str_eq(sp_t_header(r, "Cache-Control"), "no-store");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(readyz_is_200_when_database_answers)
{
    struct sp_t_resp *r = sp_t_get("/support/readyz", NULL);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_header(r, "Cache-Control"), "no-store");
    sp_t_resp_free(r);
}
END_TEST

/* ---- readyz across an upgrade (docs/operations.md, Upgrades) ------------ */

/* support-api restarted with SUPPORT_MIGRATIONS_DIR at a copy of sql/
 * changed by shell command `edit` run in it (the teardown restarts it
 * with the usual settings). The older schema's 503 is test_operations'
 * readyz_is_503_while_migrations_are_behind. */
static void
api_with_migrations(const char *edit)
{
    char dir[] = "/tmp/sp_readyz_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    const char *cmd = sp_t_fmt("cp %s/sql/[0-9]*.sql %s && cd %s && %s && chmod -R a+rX %s",
                               getenv("SP_TEST_TOP_SRCDIR"), dir, dir, edit, dir);
    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
    sp_t_stackctl(sp_t_fmt("restart-api-with SUPPORT_MIGRATIONS_DIR=%s", dir));
}

/* The newest migration applied, and the one before it. */
static int
schema_version(int nth)
{
    return atoi(sp_t_sql("SELECT version FROM schema_migrations ORDER BY version DESC"
                         " OFFSET %d LIMIT 1", nth));
}

/* An old release on the schema a newer one migrated (the upgrade's step
 * 2, before the restart) stays ready: a load balancer polling readyz
 * must not take every old node out while migrations run (QA: 503 "at 65,
 * expected 64", a full outage). */
START_TEST(readyz_is_200_when_the_schema_is_newer_than_the_release)
{
    api_with_migrations("rm \"$(ls [0-9]*.sql | sort | tail -n 1)\"");
    struct sp_t_resp *r = sp_t_get("/support/readyz", NULL);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "ok");
    struct json_object *checks = sp_t_jget(r->json, "checks");
    ck_assert_str_eq(sp_t_jstr(checks, "database"), "ok");
    ck_assert_str_eq(sp_t_jstr(checks, "migrations"),
                     sp_t_fmt("at %d, release knows %d", schema_version(0), schema_version(1)));
    sp_t_resp_free(r);
}
END_TEST

static void
api_back(void)
{
    sp_t_stackctl("restart-api");
}

START_TEST(unknown_path_is_404_problem)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = sp_t_get("/support/no-such-endpoint", u.token);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(delete_on_tickets_is_405_with_allow_get_post)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = sp_t_request("DELETE", "/support/tickets", u.token, NULL, NULL, NULL);
    sp_t_assert_problem(r, 405, "method_not_allowed");
    const char *allow = sp_t_header(r, "Allow");
    ck_assert_msg(sp_t_list_has(allow, "GET") && sp_t_list_has(allow, "POST") &&
                      sp_t_list_has(allow, "HEAD"),
                  "Allow \"%s\" must list GET, HEAD and POST", allow);
    ck_assert_msg(!sp_t_list_has(allow, "DELETE"), "Allow \"%s\" lists DELETE", allow);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(post_on_healthz_is_405_with_allow_get)
{
    struct sp_t_resp *r = sp_t_request("POST", "/support/healthz", NULL, SP_T_JSON, "{}", NULL);
    sp_t_assert_problem(r, 405, "method_not_allowed");
    ck_assert_str_eq(sp_t_header(r, "Allow"), "GET, HEAD");
    sp_t_resp_free(r);
}
END_TEST

/* HEAD path as a client sends it (raw: an answer to HEAD has no body). */
static long
head_status(const char *path, const char *token)
{
    const char *req = sp_t_fmt("HEAD %s HTTP/1.1\r\nHost: localhost\r\n%s%s%sConnection: close"
                               "\r\n\r\n", path, token ? "Authorization: Bearer " : "",
                               token ? token : "", token ? "\r\n" : "");
    struct sp_t_resp *r = sp_t_raw(req, strlen(req));
    long status = r->status;
    sp_t_resp_free(r);
    return status;
}

/* Allow is the truth (RFC 9110 §10.2.1): a GET route answers HEAD, so its
 * Allow names HEAD, and HEAD on it is served; a path without GET refuses
 * HEAD and does not name it. */
START_TEST(allow_names_head_where_get_answers_it)
{
    const char *customer = sp_t_user_new(SP_ROLE_CUSTOMER).token;
    const char *admin = sp_t_admin_token();
    const struct {
        const char *method, *path, *token, *allow;
        long head;  /* HEAD's status */
    } cases[] = {
        {"POST", "/support/articles/no-such-article", NULL, "GET, HEAD", 404},
        {"POST", "/support/healthz", NULL, "GET, HEAD", 200},
        {"DELETE", "/support/tickets", customer, "POST, GET, HEAD", 200},
        {"DELETE", "/support/admin/categories", admin, "GET, HEAD, POST", 200},
        {"DELETE", "/support/admin/categories/999999999", admin, "GET, HEAD, PATCH", 404},
        {"PUT", "/support/admin/kb", NULL, "GET, HEAD", 303},
        {"GET", "/support/admin/kb/preview", NULL, "POST", 405},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sp_t_resp *r =
            sp_t_request(cases[i].method, cases[i].path, cases[i].token, NULL, NULL, NULL);
        sp_t_assert_problem(r, 405, "method_not_allowed");
        ck_assert_msg(strcmp(sp_t_header(r, "Allow"), cases[i].allow) == 0, "%s %s: Allow %s",
                      cases[i].method, cases[i].path, sp_t_header(r, "Allow"));
        sp_t_resp_free(r);
        long head = head_status(cases[i].path, cases[i].token);
        ck_assert_msg(head == cases[i].head, "HEAD %s: %ld, want %ld", cases[i].path, head,
                      cases[i].head);
    }
}
END_TEST

START_TEST(sane_request_id_is_echoed)
{
    static const char *const hdr[] = {"X-Request-Id: abc-123", NULL};
    struct sp_t_resp *r = sp_t_request("GET", "/support/healthz", NULL, NULL, NULL, hdr);
    sp_t_assert_status(r, 200);
    ck_assert_str_eq(sp_t_header(r, "X-Request-Id"), "abc-123");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(sane_request_id_is_the_problem_request_id)
{
    const char *id = sp_t_unique("req");
    const char *const hdr[] = {sp_t_fmt("X-Request-Id: %s", id), NULL};
    struct sp_t_resp *r = sp_t_request("GET", "/support/tickets", NULL, NULL, NULL, hdr);
    sp_t_assert_problem(r, 401, "unauthorized");  /* checks request_id == header */
    ck_assert_str_eq(sp_t_header(r, "X-Request-Id"), id);
    sp_t_resp_free(r);
}
END_TEST

/* The access line of the request with this id in support-api.log ("" if
 * none yet: the worker writes it after answering). */
static const char *
access_line(const char *request_id)
{
    FILE *f = fopen(sp_t_fmt("%s/support-api.log", getenv("SP_TEST_LOG_DIR")), "r");
    ck_assert_ptr_nonnull(f);
    char line[8192];
    const char *found = "";
    const char *key = sp_t_fmt("\"request_id\":\"%s\"", request_id);
    while (fgets(line, sizeof(line), f) != NULL)
        if (strstr(line, "\"event\":\"access\"") != NULL && strstr(line, key) != NULL)
            found = sp_t_fmt("%s", line);
    fclose(f);
    return found;
}

/* The access line names the agent or admin who acted (the audit trail of
 * staff actions), never a customer. */
START_TEST(access_lines_name_staff_not_customers)
{
    struct sp_t_user users[] = {sp_t_user_new(SP_ROLE_ADMIN), sp_t_user_new(SP_ROLE_AGENT),
                                sp_t_user_new(SP_ROLE_CUSTOMER)};
    const char *paths[] = {"/support/admin/categories", "/support/agent/tickets",
                           "/support/tickets"};
    for (int i = 0; i < 3; i++) {
        const char *id = sp_t_unique("audit");
        const char *const hdr[] = {sp_t_fmt("X-Request-Id: %s", id), NULL};
        struct sp_t_resp *r = sp_t_request("GET", paths[i], users[i].token, NULL, NULL, hdr);
        sp_t_assert_status(r, 200);
        sp_t_resp_free(r);
        const char *line = "";
        for (int tries = 0; tries < 50 && *line == '\0'; tries++) {
            usleep(100 * 1000);
            line = access_line(id);
        }
        ck_assert_msg(*line != '\0', "no access line for %s", id);
        bool named = strstr(line, sp_t_fmt("\"user\":\"%s\"", users[i].sub)) != NULL;
        ck_assert_msg(named == (i < 2), "%s: %s", paths[i], line);
        ck_assert_msg(i < 2 || strstr(line, users[i].sub) == NULL, "customer id logged: %s", line);
    }
}
END_TEST

START_TEST(request_id_of_300_chars_is_replaced)
{
    const char *junk = sp_t_repeat("a", 300);
    const char *const hdr[] = {sp_t_fmt("X-Request-Id: %s", junk), NULL};
    struct sp_t_resp *r = sp_t_request("GET", "/support/healthz", NULL, NULL, NULL, hdr);
    sp_t_assert_status(r, 200);
    const char *got = sp_t_header(r, "X-Request-Id");
    ck_assert_str_ne(got, junk);
    ck_assert_msg(sp_t_matches(SANE_ID_RE, got), "generated X-Request-Id \"%s\" is not sane",
                  got);
    sp_t_resp_free(r);
}
END_TEST

/* "oil" can never occur in a generated id (nginx's $request_id is hex, the
 * worker's Crockford base32 has no i, l, o): finding it means the id was
 * derived from the header. ("abc" turned up in a 32-hex id by chance:
 * 30 places x 16^-3, about one run in 140.) */
START_TEST(request_id_with_spaces_and_quotes_is_replaced)
{
    static const char *const hdr[] = {"X-Request-Id: oil 123 \"x\" <y>", NULL};
    struct sp_t_resp *r = sp_t_request("GET", "/support/tickets", NULL, NULL, NULL, hdr);
    sp_t_assert_problem(r, 401, "unauthorized");
    const char *got = sp_t_header(r, "X-Request-Id");
    ck_assert_msg(sp_t_matches(SANE_ID_RE, got), "X-Request-Id \"%s\" was not replaced", got);
    ck_assert_ptr_null(strstr(got, "oil"));
    sp_t_resp_free(r);
}
END_TEST

START_TEST(request_id_is_generated_unique_when_absent)
{
    struct sp_t_resp *a = sp_t_get("/support/healthz", NULL);
    struct sp_t_resp *b = sp_t_get("/support/healthz", NULL);
    const char *ia = sp_t_header(a, "X-Request-Id"), *ib = sp_t_header(b, "X-Request-Id");
    ck_assert_msg(sp_t_matches(SANE_ID_RE, ia), "generated X-Request-Id \"%s\" is not sane", ia);
    ck_assert_str_ne(ia, ib);
    sp_t_resp_free(a);
    sp_t_resp_free(b);
}
END_TEST

static Suite *
health_suite(void)
{
    Suite *s = suite_create("health");
    TCase *tc = sp_t_tcase(s, "health");
    tcase_add_test(tc, healthz_is_200_with_status_ok);
    tcase_add_test(tc, readyz_is_200_when_database_answers);
    tc = sp_t_tcase(s, "upgrade");
    tcase_add_unchecked_fixture(tc, NULL, api_back);
    tcase_add_test(tc, readyz_is_200_when_the_schema_is_newer_than_the_release);
    tc = sp_t_tcase(s, "routing");
    tcase_add_test(tc, unknown_path_is_404_problem);
    tcase_add_test(tc, delete_on_tickets_is_405_with_allow_get_post);
    tcase_add_test(tc, post_on_healthz_is_405_with_allow_get);
    tcase_add_test(tc, allow_names_head_where_get_answers_it);
    tc = sp_t_tcase(s, "request_id");
    tcase_add_test(tc, sane_request_id_is_echoed);
    tcase_add_test(tc, sane_request_id_is_the_problem_request_id);
    tcase_add_test(tc, request_id_of_300_chars_is_replaced);
    tcase_add_test(tc, access_lines_name_staff_not_customers);
    tcase_add_test(tc, request_id_with_spaces_and_quotes_is_replaced);
    tcase_add_test(tc, request_id_is_generated_unique_when_absent);
    return s;
}

int
main(void)
{
    return sp_t_run(health_suite());
}
