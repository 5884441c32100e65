/*
 * fuzz_problem: libFuzzer target for the problem+json renderer
 * (sp_resp_problem in src/http/request.c, fed by src/core/problem.c) with
 * hostile text: details and field errors often quote what the client
 * sent, so they may hold quotes, controls, invalid UTF-8, or be cut by
 * the 256-byte detail buffer in the middle of a character.
 * Input: byte 0 = outcome, byte 1 = code (a known one, none, or the first
 * line), then lines: detail, and field/code/message triples (more than the
 * 16 kept). Aborts unless the body is one valid JSON object (json-c,
 * strict, UTF-8 checked) whose status, code, detail and errors[] say what
 * the problem said (text that was valid UTF-8 comes back unchanged), and
 * the head is well formed with a matching Content-Length.
 * Build: scripts/dev fuzz problem (replayed by `make check` as t/fuzz/fuzz_problem).
 */
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/problem.h"
#include "core/utf8.h"
#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static const char *const codes[] = {
    "invalid_json", "bad_request", "unsupported_media_type", "method_not_allowed",
    "validation_failed", "not_found", "conflict", "forbidden", "unauthorized",
    "precondition_failed", "payload_too_large", "rate_limited", "dependency_unavailable",
    "internal", "invalid_transition", "idempotency_key_reused",
};
#define NCODES (sizeof(codes) / sizeof(codes[0]))

/* Next '\n'-terminated line of [*p, end), as an arena string; NULL at end. */
static char *
line(struct sp_arena *a, const char **p, const char *end)
{
    if (*p >= end)
        return NULL;
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    const char *e = nl ? nl : end;
    char *s = sp_arena_strndup(a, *p, (size_t)(e - *p));
    *p = nl ? nl + 1 : end;
    return s;
}

static const char *
member_str(struct json_object *o, const char *name)
{
    struct json_object *v;
    CHECK(json_object_object_get_ex(o, name, &v) && json_object_is_type(v, json_type_string));
    /* No NUL: every string we render was a C string. */
    CHECK(strlen(json_object_get_string(v)) == (size_t)json_object_get_string_len(v));
    return json_object_get_string(v);
}

/* Valid UTF-8 comes back as it was; anything else at least as valid UTF-8. */
static void
same_text(const char *got, const char *sent)
{
    if (sp_utf8_valid(sent, strlen(sent)))
        CHECK(strcmp(got, sent) == 0);
    else
        CHECK(sp_utf8_valid(got, strlen(got)) && strstr(got, "\xef\xbf\xbd") != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    sp_log_set_level(SP_LOG_FATAL);
    struct sp_arena a;
    sp_arena_init(&a, 4096);
    const char *p = (const char *)data + 2, *end = (const char *)data + size;
    struct sp_problem prob;
    sp_problem_init(&prob);
    const char *code = data[1] < NCODES ? codes[data[1]] : data[1] < 128 ? NULL : line(&a, &p, end);
    const char *detail = line(&a, &p, end);
    sp_problem_set(&prob, (enum sp_rc)(data[0] % (SP_ERROR + 1)), code, "%s",
                   detail ? detail : "");
    for (;;) {
        char *f = line(&a, &p, end), *c = line(&a, &p, end), *m = line(&a, &p, end);
        if (f == NULL || c == NULL || m == NULL)
            break;
        sp_problem_field(&prob, f, c, m);
    }

    struct sp_req r;
    memset(&r, 0, sizeof(r));
    r.arena = &a;
    r.method = SP_GET;
    r.request_id = "req-0123456789";
    sp_buf_init(&r.headers, &a, 256);
    sp_buf_init(&r.out, &a, 1024);
    sp_resp_problem(&r, &prob);

    /* Head: "Status: NNN ...", Content-Length, blank line, then the body. */
    CHECK(r.responded && r.out.len > 0);
    const char *out = r.out.data;
    const char *body = strstr(out, "\r\n\r\n");
    CHECK(body != NULL);
    body += 4;
    size_t blen = r.out.len - (size_t)(body - out);
    int status = sp_problem_status(&prob);
    char want[64];
    snprintf(want, sizeof(want), "Status: %d ", status);
    CHECK(strncmp(out, want, strlen(want)) == 0 && r.status == status);
    snprintf(want, sizeof(want), "\r\nContent-Length: %zu\r\n", blen);
    CHECK(strstr(out, want) != NULL && strstr(out, want) < body);

    struct json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    struct json_object *o = json_tokener_parse_ex(tok, body, (int)blen);
    CHECK(o != NULL && json_tokener_get_error(tok) == json_tokener_success);
    CHECK(json_tokener_get_parse_end(tok) == blen && json_object_is_type(o, json_type_object));
    json_tokener_free(tok);

    struct json_object *v;
    CHECK(json_object_object_get_ex(o, "status", &v) && json_object_get_int(v) == status);
    const char *rcode = member_str(o, "code");
    if (prob.code != NULL)
        same_text(rcode, prob.code);
    const char *type = sp_arena_sprintf(&a, "https://docs.support.example/errors/%s", rcode);
    if (prob.code == NULL || sp_utf8_valid(prob.code, strlen(prob.code)))
        CHECK(strcmp(member_str(o, "type"), type) == 0);
    CHECK(member_str(o, "title")[0] != '\0');
    CHECK(strcmp(member_str(o, "request_id"), r.request_id) == 0);
    const char *rdetail = member_str(o, "detail");
    if (status >= 500 && status != 503)
        CHECK(strcmp(rdetail, "an internal error occurred") == 0);
    else if (prob.detail[0] != '\0')
        same_text(rdetail, prob.detail);
    if (prob.nerrors == 0) {
        CHECK(!json_object_object_get_ex(o, "errors", NULL));
    } else {
        CHECK(json_object_object_get_ex(o, "errors", &v) &&
              json_object_array_length(v) == prob.nerrors);
        for (size_t i = 0; i < prob.nerrors; i++) {
            struct json_object *e = json_object_array_get_idx(v, i);
            same_text(member_str(e, "field"), prob.errors[i].field);
            same_text(member_str(e, "code"), prob.errors[i].code);
            same_text(member_str(e, "message"), prob.errors[i].message);
        }
    }
    json_object_put(o);
    sp_arena_destroy(&a);
    return 0;
}
