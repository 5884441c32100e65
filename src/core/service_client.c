/*
 * service_client: JSON calls with retries. See service_client.h.
 */
#include "core/service_client.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/http_client.h"

static const long backoff_ms[] = {250, 1000};
#define MAX_ATTEMPTS 3

static void
pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static bool
worth_retrying(bool answered, long status)
{
    return !answered || status == 429 || status >= 500;
}

/* One attempt; the headers say who we are and what we send. */
static bool
attempt(const struct sp_service *svc, const char *method, const char *url, const char *json,
        const char *const *headers, struct sp_buf *body, struct sp_http_result *res)
{
    body->len = 0;
    body->data[0] = '\0';
    struct sp_http_post req = {
        .method = method,
        .url = url,
        .headers = headers,
        .body = json,
        .body_len = json ? strlen(json) : 0,
        .timeout_ms = svc->timeout_ms > 0 ? svc->timeout_ms : 5000,
        .response = body,
    };
    return sp_http_post(&req, res);
}

enum sp_rc
sp_service_call(struct sp_arena *a, const struct sp_service *svc, const char *method,
                const char *path, const char *json, const char *idempotency_key,
                struct sp_service_reply *out, struct sp_problem *p)
{
    *out = (struct sp_service_reply){0, "", 0, 0};
    if (svc->base_url == NULL || *svc->base_url == '\0')
        return sp_problem_set(p, SP_UNAVAILABLE, "dependency_unavailable",
                              "the %s is not configured", svc->name);
    bool write = strcmp(method, "GET") != 0;
    const char *headers[5] = {"Accept: application/json", NULL, NULL, NULL, NULL};
    size_t h = 1;
    if (write)
        headers[h++] = "Content-Type: application/json";
    if (svc->key != NULL && *svc->key != '\0')
        headers[h++] = sp_arena_sprintf(a, "Authorization: Bearer %s", svc->key);
    if (idempotency_key != NULL)
        headers[h++] = sp_arena_sprintf(a, "Idempotency-Key: %s", idempotency_key);
    const char *url = sp_arena_sprintf(a, "%s%s", svc->base_url, path);
    int tries = write && idempotency_key == NULL ? 1 : MAX_ATTEMPTS;
    struct sp_buf body;
    sp_buf_init(&body, a, 1024);
    struct sp_http_result res = {0, ""};
    bool answered = false;
    for (int i = 0; i < tries; i++) {
        if (i > 0)
            pause_ms(backoff_ms[i - 1]);
        out->attempts = i + 1;
        answered = attempt(svc, method, url, json, headers, &body, &res);
        if (!worth_retrying(answered, res.status))
            break;
    }
    out->status = res.status;
    out->body = body.data;
    out->body_len = body.len;
    if (!answered)
        return sp_problem_set(p, SP_UNAVAILABLE, "dependency_unavailable",
                              "the %s did not answer (%s)", svc->name, res.error);
    if (worth_retrying(true, res.status))
        return sp_problem_set(p, SP_UNAVAILABLE, "dependency_unavailable",
                              "the %s answered %ld", svc->name, res.status);
    return SP_OK;
}
