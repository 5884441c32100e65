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

static long
now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)(t.tv_sec * 1000 + t.tv_nsec / 1000000);
}

/* One attempt of at most timeout_ms; the headers say who we are and what
 * we send. */
static bool
attempt(size_t response_max, long timeout_ms, const char *method, const char *url,
        const char *json, const char *const *headers, struct sp_buf *body,
        struct sp_http_result *res)
{
    body->len = 0;
    body->data[0] = '\0';
    struct sp_http_post req = {
        .method = method,
        .url = url,
        .headers = headers,
        .body = json,
        .body_len = json ? strlen(json) : 0,
        .timeout_ms = timeout_ms,
        .response = body,
        .response_max = response_max,
    };
    return sp_http_post(&req, res);
}

enum sp_rc
sp_service_call(struct sp_arena *a, const struct sp_service *svc, const char *method,
                const char *path, const char *json, const char *idempotency_key,
                struct sp_service_reply *out, struct sp_problem *p)
{
    return sp_service_call_with(a, svc, NULL, method, path, json, idempotency_key, out, p);
}

enum sp_rc
sp_service_call_with(struct sp_arena *a, const struct sp_service *svc,
                     const struct sp_service_limits *lim, const char *method, const char *path,
                     const char *json, const char *idempotency_key,
                     struct sp_service_reply *out, struct sp_problem *p)
{
    static const struct sp_service_limits defaults = {false, 0, 0};
    if (lim == NULL)
        lim = &defaults;
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
    int tries = write && idempotency_key == NULL && !lim->retry_posts ? 1 : MAX_ATTEMPTS;
    struct sp_buf body;
    sp_buf_init(&body, a, 1024);
    struct sp_http_result res = {0, "", NULL};
    bool answered = false;
    long per_attempt = svc->timeout_ms > 0 ? svc->timeout_ms : 5000;
    long deadline = lim->budget_ms > 0 ? now_ms() + lim->budget_ms : 0;
    for (int i = 0; i < tries; i++) {
        long timeout = per_attempt;
        if (i > 0 && deadline != 0 && now_ms() + backoff_ms[i - 1] >= deadline)
            break;
        if (i > 0)
            pause_ms(backoff_ms[i - 1]);
        if (deadline != 0 && deadline - now_ms() < timeout)
            timeout = deadline - now_ms() > 1 ? deadline - now_ms() : 1;
        out->attempts = i + 1;
        answered = attempt(lim->response_max, timeout, method, url, json, headers, &body, &res);
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
