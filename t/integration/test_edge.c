/*
 * test_edge: what nginx answers itself, before or instead of a worker
 * (API.md §1 "nginx's own answers", §7): a request line or URI it cannot
 * read, a URI or header over its buffers, an HTTP version it does not
 * speak, a method it refuses (TRACE, anything but GET on the chat connect
 * URL) -- each a problem+json, never nginx's HTML page or a 500 -- and the
 * error log, which must not keep the chat tokens or attachment signatures
 * those requests carry in their query strings. Also the worker's side of
 * the request's edge: which Content-Type a JSON body may come with.
 * Raw requests (sp_t_raw) where curl would not send the bytes.
 */
#include "harness.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct sp_t_resp *
raw(const char *request)
{
    return sp_t_raw(request, strlen(request));
}

/* nginx's answer still carries the server's security headers. */
static void
assert_edge_problem(struct sp_t_resp *r, long status, const char *code)
{
    sp_t_assert_problem(r, status, code);
    const char *nosniff = sp_t_header(r, "X-Content-Type-Options");
    ck_assert_msg(nosniff != NULL && strcmp(nosniff, "nosniff") == 0,
                  "%ld %s without X-Content-Type-Options: nosniff", status, code);
}

/* nginx could not go to its named 400 location before it had a URI: it
 * answered its HTML 500 and logged "empty URI in redirect". */
START_TEST(an_unreadable_request_line_or_uri_is_400_bad_request)
{
    static const char *const requests[] = {
        "G@T /support/healthz HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "GET /support/healthz?a b HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "BAD\r\n\r\n",
        "CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "GET /support/tickets%00 HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "GET /support/../../etc/passwd HTTP/1.1\r\nHost: localhost\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
        struct sp_t_resp *r = raw(requests[i]);
        ck_assert_msg(r->status == 400, "%.40s: status %ld, want 400: %.200s", requests[i],
                      r->status, r->body);
        assert_edge_problem(r, 400, "bad_request");
        sp_t_resp_free(r);
    }
}
END_TEST

/* The 400s nginx raises once it has the URI keep their answer. */
START_TEST(a_header_nginx_keeps_one_of_given_twice_is_still_400_bad_request)
{
    struct sp_t_resp *r = raw("GET /support/healthz HTTP/1.1\r\nHost: localhost\r\n"
                              "Authorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n");
    assert_edge_problem(r, 400, "bad_request");
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"),
                     "The request is malformed (for example a header given twice).");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(a_uri_over_nginx_buffers_is_414_uri_too_long)
{
    struct sp_t_resp *r = raw(sp_t_fmt("GET /support/healthz?c=%s HTTP/1.1\r\n"
                                       "Host: localhost\r\n\r\n", sp_t_repeat("a", 100000)));
    assert_edge_problem(r, 414, "uri_too_long");
    sp_t_resp_free(r);
}
END_TEST

