/*
 * test_problem: the outcome carrier (src/core/problem.c) and its one HTTP
 * rendering, RFC 9457 problem+json (sp_resp_problem in
 * src/http/request.c), driven through sp_req_init() with CGI params and no
 * FastCGI stream, so the whole response lands in r.out. Also the request
 * accessors: query percent-decoding and header-name mapping.
 */
#include <check.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/problem.h"
#include "http/dispatch.h"
#include "http/http.h"
#include "unit.h"

static struct sp_arena arena;
static struct sp_req req;
static struct sp_problem prob;

static void
setup(void)
{
    sp_log_set_level(SP_LOG_FATAL); /* problems log at info/error: keep output clean */
    sp_arena_init(&arena, 4096);
    sp_problem_init(&prob);
}

static void
teardown(void)
{
    sp_log_set_request_id(NULL);
    sp_arena_destroy(&arena);
}

/* A CGI param array in the arena, NULL-terminated. */
static char **mkenv(const char *first, ...) __attribute__((sentinel));

static char **
mkenv(const char *first, ...)
{
    char **env = sp_arena_calloc(&arena, 32, sizeof(*env));
    size_t n = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *e = first; e != NULL && n < 31; e = va_arg(ap, const char *))
        env[n++] = sp_arena_strdup(&arena, e);
    va_end(ap);
    return env;
}

static void
init_default(void)
{
    sp_req_init(&req, &arena, NULL,
                mkenv("REQUEST_METHOD=GET", "REQUEST_URI=/x", "HTTP_X_REQUEST_ID=abc-123", NULL));
}

/* The captured response, split. */
struct resp {
    int status;
    const char *head; /* header block, "Name: value\r\n" lines */
    const char *body;
    size_t body_len;
    struct json_object *json;
};

static void
json_put(void *o)
{
    json_object_put(o);
}

static struct resp
captured(void)
{
    struct resp r = {0};
    ck_assert(req.responded);
    ck_assert_ptr_null(req.fcgx);
    const char *out = req.out.data;
    const char *sep = strstr(out, "\r\n\r\n");
    ck_assert_msg(sep != NULL, "no end of headers in: %s", out);
    ck_assert_msg(strncmp(out, "Status: ", 8) == 0, "response starts with: %.20s", out);
    r.status = atoi(out + 8);
    ck_assert_int_eq(r.status, req.status);
    r.head = sp_arena_strndup(&arena, out, (size_t)(sep - out) + 2);
    r.body = sep + 4;
    r.body_len = req.out.len - (size_t)(r.body - out);
    if (r.body_len > 0) {
        r.json = json_tokener_parse(r.body);
        ck_assert_msg(r.json != NULL, "body is not JSON: %s", r.body);
        sp_arena_defer(&arena, json_put, r.json);
    }
    return r;
}

/* Value of a response header, or NULL. */
static const char *
header(const struct resp *r, const char *name)
{
    char *needle = sp_arena_sprintf(&arena, "\r\n%s: ", name);
    const char *at = strstr(r->head, needle);
    if (at == NULL)
        return NULL;
    at += strlen(needle);
    return sp_arena_strndup(&arena, at, strcspn(at, "\r"));
}

static const char *
jstr(const struct resp *r, const char *key)
{
    struct json_object *v;
    ck_assert_msg(json_object_object_get_ex(r->json, key, &v), "no \"%s\" in %s", key, r->body);
    ck_assert_msg(json_object_is_type(v, json_type_string), "\"%s\" is not a string", key);
    return json_object_get_string(v);
}

static int
jint(const struct resp *r, const char *key)
{
    struct json_object *v;
    ck_assert_msg(json_object_object_get_ex(r->json, key, &v), "no \"%s\" in %s", key, r->body);
    ck_assert(json_object_is_type(v, json_type_int));
    return json_object_get_int(v);
}

static struct resp
render(void)
{
    init_default();
    sp_resp_problem(&req, &prob);
    return captured();
}

/* ---- sp_problem --------------------------------------------------------- */

START_TEST(problem_init_is_ok_and_empty)
{
    prob.rc = SP_ERROR;
    prob.nerrors = 3;
    sp_problem_init(&prob);
    ck_assert_int_eq(prob.rc, SP_OK);
    ck_assert_ptr_null(prob.code);
    ck_assert_str_eq(prob.detail, "");
    ck_assert_uint_eq(prob.nerrors, 0);
}
END_TEST

START_TEST(problem_set_returns_rc_and_formats_detail)
{
    ck_assert_int_eq(sp_problem_set(&prob, SP_CONFLICT, "invalid_transition",
                                    "cannot move from %s to %s", "closed", "open"),
                     SP_CONFLICT);
    ck_assert_int_eq(prob.rc, SP_CONFLICT);
    ck_assert_str_eq(prob.code, "invalid_transition");
    ck_assert_str_eq(prob.detail, "cannot move from closed to open");
}
END_TEST

