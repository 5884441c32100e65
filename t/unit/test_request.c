/*
 * test_request: the response side of src/http/request.c over a real
 * libfcgi connection. This test plays nginx's part of the FastCGI protocol
 * on a unix socket, and the worker's part with libfcgi and sp_req.
 * sp_resp_finish() must hand the client the whole response and EOF while
 * the handler is still running. With fastcgi_keep_conn off, nginx takes
 * EOF as the end, and nchan drops the offline hook of a subscriber that
 * leaves while its online hook is still in flight.
 */
#include <check.h>
#include <errno.h>
#include <fcgiapp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/arena.h"
#include "http/dispatch.h"
#include "http/http.h"
#include "unit.h"

#define FCGI_BEGIN_REQUEST 1
#define FCGI_END_REQUEST   3
#define FCGI_PARAMS        4
#define FCGI_STDIN         5
#define FCGI_STDOUT        6

static char sock_path[108];
static int listen_fd = -1;

static void
record(unsigned char *buf, size_t *len, int type, const void *content, size_t n)
{
    unsigned char h[8] = {1, (unsigned char)type, 0, 1, (unsigned char)(n >> 8),
                          (unsigned char)(n & 0xff), 0, 0};
    memcpy(buf + *len, h, 8);
    memcpy(buf + *len + 8, content, n);
    *len += 8 + n;
}

static size_t
param(unsigned char *out, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    out[0] = (unsigned char)nl;
    out[1] = (unsigned char)vl;
    memcpy(out + 2, name, nl);
    memcpy(out + 2 + nl, value, vl);
    return 2 + nl + vl;
}

/* Connects as nginx would and sends one GET request (keep_conn off). */
static int
send_request(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, sock_path);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    unsigned char buf[1024], params[512];
    size_t len = 0, plen = 0;
    const unsigned char begin[8] = {0, 1 /* responder */, 0 /* no keep_conn */, 0, 0, 0, 0, 0};
    record(buf, &len, FCGI_BEGIN_REQUEST, begin, sizeof(begin));
    plen += param(params + plen, "REQUEST_METHOD", "GET");
    plen += param(params + plen, "REQUEST_URI", "/hook");
    plen += param(params + plen, "HTTP_X_REQUEST_ID", "test-finish");
    record(buf, &len, FCGI_PARAMS, params, plen);
    record(buf, &len, FCGI_PARAMS, "", 0);
    record(buf, &len, FCGI_STDIN, "", 0);
    ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
    return fd;
}

/* Reads what the worker sent within timeout_ms: true when the peer closed
 * its side (EOF). */
static bool
read_until_eof(int fd, int timeout_ms, unsigned char *buf, size_t cap, size_t *len)
{
    *len = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, timeout_ms);
        if (n <= 0)
            return false;
        ssize_t k = read(fd, buf + *len, cap - *len);
        if (k == 0)
            return true;
        ck_assert_int_gt(k, 0);
        *len += (size_t)k;
        ck_assert_uint_lt(*len, cap);
    }
}

/* One request as a worker sees it: nginx's side connected and sent, libfcgi
 * accepted it, sp_req reads it. */
struct served {
    int client;
    FCGX_Request req;
    struct sp_arena arena;
    struct sp_http_env env;
    struct sp_req r;
};

static void
serve_begin(struct served *s)
{
    s->client = send_request();
    ck_assert_int_eq(FCGX_InitRequest(&s->req, listen_fd, 0), 0);
    ck_assert_int_ge(FCGX_Accept_r(&s->req), 0);
    sp_arena_init(&s->arena, 4096);
    s->env = (struct sp_http_env){.max_body_bytes = 1024};
    sp_req_init(&s->r, &s->arena, &s->env, s->req.envp);
    s->r.fcgx = &s->req;
}

static void
serve_end(struct served *s)
{
    close(s->client);
    FCGX_Finish_r(&s->req);  /* what the server does after every handler */
    FCGX_Free(&s->req, 1);
    sp_arena_destroy(&s->arena);
}