/* nginx's 494 is answered 400 (431 would have no reason phrase). */
START_TEST(a_header_over_nginx_buffers_is_400_header_too_large)
{
    struct sp_t_resp *r = raw(sp_t_fmt("GET /support/healthz HTTP/1.1\r\nHost: localhost\r\n"
                                       "X-Big: %s\r\n\r\n", sp_t_repeat("a", 70000)));
    assert_edge_problem(r, 400, "header_too_large");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(an_unknown_http_version_is_505)
{
    struct sp_t_resp *r = raw("GET /support/healthz HTTP/9.9\r\nHost: localhost\r\n\r\n");
    assert_edge_problem(r, 505, "http_version_not_supported");
    sp_t_resp_free(r);
}
END_TEST

/* HTTP/0.9 (a request line without a version) is refused too (QA: nginx
 * served /support/healthz's body). nginx answers 0.9 in 0.9's form, the
 * body alone: the 505 problem, no status line, no headers. */
START_TEST(an_http_0_9_request_gets_the_505_problem_body_only)
{
    static const char req[] = "GET /support/healthz\r\n\r\n";
    static const char type[] =
        "{\"type\":\"https://docs.support.example/errors/http_version_not_supported\"";
    const char *all = sp_t_raw_all(req, strlen(req));
    ck_assert_msg(strncmp(all, type, strlen(type)) == 0, "%s", all);
    ck_assert_msg(strstr(all, "\"status\":505") != NULL, "%s", all);
    ck_assert_msg(strstr(all, "Content-Type:") == NULL, "%s", all);
}
END_TEST

/* Transfer-Encodings nginx does not implement are its 501; a Range past
 * a static file's end its 416: both as problems, not its HTML pages. */
START_TEST(an_unknown_transfer_encoding_is_501_and_a_range_past_the_end_416)
{
    struct sp_t_resp *r = raw("POST /support/tickets HTTP/1.1\r\nHost: localhost\r\n"
                              "Transfer-Encoding: gzip\r\nConnection: close\r\n\r\n");
    assert_edge_problem(r, 501, "not_implemented");
    sp_t_resp_free(r);
    r = raw("GET /support/admin/static/admin.js HTTP/1.1\r\nHost: localhost\r\n"
            "Range: bytes=99999999-\r\nConnection: close\r\n\r\n");
    assert_edge_problem(r, 416, "range_not_satisfiable");
    sp_t_resp_free(r);
}
END_TEST

/* nginx's 404s (a path outside /support/, the metrics it keeps from the
 * public listener, an internal location) say what the worker's 404 for
 * an unknown API path says (QA: "No such resource." beside "no such
 * resource"). */
START_TEST(nginx_and_the_worker_answer_404_with_one_detail)
{
    struct sp_t_resp *w = raw("GET /support/no-such-route HTTP/1.1\r\nHost: localhost\r\n"
                              "Connection: close\r\n\r\n");
    sp_t_assert_problem(w, 404, "not_found");
    ck_assert_str_eq(sp_t_jstr(w->json, "detail"), "no such resource");
    static const char *const paths[] = {"/no-such-path", "/support/metrics",
                                        "/internal/attachments/x"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct sp_t_resp *r = raw(sp_t_fmt("GET %s HTTP/1.1\r\nHost: localhost\r\n"
                                           "Connection: close\r\n\r\n", paths[i]));
        assert_edge_problem(r, 404, "not_found");
        ck_assert_msg(strcmp(sp_t_jstr(r->json, "detail"), sp_t_jstr(w->json, "detail")) == 0,
                      "%s: %s", paths[i], sp_t_jstr(r->json, "detail"));
        sp_t_resp_free(r);
    }
    sp_t_resp_free(w);
}
END_TEST

static struct sp_t_resp *
trace(const char *path)
{
    return raw(sp_t_fmt("TRACE %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                        path));
}

/* nginx refuses TRACE before it picks a location; the Allow comes from
 * whoever knows the resource's methods: the worker's router, or nginx for
 * the chat connect URL and static files. */
START_TEST(trace_is_405_with_the_resources_allow)
{
    struct sp_t_resp *r = trace("/support/tickets");
    assert_edge_problem(r, 405, "method_not_allowed");
    ck_assert_msg(sp_t_list_has(sp_t_header(r, "Allow"), "GET")
                      && sp_t_list_has(sp_t_header(r, "Allow"), "POST"),
                  "Allow %s", sp_t_header(r, "Allow"));
    sp_t_resp_free(r);
    r = trace("/support/chat/connect?session_id=1&session_token=x");
    assert_edge_problem(r, 405, "method_not_allowed");
    ck_assert_str_eq(sp_t_header(r, "Allow"), "GET");
    sp_t_resp_free(r);
    r = trace("/support/admin/static/admin.css");
    assert_edge_problem(r, 405, "method_not_allowed");
    ck_assert_str_eq(sp_t_header(r, "Allow"), "GET, HEAD");
    sp_t_resp_free(r);
    r = trace("/support/no-such-thing");
    assert_edge_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    r = trace("/elsewhere");
    assert_edge_problem(r, 404, "not_found");
    sp_t_resp_free(r);
}
END_TEST

/* The worker that would list the route's methods is down: the 502
 * problem+json of any API request, not nginx's HTML page. */
START_TEST(trace_with_the_api_worker_down_is_502_problem)
{
    sp_t_stackctl("stop-api");
    struct sp_t_resp *r = trace("/support/tickets");
    sp_t_stackctl("start-api");
    assert_edge_problem(r, 502, "dependency_unavailable");
    ck_assert_ptr_nonnull(sp_t_header(r, "Retry-After"));
    sp_t_resp_free(r);
}
END_TEST

/* The worker's 405 and 404 name no route whose role could say "no-store":
 * every problem carries it (a 405 is heuristically cacheable). */
START_TEST(the_workers_405_and_404_are_not_stored)
{
    const char *paths[] = {"/support/admin/categories/5", "/support/no-such-thing"};
    const long statuses[] = {405, 404};
    for (int i = 0; i < 2; i++) {
        struct sp_t_resp *r = sp_t_request("DELETE", paths[i], NULL, NULL, NULL, NULL);
        ck_assert_int_eq(r->status, statuses[i]);
        ck_assert_str_eq(sp_t_header(r, "Content-Type"), "application/problem+json");
        ck_assert_msg(sp_t_header(r, "Cache-Control") != NULL &&
                          strcmp(sp_t_header(r, "Cache-Control"), "no-store") == 0,
                      "%s: Cache-Control %s", paths[i], sp_t_header(r, "Cache-Control"));
        sp_t_resp_free(r);
    }
}
END_TEST

START_TEST(a_write_to_a_static_file_is_405_with_allow_get_head)
{
    struct sp_t_resp *r =
        sp_t_request("DELETE", "/support/admin/static/admin.css", NULL, NULL, NULL, NULL);
    assert_edge_problem(r, 405, "method_not_allowed");
    ck_assert_str_eq(sp_t_header(r, "Allow"), "GET, HEAD");
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"), "DELETE is not allowed here; use GET, HEAD");
    sp_t_resp_free(r);
}
END_TEST

/* The static files' folder itself: nginx will not list it (its 403), and
 * says so as a problem, not its HTML page (nginx/problems.conf). */
START_TEST(the_static_folder_is_not_listed_403_problem)
{
    struct sp_t_resp *r = sp_t_get("/support/admin/static/", NULL);
    assert_edge_problem(r, 403, "forbidden");
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"), "Access to this resource is not allowed.");
    sp_t_resp_free(r);
}
END_TEST

/* Decided by nginx before the auth subrequest: the worker refused the
 * POST's missing body (400), which auth_request made a 500, then a 503. */
START_TEST(chat_connect_answers_405_allow_get_to_any_other_method)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    static const char *const methods[] = {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "HEAD"};
    const char *url = "/support/chat/connect?session_id=1&session_token=x";
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        struct sp_t_resp *r =
            raw(sp_t_fmt("%s %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n"
                         "Content-Length: 0\r\nConnection: close\r\n\r\n",
                         methods[i], url, u.token));
        ck_assert_msg(r->status == 405, "%s: status %ld, want 405", methods[i], r->status);
        ck_assert_str_eq(sp_t_header(r, "Allow"), "GET");
        ck_assert_ptr_null(sp_t_header(r, "Retry-After"));
        if (strcmp(methods[i], "HEAD") != 0) {
            assert_edge_problem(r, 405, "method_not_allowed");
            ck_assert_str_eq(sp_t_jstr(r->json, "detail"),
                             sp_t_fmt("%s is not allowed here; use GET", methods[i]));
        }
        sp_t_resp_free(r);
    }
    /* A GET still goes to the worker's authorization. */
    struct sp_t_resp *r = sp_t_get("/support/chat/connect?session_id=1&session_token=x", NULL);
    sp_t_assert_problem(r, 401, "unauthorized");
    sp_t_resp_free(r);
}
END_TEST

/* A GET with a body: the auth subrequest went without it, the worker
 * answered 400 "the body ended early", auth_request made that a 500 and
 * the client got 503 dependency_unavailable for its own mistake (QA).
 * nginx refuses it first, 400 problem+json, however the body comes. */
START_TEST(a_chat_connect_with_a_body_is_400)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *head = sp_t_fmt("GET /support/chat/connect?session_id=1&session_token=x HTTP/1.1"
                                "\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n"
                                "Connection: close\r\n", u.token);
    static const char *const bodies[] = {
        "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
        "Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
        "Content-Length: 3000000\r\n\r\n",   /* past client_max_body_size: nginx's 413 */
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct sp_t_resp *r = raw(sp_t_fmt("%s%s", head, bodies[i]));
        ck_assert_msg(r->status == 400, "%zu: status %ld, want 400: %.200s", i, r->status,
                      r->body);
        assert_edge_problem(r, 400, "bad_request");
        ck_assert_str_eq(sp_t_jstr(r->json, "detail"), "A chat connect request has no body.");
        ck_assert_ptr_null(sp_t_header(r, "Retry-After"));
        sp_t_resp_free(r);
    }
    /* An empty body is none: on to the worker's authorization. */
    struct sp_t_resp *r = raw("GET /support/chat/connect?session_id=1&session_token=x HTTP/1.1"
                              "\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close"
                              "\r\n\r\n");
    assert_edge_problem(r, 401, "unauthorized");
    sp_t_resp_free(r);
}
END_TEST