START_TEST(problem_detail_is_truncated_not_overflowed)
{
    char big[1000];
    memset(big, 'd', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    sp_problem_set(&prob, SP_INVALID, "bad_request", "%s", big);
    ck_assert_uint_eq(strlen(prob.detail), sizeof(prob.detail) - 1);
}
END_TEST

START_TEST(problem_field_makes_a_validation_failure)
{
    sp_problem_field(&prob, "subject", "required", "is required");
    ck_assert_int_eq(prob.rc, SP_INVALID);
    ck_assert_str_eq(prob.code, "validation_failed");
    ck_assert_uint_gt(strlen(prob.detail), 0);
    ck_assert_uint_eq(prob.nerrors, 1);
    ck_assert_str_eq(prob.errors[0].field, "subject");
    ck_assert_str_eq(prob.errors[0].code, "required");
    ck_assert_str_eq(prob.errors[0].message, "is required");
}
END_TEST

START_TEST(problem_field_keeps_an_existing_code_and_detail)
{
    sp_problem_set(&prob, SP_INVALID, "idempotency_key_reused", "key reused");
    sp_problem_field(&prob, "body", "invalid", "differs");
    ck_assert_str_eq(prob.code, "idempotency_key_reused");
    ck_assert_str_eq(prob.detail, "key reused");
}
END_TEST

START_TEST(problem_refuses_only_the_fields_it_lists)
{
    ck_assert(!sp_problem_refuses(&prob, "body"));
    sp_problem_field(&prob, "body", "empty", "has no text");
    sp_problem_query_field(&prob, "limit", "out_of_range", "1 to 100");
    ck_assert(sp_problem_refuses(&prob, "body"));
    ck_assert(sp_problem_refuses(&prob, "limit"));
    ck_assert(!sp_problem_refuses(&prob, "attachments"));
    ck_assert(!sp_problem_refuses(&prob, "bod"));
    /* An item's error refuses its list (a second check of the list would
     * say it again), and only its own list. */
    sp_problem_field(&prob, "attachments[1]", "duplicate", "listed already");
    ck_assert(sp_problem_refuses(&prob, "attachments"));
    ck_assert(!sp_problem_refuses(&prob, "attachment"));
    ck_assert(!sp_problem_refuses(&prob, "attachments[1"));
}
END_TEST

/* The detail names where the first fault is; later faults elsewhere join
 * the list without changing it. */
START_TEST(field_errors_say_body_query_or_header)
{
    sp_problem_field(&prob, "subject", "required", "is required");
    ck_assert_str_eq(prob.detail, "the request body has invalid fields");
    sp_problem_init(&prob);
    sp_problem_query_field(&prob, "limit", "invalid", "must be an integer from 1 to 100");
    sp_problem_field(&prob, "subject", "required", "is required");
    ck_assert_str_eq(prob.detail, "the query string has invalid parameters");
    ck_assert_str_eq(prob.code, "validation_failed");
    ck_assert_uint_eq(prob.nerrors, 2);
    ck_assert_str_eq(prob.errors[0].field, "limit");
    sp_problem_init(&prob);
    sp_problem_header_field(&prob, "Idempotency-Key", "invalid", "must be 1 to 255 characters");
    ck_assert_int_eq(prob.rc, SP_INVALID);
    ck_assert_str_eq(prob.detail, "the request has an invalid header");
}
END_TEST

/* Every status the worker answers has its reason phrase (API.md §1):
 * the webhook ping's 202 and the admin pages' 303 went out as "Status". */
START_TEST(every_status_the_worker_sends_has_its_reason_phrase)
{
    static const char *const lines[] = {
        "200 OK", "201 Created", "202 Accepted", "204 No Content", "303 See Other",
        "304 Not Modified", "400 Bad Request", "401 Unauthorized", "403 Forbidden",
        "404 Not Found", "405 Method Not Allowed", "409 Conflict", "412 Precondition Failed",
        "413 Content Too Large", "415 Unsupported Media Type", "422 Unprocessable Content",
        "429 Too Many Requests", "500 Internal Server Error", "502 Bad Gateway",
        "503 Service Unavailable", "504 Gateway Timeout",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        init_default();
        sp_resp_send(&req, atoi(lines[i]), NULL, "", 0);
        const char *want = sp_arena_sprintf(&arena, "Status: %s\r\n", lines[i]);
        ck_assert_msg(strncmp(req.out.data, want, strlen(want)) == 0, "want %s, got %.40s", want,
                      req.out.data);
    }
}
END_TEST

START_TEST(problem_field_drops_errors_beyond_the_cap)
{
    for (int i = 0; i < SP_PROBLEM_MAX_ERRORS + 5; i++)
        sp_problem_field(&prob, "f", "invalid", "m");
    ck_assert_uint_eq(prob.nerrors, SP_PROBLEM_MAX_ERRORS);
}
END_TEST

static bool
short_word(const char *s)
{
    return s[0] != '\0' && strlen(s) <= 3;
}

static const struct sp_list_rule words_rule = {
    .field = "words",
    .max = 3,
    .ok = short_word,
    .items = "words",
    .bad_code = "invalid",
    .bad = "must be 1 to 3 characters",
    .duplicate = "a word is listed twice",
};

START_TEST(list_rule_passes_distinct_valid_items)
{
    static const char *const ok[] = {"a", "bc", "def"};
    sp_problem_check_items(&prob, &arena, &words_rule, ok, 3);
    sp_problem_check_items(&prob, &arena, &words_rule, NULL, 0);
    ck_assert_int_eq(prob.rc, SP_OK);
    ck_assert_uint_eq(prob.nerrors, 0);
}
END_TEST

/* Item by item: each bad item is its own error, named by its index
 * (agent skills and webhook events as article tags: QA found one error
 * for a whole list, naming no item); a list over max is one error on
 * the list. */
START_TEST(list_rule_names_each_bad_item)
{
    static const struct {
        const char *items[4];
        size_t n;
        const char *errors[3][3];   /* field, code, message; NULL field: none */
    } c[] = {
        {{"a", "b", "c", "d"}, 4, {{"words", "too_many", "must have at most 3 words"}}},
        {{"a", "long", "a"}, 3,
         {{"words[1]", "invalid", "must be 1 to 3 characters"},
          {"words[2]", "duplicate", "a word is listed twice"}}},
        {{"a", "a", ""}, 3,
         {{"words[1]", "duplicate", "a word is listed twice"},
          {"words[2]", "invalid", "must be 1 to 3 characters"}}},
        {{"", "a", "a"}, 3,
         {{"words[0]", "invalid", "must be 1 to 3 characters"},
          {"words[2]", "duplicate", "a word is listed twice"}}},
        {{"a", "a", "a"}, 3,
         {{"words[1]", "duplicate", "a word is listed twice"},
          {"words[2]", "duplicate", "a word is listed twice"}}},
        /* NULL: a string with a NUL (SP_FIELD_LIST), refused by its index
         * with the others' faults, and no earlier item of a later one */
        {{NULL, "long", NULL}, 3,
         {{"words[0]", "invalid", SP_PROBLEM_NUL_MESSAGE},
          {"words[1]", "invalid", "must be 1 to 3 characters"},
          {"words[2]", "invalid", SP_PROBLEM_NUL_MESSAGE}}},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        sp_problem_init(&prob);
        sp_problem_check_items(&prob, &arena, &words_rule, c[i].items, c[i].n);
        ck_assert_int_eq(prob.rc, SP_INVALID);
        size_t want = 1;
        while (want < 3 && c[i].errors[want][0] != NULL)
            want++;
        ck_assert_uint_eq(prob.nerrors, want);
        for (size_t e = 0; e < want; e++) {
            ck_assert_str_eq(prob.errors[e].field, c[i].errors[e][0]);
            ck_assert_str_eq(prob.errors[e].code, c[i].errors[e][1]);
            ck_assert_str_eq(prob.errors[e].message, c[i].errors[e][2]);
        }
    }
}
END_TEST

/* A rule with values lists them in each refusal (webhook event types). */
START_TEST(list_rule_names_the_allowed_values)
{
    static const char *const values[] = {"a", "bc", "def", NULL};
    struct sp_list_rule rule = words_rule;
    rule.bad = "must be one of: ";
    rule.values = values;
    static const char *const items[] = {"a", "long"};
    sp_problem_check_items(&prob, &arena, &rule, items, 2);
    ck_assert_uint_eq(prob.nerrors, 1);
    ck_assert_str_eq(prob.errors[0].field, "words[1]");
    ck_assert_str_eq(prob.errors[0].message, "must be one of: a, bc, def");
    char msg[SP_PROBLEM_MESSAGE_MAX];
    ck_assert_str_eq(sp_problem_list_text(msg, "one of: ", values, 2), "one of: a, bc");
}
END_TEST

/* ---- rendering ---------------------------------------------------------- */

START_TEST(validation_problem_renders_as_problem_json)
{
    sp_problem_field(&prob, "subject", "too_long", "is too long");
    sp_problem_field(&prob, "source", "invalid", "is not one of the allowed values");
    struct resp r = render();
    ck_assert_int_eq(r.status, 422);
    ck_assert_str_eq(header(&r, "Content-Type"), "application/problem+json");
    ck_assert_str_eq(header(&r, "X-Request-Id"), "abc-123");
    ck_assert_str_eq(jstr(&r, "type"), "https://docs.support.example/errors/validation_failed");
    ck_assert_str_eq(jstr(&r, "title"), "Validation failed");
    ck_assert_int_eq(jint(&r, "status"), 422);
    ck_assert_str_eq(jstr(&r, "code"), "validation_failed");
    ck_assert_str_eq(jstr(&r, "detail"), prob.detail);
    ck_assert_str_eq(jstr(&r, "request_id"), "abc-123");

    struct json_object *errors;
    ck_assert(json_object_object_get_ex(r.json, "errors", &errors));
    ck_assert(json_object_is_type(errors, json_type_array));
    ck_assert_uint_eq(json_object_array_length(errors), 2);
    static const char *const want[2][3] = {
        {"subject", "too_long", "is too long"},
        {"source", "invalid", "is not one of the allowed values"},
    };
    for (size_t i = 0; i < 2; i++) {
        struct json_object *e = json_object_array_get_idx(errors, i), *v;
        ck_assert(json_object_object_get_ex(e, "field", &v));
        ck_assert_str_eq(json_object_get_string(v), want[i][0]);
        ck_assert(json_object_object_get_ex(e, "code", &v));
        ck_assert_str_eq(json_object_get_string(v), want[i][1]);
        ck_assert(json_object_object_get_ex(e, "message", &v));
        ck_assert_str_eq(json_object_get_string(v), want[i][2]);
    }
}
END_TEST

START_TEST(content_length_is_the_body_length)
{
    sp_problem_set(&prob, SP_NOT_FOUND, "not_found", "no such ticket");
    struct resp r = render();
    ck_assert_int_eq(atoi(header(&r, "Content-Length")), (int)r.body_len);
    ck_assert_uint_eq(req.bytes_out, r.body_len);
    ck_assert_uint_eq(strlen(r.body), r.body_len);
}
END_TEST

START_TEST(errors_member_only_for_field_errors)
{
    sp_problem_set(&prob, SP_NOT_FOUND, "not_found", "no such ticket");
    struct resp r = render();
    ck_assert_int_eq(r.status, 404);
    ck_assert(!json_object_object_get_ex(r.json, "errors", NULL));
    ck_assert_str_eq(jstr(&r, "detail"), "no such ticket");
}
END_TEST

START_TEST(detail_with_quotes_and_newlines_stays_valid_json)
{
    sp_problem_set(&prob, SP_CONFLICT, "conflict", "he said \"no\"\nthen\t\\left");
    struct resp r = render();
    ck_assert_str_eq(jstr(&r, "detail"), "he said \"no\"\nthen\t\\left");
}
END_TEST

START_TEST(internal_error_hides_its_detail)
{
    sp_problem_set(&prob, SP_ERROR, "internal",
                   "PQexec failed: relation support_tickets password=hunter2");
    struct resp r = render();
    ck_assert_int_eq(r.status, 500);
    ck_assert_str_eq(jstr(&r, "code"), "internal");
    ck_assert_str_eq(jstr(&r, "type"), "https://docs.support.example/errors/internal");
    ck_assert_str_eq(jstr(&r, "title"), "Internal error");
    ck_assert_str_eq(jstr(&r, "detail"), "an internal error occurred");
    ck_assert_ptr_null(strstr(req.out.data, "hunter2"));
    ck_assert_ptr_null(strstr(req.out.data, "PQexec"));
}
END_TEST

START_TEST(any_5xx_code_hides_its_detail)
{
    /* A code of our own that maps to 500 through its outcome. */
    sp_problem_set(&prob, SP_ERROR, "migration_failed", "migration 007_x.sql failed: secret");
    struct resp r = render();
    ck_assert_int_eq(r.status, 500);
    ck_assert_str_eq(jstr(&r, "code"), "migration_failed");
    ck_assert_ptr_null(strstr(req.out.data, "secret"));
}
END_TEST

START_TEST(unauthorized_without_token_sends_bearer_challenge)
{
    /* The challenge follows the code (no token: no error attribute, RFC
     * 6750 §3.1); clients see the contract's code either way. */
    sp_problem_set(&prob, SP_UNAUTHORIZED, "token_missing", "missing bearer token");
    struct resp r = render();
    ck_assert_int_eq(r.status, 401);
    ck_assert_str_eq(header(&r, "WWW-Authenticate"), "Bearer realm=\"support\"");
    ck_assert_str_eq(jstr(&r, "code"), "unauthorized");
    ck_assert_str_eq(jstr(&r, "type"), "https://docs.support.example/errors/unauthorized");
}
END_TEST

/* What the log (stderr) gets while prob is rendered. */
static size_t
log_of_render(char *out, size_t cap)
{
    struct sp_unit_log l = sp_unit_log_begin();
    (void)render();
    sp_log_msg(SP_LOG_ERROR, "end_marker", "-");
    sp_unit_log_end(l, out, cap);
    return strlen(out);
}

/* A failure is logged once: where it happened (the database layer logs
 * statement and SQLSTATE and marks it), or else at the edge. */
START_TEST(a_problem_logged_where_it_happened_is_not_logged_again)
{
    char log[4096];
    sp_problem_set(&prob, SP_ERROR, "internal", "statement x failed");
    log_of_render(log, sizeof(log));
    ck_assert_msg(strstr(log, "\"event\":\"problem\"") != NULL, "%s", log);
    sp_problem_init(&prob);
    sp_problem_set(&prob, SP_ERROR, "internal", "statement x failed");
    prob.logged = true;
    log_of_render(log, sizeof(log));
    ck_assert_msg(strstr(log, "\"event\":\"problem\"") == NULL, "%s", log);
}
END_TEST

START_TEST(unauthorized_with_bad_token_says_invalid_token)
{
    sp_problem_set(&prob, SP_UNAUTHORIZED, "unauthorized", "token expired");
    struct resp r = render();
    ck_assert_int_eq(r.status, 401);
    const char *h = header(&r, "WWW-Authenticate");
    ck_assert_ptr_nonnull(h);
    ck_assert(strncmp(h, "Bearer ", 7) == 0);
    ck_assert_ptr_nonnull(strstr(h, "error=\"invalid_token\""));
}
END_TEST

START_TEST(other_statuses_send_no_challenge)
{
    sp_problem_set(&prob, SP_FORBIDDEN, "forbidden", "agents only");
    struct resp r = render();
    ck_assert_int_eq(r.status, 403);
    ck_assert_ptr_null(header(&r, "WWW-Authenticate"));
}
END_TEST

struct mapping {
    enum sp_rc rc;
    const char *code; /* NULL: none set */
    int status;
    const char *shown; /* code in the body */
};

START_TEST(codes_and_outcomes_map_to_statuses)
{
    static const struct mapping m[] = {
        {SP_INVALID, "invalid_json", 400, "invalid_json"},
        {SP_INVALID, "bad_request", 400, "bad_request"},
        {SP_INVALID, "unsupported_media_type", 415, "unsupported_media_type"},
        {SP_INVALID, "method_not_allowed", 405, "method_not_allowed"},
        {SP_INVALID, "validation_failed", 422, "validation_failed"},
        {SP_INVALID, "idempotency_key_reused", 422, "idempotency_key_reused"},
        {SP_CONFLICT, "ticket_closed", 409, "ticket_closed"},
        {SP_CONFLICT, "invalid_transition", 409, "invalid_transition"},
        {SP_NOT_FOUND, NULL, 404, "not_found"},
        {SP_FORBIDDEN, NULL, 403, "forbidden"},
        {SP_UNAUTHORIZED, NULL, 401, "unauthorized"},
        {SP_PRECONDITION, NULL, 412, "precondition_failed"},
        {SP_TOO_LARGE, NULL, 413, "payload_too_large"},
        {SP_RATE_LIMITED, NULL, 429, "rate_limited"},
        {SP_UNAVAILABLE, NULL, 503, "dependency_unavailable"},
        {SP_UNAVAILABLE, "dependency_unavailable", 503, "dependency_unavailable"},
        {SP_ERROR, NULL, 500, "internal"},
    };
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        sp_arena_reset(&arena);
        sp_problem_init(&prob);
        prob.rc = m[i].rc;
        prob.code = m[i].code;
        snprintf(prob.detail, sizeof(prob.detail), "case %zu", i);
        ck_assert_msg(sp_problem_status(&prob) == m[i].status, "%s (rc %d) -> %d, want %d",
                      m[i].code ? m[i].code : "(none)", m[i].rc, sp_problem_status(&prob),
                      m[i].status);
        struct resp r = render();
        ck_assert_int_eq(r.status, m[i].status);
        ck_assert_int_eq(jint(&r, "status"), m[i].status);
        ck_assert_str_eq(jstr(&r, "code"), m[i].shown);
        char *type = sp_arena_sprintf(&arena, "https://docs.support.example/errors/%s", m[i].shown);
        ck_assert_str_eq(jstr(&r, "type"), type);
        ck_assert_uint_gt(strlen(jstr(&r, "title")), 0);
    }
}
END_TEST

