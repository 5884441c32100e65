/*
 * webhook_delivery: the deliveries of events to webhooks (API.md §11) —
 * one support_webhook_deliveries row per (event, webhook), queued in the
 * transaction of the change (the fan-out) or by a ping, and the sending
 * of one of them: the envelope POSTed as stored, signed
 *   Support-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 * (a second v1= with the previous secret during a rotation's overlap),
 * with Support-Event-Id, User-Agent support-webhooks/1, a 10 s timeout,
 * no redirects, and the SSRF guard applied again to the address the
 * request is pinned to.
 *
 * Claiming due rows, leases and backoff are support-dispatch's; this
 * module sends one delivery and records what the caller decided.
 * Must not: open a transaction, log a secret, follow a redirect, or send
 * to an address the guard refuses.
 */
#ifndef SP_WEBHOOK_DELIVERY_H
#define SP_WEBHOOK_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/problem.h"
#include "core/url_guard.h"
#include "domain/ctx.h"
#include "domain/webhooks.h"

#define SP_WEBHOOK_TIMEOUT_MS 10000
#define SP_WEBHOOK_USER_AGENT "support-webhooks/1"

struct sp_http_conn;

struct sp_webhook_delivery {
    long long id;
    long long webhook_id;
    const char *event_id;          /* "evt_…", the same on every attempt */
    const char *event_type;
    const char *payload;           /* the envelope {"id","type","created_at","data"}, sent as is */
    const char *status;            /* pending | delivered | failed */
    long long attempts;
    long long last_status_code;    /* 0: none yet */
    const char *last_error;        /* NULL: none */
    const char *next_attempt_at;   /* RFC 3339; NULL once delivered or failed */
    const char *delivered_at;      /* NULL until delivered */
    const char *created_at;
};

/* The webhooks a fan-out queued deliveries for. */
#define SP_WEBHOOK_QUEUED_IDS 16
struct sp_webhook_queued {
    long long rows;                             /* deliveries queued */
    long long webhooks[SP_WEBHOOK_QUEUED_IDS];  /* to these webhooks, each once */
    size_t nwebhooks;
    bool more;                                  /* and to others not listed */
};

/* A new event id: "evt_" + 24 lowercase hex characters. Arena-owned. */
const char *sp_webhook_event_id(struct sp_arena *a);

/* data_json (an event's data, a JSON object text) as a webhook with
 * redact_text gets it (API.md §11): the free text people wrote — the
 * ticket's subject and description, a message's body, an escalation's
 * reason — through core/redact (cards, e-mail addresses, phone numbers),
 * every other member as it was. data_json itself when there was nothing
 * to redact; NULL with p set (SP_ERROR) when it is no JSON object.
 * Arena-owned. Pure. */
const char *sp_webhook_redact_data(struct sp_arena *a, const char *data_json,
                                   struct sp_problem *p);

/* Queues the event for every active webhook subscribed to event_type, in
 * one INSERT … SELECT, in the caller's transaction (it opens none). The
 * envelope is {"id":event_id,"type":event_type,"created_at":created_at,
 * "data":data_json}; data_json must be a JSON object text (a webhook
 * with redact_text gets sp_webhook_redact_data's instead). An event
 * already queued for a webhook is not queued again (same event_id), so
 * relaying an outbox row twice is harmless. *queued (may be NULL; zero it
 * before the first of several fan-outs): the rows added and their
 * webhooks are added to it. */
enum sp_rc sp_webhook_fanout(struct sp_ctx *ctx, const char *event_id, const char *event_type,
                             const char *created_at, const char *data_json,
                             struct sp_webhook_queued *queued, struct sp_problem *p);

/* Queues a "ping" event for webhook id alone (data: {"webhook_id":id}).
 * SP_NOT_FOUND; SP_CONFLICT webhook_inactive. */
enum sp_rc sp_webhook_ping(struct sp_ctx *ctx, long long webhook_id,
                           struct sp_webhook_delivery *out, struct sp_problem *p);

/* Queues delivery_id of webhook_id again (redelivery, API.md §11): the
 * same row — event id, payload, attempts, last answer kept — pending and
 * due now, so the dispatcher sends it signed afresh and retries it as any
 * delivery within its event's 24 h (after them: one attempt). Only a
 * delivered or failed one. SP_NOT_FOUND (no such webhook, or no such
 * delivery of it); SP_CONFLICT webhook_inactive, delivery_pending. */
enum sp_rc sp_webhook_redeliver(struct sp_ctx *ctx, long long webhook_id, long long delivery_id,
                                struct sp_webhook_delivery *out, struct sp_problem *p);

/* One delivery by id (SP_NOT_FOUND). */
enum sp_rc sp_webhook_delivery_get(struct sp_ctx *ctx, long long id,
                                   struct sp_webhook_delivery *out, struct sp_problem *p);
/* A delivery's statuses, as sp_webhook_delivery_statuses names them
 * (NULL-terminated, in this order): the deliveries log's filter. */
enum { SP_WEBHOOK_DELIVERY_STATUS_MAX = 3 };
extern const char *const sp_webhook_delivery_statuses[SP_WEBHOOK_DELIVERY_STATUS_MAX + 1];

/* A webhook's deliveries, newest first (after: 0 or the last id of the
 * previous page); with statuses (indexes of sp_webhook_delivery_statuses),
 * only those whose status is flagged. SP_NOT_FOUND when there is no such
 * webhook. */