/* nginx normalises the path before it picks a location; the chat worker
 * routes on the raw request line: it answered 404, auth_request made
 * that a 500, the client got 503 dependency_unavailable. */
START_TEST(a_chat_connect_path_nginx_would_normalise_is_404)
{
    static const char *const paths[] = {
        "/support//chat/connect", "/support/chat/./connect", "/support/chat/%63onnect",
        "/support/x/../chat/connect", "//support/chat/connect",
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct sp_t_resp *r = raw(sp_t_fmt("GET %s?session_id=1&session_token=x HTTP/1.1\r\n"
                                           "Host: localhost\r\nConnection: close\r\n\r\n",
                                           paths[i]));
        ck_assert_msg(r->status == 404, "%s: status %ld, want 404: %.200s", paths[i],
                      r->status, r->body);
        assert_edge_problem(r, 404, "not_found");
        ck_assert_ptr_null(sp_t_header(r, "Retry-After"));
        sp_t_resp_free(r);
    }
    struct sp_t_resp *r = raw("GET /support/chat/connect?session_id=1&session_token=x HTTP/1.1"
                              "\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    assert_edge_problem(r, 401, "unauthorized");
    sp_t_resp_free(r);
    /* the path alone (no query) is the connect URL too */
    r = raw("GET /support/chat/connect HTTP/1.1\r\nHost: localhost\r\nConnection: close"
            "\r\n\r\n");
    assert_edge_problem(r, 401, "unauthorized");
    sp_t_resp_free(r);
}
END_TEST

/* API.md §1: bodies are application/json in UTF-8. Another charset was
 * read as UTF-8 (400 invalid_json) and trailing garbage was ignored. */
START_TEST(a_json_body_with_another_charset_or_a_malformed_type_is_415)
{
    static const char *const refused[] = {
        "application/json garbage",
        "application/json; charset=iso-8859-1",
        "application/json; charset=utf-16",
        "application/json; charset=\"UTF-16\"",
        "application/jsonx",
        "application/json; charset",
    };
    const char *body = "{\"subject\":\"Media type\",\"description\":\"Which one?\"}";
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
        struct sp_t_resp *r = sp_t_request("POST", "/support/tickets", u.token, refused[i],
                                           body, NULL);
        ck_assert_msg(r->status == 415, "%s: status %ld, want 415: %.200s", refused[i],
                      r->status, r->body);
        sp_t_assert_problem(r, 415, "unsupported_media_type");
        sp_t_resp_free(r);
    }
    static const char *const accepted[] = {
        "application/json; charset=UTF-8",
        "Application/Json ; charset=\"utf-8\"",
        "application/json;charset=utf-8;",
    };
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
        struct sp_t_resp *r = sp_t_request("POST", "/support/tickets", u.token, accepted[i],
                                           body, NULL);
        ck_assert_msg(r->status == 201, "%s: status %ld, want 201: %.200s", accepted[i],
                      r->status, r->body);
        sp_t_resp_free(r);
    }
}
END_TEST