START_TEST(specific_conflict_code_gets_the_conflict_title)
{
    sp_problem_set(&prob, SP_CONFLICT, "ticket_closed", "the ticket is closed");
    struct resp r = render();
    ck_assert_int_eq(r.status, 409);
    ck_assert_str_eq(jstr(&r, "title"), "Conflict");
    ck_assert_str_eq(jstr(&r, "detail"), "the ticket is closed");
}
END_TEST

START_TEST(dependency_unavailable_keeps_its_detail)
{
    sp_problem_set(&prob, SP_UNAVAILABLE, "dependency_unavailable", "the database is down");
    struct resp r = render();
    ck_assert_int_eq(r.status, 503);
    ck_assert_str_eq(jstr(&r, "detail"), "the database is down");
}
END_TEST

START_TEST(empty_detail_falls_back_to_the_title)
{
    prob.rc = SP_NOT_FOUND;
    struct resp r = render();
    ck_assert_str_eq(jstr(&r, "detail"), jstr(&r, "title"));
}
END_TEST

START_TEST(only_the_first_response_is_written)
{
    sp_problem_set(&prob, SP_NOT_FOUND, "not_found", "first");
    init_default();
    sp_resp_problem(&req, &prob);
    size_t len = req.out.len;
    struct sp_problem second;
    sp_problem_init(&second);
    sp_problem_set(&second, SP_ERROR, "internal", "second");
    sp_resp_problem(&req, &second);
    ck_assert_uint_eq(req.out.len, len);
    struct resp r = captured();
    ck_assert_int_eq(r.status, 404);
}
END_TEST