enum sp_rc sp_webhook_deliveries(struct sp_ctx *ctx, long long webhook_id,
                                 const bool statuses[SP_WEBHOOK_DELIVERY_STATUS_MAX],
                                 long long after, int limit, struct sp_webhook_delivery **items,
                                 size_t *n, long long *next, struct sp_problem *p);

/* How one attempt went. */
struct sp_webhook_attempt {
    bool delivered;         /* a 2xx answer */
    bool final;             /* retrying cannot help: the webhook is gone */
    /* The webhook is inactive (paused): the delivery waits, pending, due
     * again at once; support-dispatch claims it only once the webhook is
     * active again, until its event is a day old (then failed). */
    bool paused;
    long status_code;       /* the answer's status; 0 when none arrived */
    /* "" when delivered, else a short stable code (API.md §11): http_<status>,
     * core/http_client's (timeout, tls_failed, …), webhook_inactive,
     * secret_unavailable, url_refused; never a secret, never libcurl's text */
    char error[160];
    /* A request went out to the receiver (answered or not). A refusal
     * before sending (inactive, secret, guard) is no attempt: it leaves
     * the delivery's attempts and last_status_code as they were. */
    bool sent;
};

/* The Support-Signature value for body at unix time t, one v1= per
 * secret (the current first). Arena-owned. Pure. */
const char *sp_webhook_signature(struct sp_arena *a, long long t, const char *body, size_t len,
                                 const char *const *secrets, size_t nsecrets);

/* Where a webhook's deliveries go now: its URL checked by the SSRF guard
 * and the address it resolved to (the pin), and its signing secrets.
 * Arena-owned (ctx->arena): keep the arena while sending with it. */
struct sp_webhook_target {
    const char *url;
    struct sp_url_target to;
    const char *secrets[2];        /* current, then previous during an overlap */
    size_t nsecrets;
    bool allow_loopback;
    bool usable;                   /* false: every attempt ends as refused says */
    struct sp_webhook_attempt refused;
};

/* Reads webhook_id (URL, active, secrets, opened with env->crypto) and
 * applies the SSRF guard to its URL and the addresses it resolves to
 * now. SP_OK with t->usable false when the webhook is inactive (paused),
 * its secret cannot be opened or the guard refuses; SP_NOT_FOUND when it
 * is gone; SP_UNAVAILABLE/SP_ERROR when it could not be read. */
enum sp_rc sp_webhook_target_open(struct sp_ctx *ctx, const struct sp_webhook_env *env,
                                  long long webhook_id, struct sp_webhook_target *t,
                                  struct sp_problem *p);
/* One attempt of d to t: signed now, POSTed pinned to t's checked
 * address (every new connection's address checked again by the guard's
 * rule before its socket opens), on conn when given (a kept connection:
 * keep-alive; NULL: a connection of its own). Blocks up to
 * SP_WEBHOOK_TIMEOUT_MS. Records nothing. */
void sp_webhook_send(struct sp_ctx *ctx, const struct sp_webhook_target *t,
                     struct sp_http_conn *conn, const struct sp_webhook_delivery *d,
                     struct sp_webhook_attempt *out);

/* Sends d now: reads its webhook (URL, active, secrets, opened with
 * env->crypto), checks the URL and the address it resolves to with the
 * SSRF guard (env->allow_loopback), and POSTs d->payload pinned to that
 * address. Blocks up to SP_WEBHOOK_TIMEOUT_MS. SP_OK when the attempt was
 * made or refused (*out says which); SP_NOT_FOUND when the webhook is
 * gone; SP_UNAVAILABLE/SP_ERROR when it could not be read. Records
 * nothing: see sp_webhook_record. Call it outside any transaction. */
enum sp_rc sp_webhook_deliver(struct sp_ctx *ctx, const struct sp_webhook_env *env,
                              const struct sp_webhook_delivery *d,
                              struct sp_webhook_attempt *out, struct sp_problem *p);

/* Records an attempt of delivery id: when a->sent, attempts + 1 and
 * last_status_code (null without an answer); last_error in any case (a
 * refusal's reason beside the receiver's last answer); delivered →
 * status delivered, delivered_at now; otherwise
 * pending again at retry_at_ms (ms since the epoch), or failed when
 * retry_at_ms is 0 or the attempt is final. SP_NOT_FOUND. */
enum sp_rc sp_webhook_record(struct sp_ctx *ctx, long long delivery_id,
                             const struct sp_webhook_attempt *a, long long retry_at_ms,
                             struct sp_problem *p);

/* The outcome of one attempt, for sp_webhook_record_batch. */
struct sp_webhook_outcome {
    long long id;
    struct sp_webhook_attempt attempt;
    long long retry_at_ms;         /* as sp_webhook_record's */
    bool slow;                     /* took a second or more: the webhook is failing */
};
/* sp_webhook_record for n attempts in one statement (rows gone are
 * skipped; SP_NOT_FOUND when all are). The last outcome is also its
 * webhook's (last_delivered_at when delivered and not slow, else
 * last_failed_at: sql/083), which the sender's scheduler reads. */
enum sp_rc sp_webhook_record_batch(struct sp_ctx *ctx, const struct sp_webhook_outcome *o,
                                   size_t n, struct sp_problem *p);

#endif