/* Number of nginx log files in the stack's log directory holding s. */
static int
nginx_logs_holding(const char *s)
{
    const char *dir = getenv("SP_TEST_LOG_DIR");
    ck_assert_msg(dir != NULL, "SP_TEST_LOG_DIR is not set");
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    int found = 0, files = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strncmp(e->d_name, "nginx", 5) != 0)
            continue;
        FILE *f = fopen(sp_t_fmt("%s/%s", dir, e->d_name), "r");
        ck_assert_msg(f != NULL, "cannot open %s/%s", dir, e->d_name);
        files++;
        char line[65536];
        bool hit = false;
        while (!hit && fgets(line, sizeof(line), f) != NULL)
            hit = strstr(line, s) != NULL;
        fclose(f);
        found += hit;
    }
    closedir(d);
    ck_assert_msg(files > 0, "no nginx log in %s", dir);
    return found;
}

/* API.md §7 and §10: no log keeps a chat token or a URL signature. nginx
 * names the request line in its error lines: a malformed line on the chat
 * URL, a body over the limit on a signed upload URL. */
START_TEST(nginx_logs_keep_no_chat_token_or_url_signature)
{
    const char *token = sp_t_unique("leaktoken");
    const char *sig = sp_t_unique("leaksig");
    struct sp_t_resp *line = raw(sp_t_fmt("GET /support/chat/connect?session_id= X&session_token="
                                          "%s&access_token=%s HTTP/1.1\r\nHost: localhost\r\n\r\n",
                                          token, token));
    struct sp_t_resp *put = raw(sp_t_fmt(
        "PUT /support/attachments/abc123/content?kid=a1&expires=9999999999&sig=%s HTTP/1.1\r\n"
        "Host: localhost\r\nContent-Type: application/octet-stream\r\n"
        "Content-Length: 30000000\r\nConnection: close\r\n\r\n", sig));
    struct sp_t_resp *get = sp_t_get(
        sp_t_fmt("/support/attachments/abc123/content?kid=a1&expires=1&sig=%s", sig), NULL);
    /* The logs first: they are what this test is about. */
    ck_assert_int_eq(nginx_logs_holding(token), 0);
    ck_assert_int_eq(nginx_logs_holding(sig), 0);
    assert_edge_problem(line, 400, "bad_request");
    assert_edge_problem(put, 413, "payload_too_large");
    ck_assert_int_ge(get->status, 400);
    sp_t_resp_free(line);
    sp_t_resp_free(put);
    sp_t_resp_free(get);
}
END_TEST