START_TEST(head_request_gets_headers_without_body)
{
    sp_problem_set(&prob, SP_NOT_FOUND, "not_found", "no such ticket");
    sp_req_init(&req, &arena, NULL, mkenv("REQUEST_METHOD=HEAD", "REQUEST_URI=/x", NULL));
    sp_resp_problem(&req, &prob);
    struct resp r = captured();
    ck_assert_int_eq(r.status, 404);
    ck_assert_uint_eq(r.body_len, 0);
    ck_assert_int_gt(atoi(header(&r, "Content-Length")), 0);
}
END_TEST

START_TEST(extra_headers_are_sent_and_cr_lf_values_dropped)
{
    sp_problem_set(&prob, SP_INVALID, "method_not_allowed", "use GET");
    init_default();
    sp_resp_header(&req, "Allow", "GET, POST");
    sp_resp_header(&req, "X-Evil", "a\r\nSet-Cookie: x=1");
    sp_resp_problem(&req, &prob);
    struct resp r = captured();
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(header(&r, "Allow"), "GET, POST");
    ck_assert_ptr_null(header(&r, "X-Evil"));
    ck_assert_ptr_null(strstr(req.out.data, "Set-Cookie"));
}
END_TEST

/* ---- request ids -------------------------------------------------------- */

static void
assert_generated_id(const char *id)
{
    ck_assert_uint_eq(strlen(id), 20);
    ck_assert_uint_eq(strspn(id, "0123456789abcdefghjkmnpqrstvwxyz"), 20);
}