static void
setup(void)
{
    snprintf(sock_path, sizeof(sock_path), "/tmp/sp-test-request-%d.sock", (int)getpid());
    unlink(sock_path);
    ck_assert_int_eq(FCGX_Init(), 0);
    listen_fd = FCGX_OpenSocket(sock_path, 4);
    ck_assert_int_ge(listen_fd, 0);
}

static void
teardown(void)
{
    close(listen_fd);
    unlink(sock_path);
}

START_TEST(finish_hands_over_the_whole_response_and_eof_while_the_handler_runs)
{
    struct served s;
    serve_begin(&s);
    int client = s.client;
    sp_resp_send(&s.r, 204, NULL, NULL, 0);

    /* Sent but not finished: libfcgi buffers, nothing has arrived. */
    unsigned char buf[4096];
    size_t len;
    ck_assert(!read_until_eof(client, 100, buf, sizeof(buf), &len));
    ck_assert_uint_eq(len, 0);

    sp_resp_finish(&s.r);
    /* The handler is still running (FCGX_Finish_r has not been called), yet
     * the client has the headers, the end of the request and EOF. */
    ck_assert_msg(read_until_eof(client, 2000, buf, sizeof(buf), &len),
                  "no EOF after sp_resp_finish (%zu bytes came)", len);
    ck_assert_uint_ge(len, 8);
    ck_assert_int_eq(buf[1], FCGI_STDOUT);
    ck_assert_ptr_nonnull(memmem(buf, len, "Status: 204", 11));
    ck_assert_ptr_nonnull(memmem(buf, len, "X-Request-Id: test-finish", 25));
    bool ended = false;
    for (size_t at = 0; at + 8 <= len;) {
        size_t clen = ((size_t)buf[at + 4] << 8) | buf[at + 5];
        if (buf[at + 1] == FCGI_END_REQUEST)
            ended = true;
        at += 8 + clen + buf[at + 6];
    }
    ck_assert_msg(ended, "no FCGI_END_REQUEST record");
    /* The parameters stay readable for the rest of the handler. */
    ck_assert_str_eq(sp_req_header(&s.r, "X-Request-Id"), "test-finish");
    /* The server's usual finish afterwards is harmless. */
    serve_end(&s);
}
END_TEST

START_TEST(finish_before_any_answer_does_nothing)
{
    struct served s;
    serve_begin(&s);
    sp_resp_finish(&s.r);  /* nothing sent yet: the connection stays usable */
    unsigned char buf[4096];
    size_t len;
    ck_assert(!read_until_eof(s.client, 100, buf, sizeof(buf), &len));
    sp_resp_send(&s.r, 200, "text/plain", "late", 4);
    FCGX_Finish_r(&s.req);
    ck_assert(read_until_eof(s.client, 2000, buf, sizeof(buf), &len));
    ck_assert_ptr_nonnull(memmem(buf, len, "late", 4));
    serve_end(&s);
}
END_TEST

/* API.md §7: a connect URL that names a parameter twice, in any case or
 * encoding, is refused (nginx's $arg_* and sp_req_query would differ). */
