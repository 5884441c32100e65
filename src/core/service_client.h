/*
 * service_client: synchronous JSON calls to the marketplace's own services
 * (booking at SUPPORT_BOOKING_URL, payments at SUPPORT_PAYMENTS_URL; API.md
 * §9 tools, §11 booking hooks) — one place for their timeouts, bearer
 * keys, idempotency keys and retries, over core/http_client.
 *
 * Retries: a transport failure, 429 or 5xx is tried again (after 250 ms,
 * then 1 s) for reads, and for writes only when they carry an
 * Idempotency-Key (the service de-duplicates by it, so a retried write
 * cannot happen twice), or when the caller says its POSTs only compute
 * (limits.retry_posts: a model's chat completion or embeddings). Other answers
 * are returned as they are.
 * Blocking: for jobs, tool calls and the AI provider, bounded by
 * timeout_ms per attempt and, when limits.budget_ms is set, by it for the
 * whole call, pauses included (an attempt gets what is left; none starts
 * when the pause would use it up).
 * Must not: know SQL or any concept of ours beyond "a JSON service"; log
 * (callers record outcomes); put the key anywhere but the header.
 */
#ifndef SP_SERVICE_CLIENT_H
#define SP_SERVICE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/problem.h"

struct sp_arena;

struct sp_service {
    const char *name;        /* for messages: "booking service" */
    const char *base_url;    /* NULL or "": not configured */
    const char *key;         /* bearer key; NULL: none */
    long timeout_ms;         /* per attempt */
};

/* What some callers need beyond the defaults (sp_service_call_with). */
struct sp_service_limits {
    bool retry_posts;        /* POSTs have no side effect: retried like reads */
    long budget_ms;          /* the whole call, retries included; 0: no bound */
    size_t response_max;     /* bytes of an answer read at most; 0: 64 KiB */
};

struct sp_service_reply {
    long status;             /* the last answer's status */
    const char *body;        /* its body (arena, NUL-terminated), "" when none */
    size_t body_len;
    int attempts;
};

/* method "GET" or "POST" (json then is the body) of base_url + path.
 * SP_OK with *out for any answer after the retries; SP_UNAVAILABLE
 * (503 dependency_unavailable) when the service is not configured or
 * never answered, or still answers 429/5xx. */
enum sp_rc sp_service_call(struct sp_arena *a, const struct sp_service *svc, const char *method,
                           const char *path, const char *json, const char *idempotency_key,
                           struct sp_service_reply *out, struct sp_problem *p);
/* The same within limits (NULL: the defaults, as sp_service_call). */
enum sp_rc sp_service_call_with(struct sp_arena *a, const struct sp_service *svc,
                                const struct sp_service_limits *lim, const char *method,
                                const char *path, const char *json, const char *idempotency_key,
                                struct sp_service_reply *out, struct sp_problem *p);

#endif