START_TEST(sane_request_id_is_echoed)
{
    sp_problem_set(&prob, SP_NOT_FOUND, "not_found", "x");
    struct resp r = render();
    ck_assert_str_eq(req.request_id, "abc-123");
    ck_assert_str_eq(header(&r, "X-Request-Id"), "abc-123");
    ck_assert_str_eq(jstr(&r, "request_id"), "abc-123");
}
END_TEST

START_TEST(request_id_with_spaces_is_replaced)
{
    sp_req_init(&req, &arena, NULL,
                mkenv("REQUEST_METHOD=GET", "REQUEST_URI=/x", "HTTP_X_REQUEST_ID=abc 123", NULL));
    assert_generated_id(req.request_id);
    sp_problem_set(&prob, SP_NOT_FOUND, "not_found", "x");
    sp_resp_problem(&req, &prob);
    struct resp r = captured();
    ck_assert_str_eq(header(&r, "X-Request-Id"), req.request_id);
    ck_assert_str_eq(jstr(&r, "request_id"), req.request_id);
    ck_assert_ptr_null(strstr(req.out.data, "abc 123"));
}
END_TEST

START_TEST(request_id_of_200_chars_is_replaced)
{
    char id[201];
    memset(id, 'a', 200);
    id[200] = '\0';
    sp_req_init(&req, &arena, NULL,
                mkenv("REQUEST_METHOD=GET", "REQUEST_URI=/x",
                      sp_arena_sprintf(&arena, "HTTP_X_REQUEST_ID=%s", id), NULL));
    assert_generated_id(req.request_id);
}
END_TEST