START_TEST(repeated_query_names_are_found_in_any_case_and_encoding)
{
    struct sp_arena a;
    sp_arena_init(&a, 1024);
    const char *repeated[] = {
        "session_id=A&session_id=B",
        "SESSION_ID=A&session_id=B",
        "session_id=B&Session_Id=A",
        "session%5Fid=A&session_id=B",
        "session%5fid=A&SESSION%5FID=B",
        "a=1&b=2&A",
        "x&x=",
        "session_id=A&&session_id=B",
        "%73ession_id=A&session_id=B",
    };
    for (size_t i = 0; i < sizeof(repeated) / sizeof(repeated[0]); i++)
        ck_assert_msg(sp_query_names_check(&a, repeated[i]) == SP_QUERY_NAMES_REPEATED,
                      "missed: %s", repeated[i]);
    const char *distinct[] = {
        "",
        "session_id=A",
        "session_id=A&session_token=t&access_token=j",
        "session_id=A&session_idx=B",
        "a=session_id&session_id=a",
        "&&session_id=A&&",
        "bad%zzname=1&bad%zzname2=2",
    };
    for (size_t i = 0; i < sizeof(distinct) / sizeof(distinct[0]); i++)
        ck_assert_msg(sp_query_names_check(&a, distinct[i]) == SP_QUERY_NAMES_DISTINCT,
                      "false alarm: %s", distinct[i]);
    /* more than 32 parameters is not judged: its own answer */
    char many[512] = "";
    for (int i = 0; i < 33; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%sp%d=1", i ? "&" : "", i);
    ck_assert_int_eq(sp_query_names_check(&a, many), SP_QUERY_NAMES_TOO_MANY);
    many[strlen(many) - strlen("&p32=1")] = '\0';
    ck_assert_int_eq(sp_query_names_check(&a, many), SP_QUERY_NAMES_DISTINCT);
    sp_arena_destroy(&a);
}
END_TEST

/* API.md §1: bodies are application/json in UTF-8; parameters per RFC
 * 9110 §8.3.1 (OWS around ';', none around '=', token or quoted value). */
START_TEST(json_media_type_takes_utf8_only_and_well_formed_parameters)
{
    static const char *const accepted[] = {
        "application/json",
        "Application/JSON",
        " application/json ",
        "application/json;charset=utf-8",
        "application/json; charset=UTF-8",
        "application/json ; CharSet=\"Utf-8\"",
        "application/json; charset=\"utf\\-8\"",
        "application/json;",
        "application/json; ;charset=utf-8;",
        "application/json; profile=\"a b;c\"; charset=utf-8",
        "application/json;\tq=1",
    };
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++)
        ck_assert_msg(sp_media_type_is_json_utf8(accepted[i]), "refused: %s", accepted[i]);
    static const char *const refused[] = {
        "",
        "application/json garbage",
        "application/jsonx",
        "application/json/x",
        "application/problem+json",
        "text/json",
        "application/json; charset=iso-8859-1",
        "application/json; charset=utf-16",
        "application/json; charset=utf8",
        "application/json; charset=\"utf-8 \"",
        "application/json; charset=utf-8; charset=latin1",
        "application/json; charset=",
        "application/json; charset = utf-8",
        "application/json; charset=utf-8 x",
        "application/json; charset=\"utf-8",
        "application/json; =utf-8",
        "application/json; charset",
        "application/json, text/plain",
        "application/json; a=\"\x01\"",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        ck_assert_msg(!sp_media_type_is_json_utf8(refused[i]), "accepted: %s", refused[i]);
    ck_assert(!sp_media_type_is_json_utf8(NULL));
}
END_TEST

/* RFC 6265 §5.4 pairs; a name sent twice is nobody's (a tossed cookie
 * from a sibling host or a narrower path comes first). */
START_TEST(a_cookie_is_read_by_exact_name_and_a_repeated_one_is_refused)
{
    struct sp_arena a;
    sp_arena_init(&a, 1024);
    static const struct {
        const char *header, *want;
    } cases[] = {
        {"s=abc", "abc"},
        {"x=1; s=abc; y=2", "abc"},
        {"x=1;s=abc", "abc"},
        {" \ts = abc ;", "abc"},
        {"s=\"abc\"", "\"abc\""},
        {" ;s = \"v1 \" ;", "\"v1 \""},
        {"s=", ""},
        {"ss=1; s_=2; S=3", NULL},
        {"x=s=1", NULL},
        {"s", NULL},
        {"", NULL},
        {"s=1; s=2", NULL},
        {"s=1; x=2; s=1", NULL},
        {"x=1; ;; s=abc", "abc"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = sp_cookie_get(&a, cases[i].header, "s");
        if (cases[i].want == NULL)
            ck_assert_msg(got == NULL, "%s: got %s", cases[i].header, got);
        else
            ck_assert_msg(got != NULL && strcmp(got, cases[i].want) == 0, "%s: got %s",
                          cases[i].header, got ? got : "(null)");
    }
    ck_assert_ptr_null(sp_cookie_get(&a, NULL, "s"));
    const char *all[3];
    ck_assert_uint_eq(sp_cookie_all(&a, "s=1; t=2; s = 3 ;s=4", "s", all, 3), 3);
    ck_assert_str_eq(all[0], "1");
    ck_assert_str_eq(all[1], "3");
    ck_assert_str_eq(all[2], "4");
    ck_assert_uint_eq(sp_cookie_all(&a, "t=2", "s", all, 3), 0);
    ck_assert_uint_eq(sp_cookie_all(&a, NULL, "s", all, 3), 0);
    sp_arena_destroy(&a);
}
END_TEST

/* A form field that cannot be read is told apart from an absent one,
 * and shown as far as it reads; sp_req_form and sp_url_decode still call
 * it absent (NULL). */
START_TEST(a_form_field_reads_or_says_why_not)
{
    struct sp_arena a;
    sp_arena_init(&a, 1024);
    static const struct {
        const char *body;
        enum sp_form_read how;
        const char *value;
    } cases[] = {
        {"f=caf%C3%A9+au+lait", SP_FORM_OK, "caf\xC3\xA9 au lait"},
        {"f=", SP_FORM_OK, ""},
        {"f", SP_FORM_OK, ""},
        {"g=1", SP_FORM_ABSENT, NULL},
        {"f=caf%E9", SP_FORM_NOT_UTF8, "caf\xEF\xBF\xBD"},
        {"f=a%00b", SP_FORM_NUL, "ab"},
        {"f=a%zz%41", SP_FORM_BAD_ESCAPE, "a%zzA"},
        {"f=a%4", SP_FORM_BAD_ESCAPE, "a%4"},
        {"f=%zz%00%FF", SP_FORM_BAD_ESCAPE, "%zz\xEF\xBF\xBD"},
        {"f=%00%FF", SP_FORM_NUL, "\xEF\xBF\xBD"},
        {"f=a%0D%0Ab%E9", SP_FORM_NOT_UTF8, "a\nb\xEF\xBF\xBD"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *envp[] = {(char *)"CONTENT_TYPE=application/x-www-form-urlencoded", NULL};
        struct sp_req r = {.arena = &a, .envp = envp, .body = cases[i].body,
                           .body_len = strlen(cases[i].body)};
        const char *v;
        enum sp_form_read how = sp_req_form_field(&r, "f", &v);
        ck_assert_msg(how == cases[i].how, "%s: %d", cases[i].body, (int)how);
        if (cases[i].value == NULL)
            ck_assert_ptr_null(v);
        else
            ck_assert_msg(v != NULL && strcmp(v, cases[i].value) == 0, "%s: %s", cases[i].body,
                          v ? v : "(null)");
        const char *old = sp_req_form(&r, "f");
        ck_assert_msg(how == SP_FORM_OK ? old != NULL && strcmp(old, v) == 0 : old == NULL,
                      "sp_req_form %s", cases[i].body);
    }
    char *json[] = {(char *)"CONTENT_TYPE=application/json", NULL};
    struct sp_req r = {.arena = &a, .envp = json, .body = "f=1", .body_len = 3};
    const char *v;
    ck_assert_int_eq(sp_req_form_field(&r, "f", &v), SP_FORM_ABSENT);
    ck_assert_ptr_null(v);
    sp_arena_destroy(&a);
}
END_TEST

/* A form is read in UTF-8 only, as a JSON body (API.md §1, §8 pages):
 * QA, "charset=utf-16" was read as if it were UTF-8. */
START_TEST(a_form_is_read_only_in_utf8)
{
    struct sp_arena a;
    sp_arena_init(&a, 1024);
    static const char *const accepted[] = {
        "application/x-www-form-urlencoded",
        "Application/X-WWW-Form-URLEncoded",
        "application/x-www-form-urlencoded; charset=UTF-8",
        "application/x-www-form-urlencoded;charset=\"utf-8\"",
    };
    static const char *const refused[] = {
        "application/x-www-form-urlencoded; charset=utf-16",
        "application/x-www-form-urlencoded; charset=UTF-16LE",
        "application/x-www-form-urlencoded; charset=iso-8859-1",
        "application/x-www-form-urlencoded; charset=utf-8; charset=latin1",
        "application/x-www-form-urlencoded; charset",
        "application/x-www-form-urlencodedx",
        "application/x-www-form-urlencoded garbage",
        "multipart/form-data; boundary=x",
    };
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]) + sizeof(refused) /
                                                                      sizeof(refused[0]); i++) {
        bool ok = i < sizeof(accepted) / sizeof(accepted[0]);
        const char *ct = ok ? accepted[i] : refused[i - sizeof(accepted) / sizeof(accepted[0])];
        char *envp[] = {sp_arena_sprintf(&a, "CONTENT_TYPE=%s", ct), NULL};
        struct sp_req r = {.arena = &a, .envp = envp, .body = "f=1", .body_len = 3};
        ck_assert_msg(sp_req_is_form(&r) == ok, "%s: %s", ct, ok ? "refused" : "accepted");
        const char *v = sp_req_form(&r, "f");
        ck_assert_msg(ok ? v != NULL && strcmp(v, "1") == 0 : v == NULL, "sp_req_form %s", ct);
    }
    sp_arena_destroy(&a);
}
END_TEST