/* The chat connect location logs at emerg (nginx/chat.conf.in): every
 * error line of that request, its auth subrequest's too, names the request
 * line with the session and access tokens. The chat worker down: nginx
 * fails to connect to it (crit) and the auth subrequest ends in an
 * unexpected status (error), the client gets the 503 problem, and no nginx
 * log keeps a token (API.md §7). */
START_TEST(chat_connect_errors_keep_no_token_in_nginx_logs)
{
    const char *token = sp_t_unique("chatdowntoken");
    sp_t_stackctl("stop-chat");
    struct sp_t_resp *r = sp_t_get(
        sp_t_fmt("/support/chat/connect?session_id=1&session_token=%s&access_token=%s&sig=%s",
                 token, token, token), NULL);
    sp_t_stackctl("start-chat");
    ck_assert_int_eq(nginx_logs_holding(token), 0);
    assert_edge_problem(r, 503, "dependency_unavailable");
    sp_t_resp_free(r);
    /* the worker is back: the same URL is its 401 again */
    r = sp_t_get(sp_t_fmt("/support/chat/connect?session_id=1&session_token=%s", token), NULL);
    sp_t_assert_problem(r, 401, "unauthorized");
    sp_t_resp_free(r);
    ck_assert_int_eq(nginx_logs_holding(token), 0);
}
END_TEST

static Suite *
edge_suite(void)
{
    Suite *s = suite_create("edge");
    TCase *tc = sp_t_tcase(s, "nginx_answers");
    tcase_add_test(tc, an_unreadable_request_line_or_uri_is_400_bad_request);
    tcase_add_test(tc, a_header_nginx_keeps_one_of_given_twice_is_still_400_bad_request);
    tcase_add_test(tc, a_uri_over_nginx_buffers_is_414_uri_too_long);
    tcase_add_test(tc, a_header_over_nginx_buffers_is_400_header_too_large);
    tcase_add_test(tc, an_unknown_http_version_is_505);
    tcase_add_test(tc, an_http_0_9_request_gets_the_505_problem_body_only);
    tcase_add_test(tc, an_unknown_transfer_encoding_is_501_and_a_range_past_the_end_416);
    tcase_add_test(tc, nginx_and_the_worker_answer_404_with_one_detail);
    tcase_add_test(tc, trace_is_405_with_the_resources_allow);
    tcase_add_test(tc, a_write_to_a_static_file_is_405_with_allow_get_head);
    tcase_add_test(tc, the_workers_405_and_404_are_not_stored);
    tcase_add_test(tc, the_static_folder_is_not_listed_403_problem);
    tcase_add_test(tc, chat_connect_answers_405_allow_get_to_any_other_method);
    tcase_add_test(tc, a_chat_connect_path_nginx_would_normalise_is_404);
    tcase_add_test(tc, a_chat_connect_with_a_body_is_400);
    tc = sp_t_tcase(s, "media_type");
    tcase_add_test(tc, a_json_body_with_another_charset_or_a_malformed_type_is_415);
    tc = sp_t_tcase(s, "worker_down");
    tcase_add_test(tc, trace_with_the_api_worker_down_is_502_problem);
    tc = sp_t_tcase(s, "nginx_logs");
    tcase_add_test(tc, nginx_logs_keep_no_chat_token_or_url_signature);
    tcase_add_test(tc, chat_connect_errors_keep_no_token_in_nginx_logs);
    return s;
}

int
main(void)
{
    return sp_t_run(edge_suite());
}