START_TEST(request_id_with_header_injection_is_replaced)
{
    sp_req_init(&req, &arena, NULL,
                mkenv("REQUEST_METHOD=GET", "REQUEST_URI=/x",
                      "HTTP_X_REQUEST_ID=a\r\nSet-Cookie: x=1", NULL));
    assert_generated_id(req.request_id);
}
END_TEST

START_TEST(missing_or_empty_request_id_is_generated)
{
    sp_req_init(&req, &arena, NULL, mkenv("REQUEST_METHOD=GET", "REQUEST_URI=/x", NULL));
    assert_generated_id(req.request_id);
    const char *first = sp_arena_strdup(&arena, req.request_id);
    sp_req_init(&req, &arena, NULL,
                mkenv("REQUEST_METHOD=GET", "REQUEST_URI=/x", "HTTP_X_REQUEST_ID=", NULL));
    assert_generated_id(req.request_id);
    ck_assert_str_ne(first, req.request_id);
}
END_TEST

/* ---- sp_req_init, query and headers ------------------------------------- */

START_TEST(init_splits_path_and_query)
{
    sp_req_init(&req, &arena, NULL,
                mkenv("REQUEST_METHOD=POST", "REQUEST_URI=/support/tickets?limit=5&x=1", NULL));
    ck_assert_int_eq(req.method, SP_POST);
    ck_assert_str_eq(req.path, "/support/tickets");
    ck_assert_str_eq(req.query, "limit=5&x=1");
    ck_assert(!req.responded);
    ck_assert_uint_eq(req.out.len, 0);
}
END_TEST

START_TEST(init_without_query_has_empty_query)
{
    sp_req_init(&req, &arena, NULL,
                mkenv("REQUEST_METHOD=DELETE", "REQUEST_URI=/support/tickets", NULL));
    ck_assert_int_eq(req.method, SP_DELETE);
    ck_assert_str_eq(req.path, "/support/tickets");
    ck_assert_str_eq(req.query, "");
}
END_TEST

START_TEST(init_with_unknown_method_or_no_uri)
{
    sp_req_init(&req, &arena, NULL, mkenv("REQUEST_METHOD=BREW", NULL));
    ck_assert_int_eq(req.method, SP_METHOD_OTHER);
    ck_assert_str_eq(req.path, "/");
    sp_req_init(&req, &arena, NULL, mkenv(NULL, NULL));
    ck_assert_int_eq(req.method, SP_METHOD_OTHER);
}
END_TEST

static void
init_query(const char *uri)
{
    sp_req_init(&req, &arena, NULL,
                mkenv("REQUEST_METHOD=GET", sp_arena_sprintf(&arena, "REQUEST_URI=%s", uri), NULL));
}