/* A form names each field once (API.md §8 pages): a repeat, in any case
 * or encoding, is found and named; a body that is no form has none. */
START_TEST(a_form_field_given_twice_is_found_and_named)
{
    struct sp_arena a;
    sp_arena_init(&a, 1024);
    static const struct {
        const char *body;
        enum sp_query_names how;
        const char *name;
    } cases[] = {
        {"slug=a&title=t&slug=b", SP_QUERY_NAMES_REPEATED, "slug"},
        {"version=1&Version=99", SP_QUERY_NAMES_REPEATED, "version"},
        {"title=a&%74itle=b", SP_QUERY_NAMES_REPEATED, "title"},
        {"csrf_token=x&title=a&slug=b&tags=&content_markdown=y", SP_QUERY_NAMES_DISTINCT, NULL},
        {"", SP_QUERY_NAMES_DISTINCT, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *envp[] = {(char *)"CONTENT_TYPE=application/x-www-form-urlencoded", NULL};
        struct sp_req r = {.arena = &a, .envp = envp, .body = cases[i].body,
                           .body_len = strlen(cases[i].body)};
        const char *name;
        ck_assert_int_eq(sp_req_form_names(&r, &name), cases[i].how);
        if (cases[i].name == NULL)
            ck_assert_ptr_null(name);
        else
            ck_assert_str_eq(name, cases[i].name);
    }
    char *json[] = {(char *)"CONTENT_TYPE=application/json", NULL};
    struct sp_req r = {.arena = &a, .envp = json, .body = "f=1&f=2", .body_len = 7};
    const char *name;
    ck_assert_int_eq(sp_req_form_names(&r, &name), SP_QUERY_NAMES_DISTINCT);
    sp_arena_destroy(&a);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("request");
    TCase *tc = tcase_create("finish");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, finish_hands_over_the_whole_response_and_eof_while_the_handler_runs);
    tcase_add_test(tc, finish_before_any_answer_does_nothing);
    suite_add_tcase(s, tc);
    tc = tcase_create("query");
    tcase_add_test(tc, repeated_query_names_are_found_in_any_case_and_encoding);
    tcase_add_test(tc, a_cookie_is_read_by_exact_name_and_a_repeated_one_is_refused);
    tcase_add_test(tc, a_form_field_reads_or_says_why_not);
    tcase_add_test(tc, a_form_is_read_only_in_utf8);
    tcase_add_test(tc, a_form_field_given_twice_is_found_and_named);
    suite_add_tcase(s, tc);
    tc = tcase_create("media_type");
    tcase_add_test(tc, json_media_type_takes_utf8_only_and_well_formed_parameters);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