START_TEST(query_values_are_percent_decoded)
{
    init_query("/q?a=1&b=x%20y&c=");
    ck_assert_str_eq(sp_req_query(&req, "a"), "1");
    ck_assert_str_eq(sp_req_query(&req, "b"), "x y");
    ck_assert_str_eq(sp_req_query(&req, "c"), "");
    ck_assert_ptr_null(sp_req_query(&req, "d"));
}
END_TEST

START_TEST(query_plus_is_a_space_and_escapes_any_case)
{
    init_query("/q?q=printer+on%2Bfire&u=%C3%A9%c3%a9&s=%2f");
    ck_assert_str_eq(sp_req_query(&req, "q"), "printer on+fire");
    ck_assert_str_eq(sp_req_query(&req, "u"), "\xc3\xa9\xc3\xa9");
    ck_assert_str_eq(sp_req_query(&req, "s"), "/");
}
END_TEST

START_TEST(query_names_match_whole)
{
    init_query("/q?ab=1&a_b=2&flag&b=3");
    ck_assert_ptr_null(sp_req_query(&req, "a"));
    ck_assert_str_eq(sp_req_query(&req, "ab"), "1");
    ck_assert_str_eq(sp_req_query(&req, "b"), "3");
    ck_assert_str_eq(sp_req_query(&req, "flag"), "");
    ck_assert_ptr_null(sp_req_query(&req, "fla"));
}
END_TEST

/* QA: the HTML knowledge-base list read ?%71=creme as no search. Names
 * are compared percent-decoded; the chat connect URL reads them as
 * written, as nginx's $arg_ does. */
START_TEST(query_names_are_percent_decoded_unless_read_as_written)
{
    init_query("/q?%71=creme&st%61tus=draft&session%5Fid=S1");
    ck_assert_str_eq(sp_req_query(&req, "q"), "creme");
    ck_assert_str_eq(sp_req_query(&req, "status"), "draft");
    ck_assert_ptr_null(sp_req_query_as_written(&req, "q"));
    ck_assert_ptr_null(sp_req_query_as_written(&req, "session_id"));
    ck_assert_str_eq(sp_req_query_as_written(&req, "%71"), "creme");
}
END_TEST

START_TEST(query_first_occurrence_wins)
{
    init_query("/q?status=open&status=closed");
    ck_assert_str_eq(sp_req_query(&req, "status"), "open");
}
END_TEST

START_TEST(query_bad_escapes_are_refused)
{
    init_query("/q?a=%zz&b=%2&c=%&d=%00&e=ok");
    ck_assert_ptr_null(sp_req_query(&req, "a"));
    ck_assert_ptr_null(sp_req_query(&req, "b"));
    ck_assert_ptr_null(sp_req_query(&req, "c"));
    ck_assert_ptr_null(sp_req_query(&req, "d")); /* no NUL smuggled into C strings */
    ck_assert_str_eq(sp_req_query(&req, "e"), "ok");
}
END_TEST

START_TEST(query_absent_when_there_is_none)
{
    init_query("/q");
    ck_assert_ptr_null(sp_req_query(&req, "a"));
    init_query("/q?");
    ck_assert_ptr_null(sp_req_query(&req, "a"));
}
END_TEST

START_TEST(headers_map_to_cgi_names)
{
    sp_req_init(&req, &arena, NULL,
                mkenv("REQUEST_METHOD=POST", "REQUEST_URI=/x", "HTTP_IDEMPOTENCY_KEY=k-1",
                      "CONTENT_TYPE=application/json", "CONTENT_LENGTH=17", "HTTP_IF_MATCH=\"3\"",
                      NULL));
    ck_assert_str_eq(sp_req_header(&req, "Idempotency-Key"), "k-1");
    ck_assert_str_eq(sp_req_header(&req, "idempotency-key"), "k-1");
    ck_assert_str_eq(sp_req_header(&req, "Content-Type"), "application/json");
    ck_assert_str_eq(sp_req_header(&req, "content-type"), "application/json");
    ck_assert_str_eq(sp_req_header(&req, "Content-Length"), "17");
    ck_assert_str_eq(sp_req_header(&req, "If-Match"), "\"3\"");
    ck_assert_ptr_null(sp_req_header(&req, "Authorization"));
}
END_TEST

START_TEST(header_names_match_whole)
{
    sp_req_init(&req, &arena, NULL,
                mkenv("REQUEST_METHOD=GET", "REQUEST_URI=/x", "HTTP_X_FOO_BAR=1",
                      "HTTP_CONTENT_TYPE=spoofed", NULL));
    ck_assert_ptr_null(sp_req_header(&req, "X-Foo"));
    ck_assert_str_eq(sp_req_header(&req, "X-Foo-Bar"), "1");
    /* Content-Type is CONTENT_TYPE, never a client's HTTP_CONTENT_TYPE. */
    ck_assert_ptr_null(sp_req_header(&req, "Content-Type"));
}
END_TEST

START_TEST(json_body_needs_a_json_content_type)
{
    static const char *const bad[] = {
        "CONTENT_TYPE=text/plain",
        "CONTENT_TYPE=application/jsonp",
        "CONTENT_TYPE=application/x-www-form-urlencoded",
        NULL,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sp_problem_init(&prob);
        sp_req_init(&req, &arena, NULL,
                    mkenv("REQUEST_METHOD=POST", "REQUEST_URI=/x", bad[i], NULL));
        req.body = "{}";
        req.body_len = 2;
        ck_assert_ptr_null(sp_req_json(&req, &prob));
        ck_assert_str_eq(prob.code, "unsupported_media_type");
        ck_assert_int_eq(sp_problem_status(&prob), 415);
    }
}
END_TEST

START_TEST(json_body_with_charset_parameter_is_read)
{
    sp_req_init(&req, &arena, NULL,
                mkenv("REQUEST_METHOD=POST", "REQUEST_URI=/x",
                      "CONTENT_TYPE=application/json; charset=utf-8", NULL));
    req.body = "{\"a\":1}";
    req.body_len = 7;
    struct json_object *o = sp_req_json(&req, &prob);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(prob.rc, SP_OK);
    req.body = "{\"a\":";
    req.body_len = 5;
    ck_assert_ptr_null(sp_req_json(&req, &prob));
    ck_assert_str_eq(prob.code, "invalid_json");
    ck_assert_int_eq(sp_problem_status(&prob), 400);
}
END_TEST

static Suite *
problem_suite(void)
{
    Suite *s = suite_create("problem");
    TCase *tc = tcase_create("problem");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, problem_init_is_ok_and_empty);
    tcase_add_test(tc, problem_set_returns_rc_and_formats_detail);
    tcase_add_test(tc, problem_detail_is_truncated_not_overflowed);
    tcase_add_test(tc, problem_field_makes_a_validation_failure);
    tcase_add_test(tc, problem_field_keeps_an_existing_code_and_detail);
    tcase_add_test(tc, problem_refuses_only_the_fields_it_lists);
    tcase_add_test(tc, field_errors_say_body_query_or_header);
    tcase_add_test(tc, every_status_the_worker_sends_has_its_reason_phrase);
    tcase_add_test(tc, problem_field_drops_errors_beyond_the_cap);
    tcase_add_test(tc, list_rule_passes_distinct_valid_items);
    tcase_add_test(tc, list_rule_names_each_bad_item);
    tcase_add_test(tc, list_rule_names_the_allowed_values);
    suite_add_tcase(s, tc);

    tc = tcase_create("render");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, validation_problem_renders_as_problem_json);
    tcase_add_test(tc, content_length_is_the_body_length);
    tcase_add_test(tc, errors_member_only_for_field_errors);
    tcase_add_test(tc, detail_with_quotes_and_newlines_stays_valid_json);
    tcase_add_test(tc, internal_error_hides_its_detail);
    tcase_add_test(tc, any_5xx_code_hides_its_detail);
    tcase_add_test(tc, unauthorized_without_token_sends_bearer_challenge);
    tcase_add_test(tc, unauthorized_with_bad_token_says_invalid_token);
    tcase_add_test(tc, other_statuses_send_no_challenge);
    tcase_add_test(tc, codes_and_outcomes_map_to_statuses);
    tcase_add_test(tc, specific_conflict_code_gets_the_conflict_title);
    tcase_add_test(tc, dependency_unavailable_keeps_its_detail);
    tcase_add_test(tc, a_problem_logged_where_it_happened_is_not_logged_again);
    tcase_add_test(tc, empty_detail_falls_back_to_the_title);
    tcase_add_test(tc, only_the_first_response_is_written);
    tcase_add_test(tc, head_request_gets_headers_without_body);
    tcase_add_test(tc, extra_headers_are_sent_and_cr_lf_values_dropped);
    suite_add_tcase(s, tc);

    tc = tcase_create("request_id");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, sane_request_id_is_echoed);
    tcase_add_test(tc, request_id_with_spaces_is_replaced);
    tcase_add_test(tc, request_id_of_200_chars_is_replaced);
    tcase_add_test(tc, request_id_with_header_injection_is_replaced);
    tcase_add_test(tc, missing_or_empty_request_id_is_generated);
    suite_add_tcase(s, tc);

    tc = tcase_create("request");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, init_splits_path_and_query);
    tcase_add_test(tc, init_without_query_has_empty_query);
    tcase_add_test(tc, init_with_unknown_method_or_no_uri);
    tcase_add_test(tc, query_values_are_percent_decoded);
    tcase_add_test(tc, query_plus_is_a_space_and_escapes_any_case);
    tcase_add_test(tc, query_names_match_whole);
    tcase_add_test(tc, query_names_are_percent_decoded_unless_read_as_written);
    tcase_add_test(tc, query_first_occurrence_wins);
    tcase_add_test(tc, query_bad_escapes_are_refused);
    tcase_add_test(tc, query_absent_when_there_is_none);
    tcase_add_test(tc, headers_map_to_cgi_names);
    tcase_add_test(tc, header_names_match_whole);
    tcase_add_test(tc, json_body_needs_a_json_content_type);
    tcase_add_test(tc, json_body_with_charset_parameter_is_read);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(problem_suite());
}
