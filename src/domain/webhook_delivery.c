/*
 * webhook_delivery: queueing, signing and sending deliveries. See
 * webhook_delivery.h.
 *
 * The body sent is the stored envelope's jsonb text: the same bytes on
 * every attempt, and the bytes signed. The key of the HMAC is the secret
 * as shown to the admin ("whsec_…", ASCII).
 */
#include "domain/webhook_delivery.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/http_client.h"
#include "core/ids.h"
#include "core/json.h"
#include "core/json_writer.h"
#include "core/redact.h"
#include "core/url_guard.h"
#include "db/db.h"

/* While a sender's lease holds (next_attempt_at is its end, a minute
 * ahead), the attempt in flight shows as due when it started (sql/079). */
#define NEXT_AT_SHOWN                                                                        \
    "CASE WHEN d.sending_since IS NOT NULL AND d.next_attempt_at > now()"                    \
    " THEN d.sending_since ELSE d.next_attempt_at END"
#define DELIVERY_COLUMNS(C, SEP)                                                             \
    C(DC_ID, "d.id", int, id) SEP C(DC_WEBHOOK_ID, "d.webhook_id", int, webhook_id)          \
    SEP C(DC_EVENT_ID, "d.event_id", str, event_id)                                          \
    SEP C(DC_EVENT_TYPE, "d.event_type", str, event_type)                                    \
    SEP C(DC_PAYLOAD, "d.payload::text", str, payload)                                       \
    SEP C(DC_STATUS, "d.status", str, status)                                                \
    SEP C(DC_ATTEMPTS, "d.attempts", int, attempts)                                          \
    SEP C(DC_LAST_STATUS, "coalesce(d.last_status_code, 0)", int, last_status_code)          \
    SEP C(DC_LAST_ERROR, "d.last_error", str, last_error)                                    \
    SEP C(DC_NEXT_AT, "CASE WHEN d.status = 'pending' THEN support_ts(" NEXT_AT_SHOWN ") END", \
          str, next_attempt_at)                                                              \
    SEP C(DC_DELIVERED_AT, "support_ts(d.delivered_at)", str, delivered_at)                  \
    SEP C(DC_CREATED_AT, "support_ts(d.created_at)", str, created_at)
#define DELIVERY_COLS DELIVERY_COLUMNS(SP_COL_SQL, ", ")
enum delivery_column { DELIVERY_COLUMNS(SP_COL_ENUM, ) DC_COUNT };

SP_ROW_READER(read_delivery, struct sp_webhook_delivery, DELIVERY_COLUMNS)

/* One row per active subscriber; a repeated event adds nothing. A
 * webhook that asks for its text redacted stores $5, the data with it
 * redacted (NULL when there was nothing to redact: the data as is). */
static struct sp_stmt fanout_stmt = SP_STMT(
    "webhook_fanout",
    "INSERT INTO support_webhook_deliveries (webhook_id, event_id, event_type, payload)"
    " SELECT w.id, $1, $2, jsonb_build_object('id', $1::text, 'type', $2::text,"
    "  'created_at', $3::text, 'data',"
    "  CASE WHEN w.redact_text THEN coalesce($5::jsonb, $4::jsonb) ELSE $4::jsonb END)"
    " FROM support_webhooks w"
    " WHERE w.is_active AND w.events @> ARRAY[$2::text]"
    " ON CONFLICT (event_id, webhook_id) DO NOTHING"
    " RETURNING webhook_id",
    5);

static struct sp_stmt ping_stmt = SP_STMT(
    "webhook_ping",
    "INSERT INTO support_webhook_deliveries AS d (webhook_id, event_id, event_type, payload)"
    " SELECT w.id, $2, 'ping', jsonb_build_object('id', $2::text, 'type', 'ping',"
    "  'created_at', support_ts(now()), 'data', jsonb_build_object('webhook_id', w.id))"
    " FROM support_webhooks w WHERE w.id = $1::bigint AND w.is_active"
    " RETURNING " DELIVERY_COLS,
    2);

/* A finished delivery of an active webhook pending again, due now. */
static struct sp_stmt redeliver_stmt = SP_STMT(
    "webhook_redeliver",
    "UPDATE support_webhook_deliveries AS d SET status = 'pending', next_attempt_at = now(),"
    " delivered_at = NULL"
    " FROM support_webhooks w"
    " WHERE d.id = $2::bigint AND d.webhook_id = $1::bigint AND w.id = d.webhook_id"
    "  AND w.is_active AND d.status <> 'pending'"
    " RETURNING " DELIVERY_COLS,
    2);

static struct sp_stmt delivery_get_stmt = SP_STMT_READ(
    "webhook_delivery_get",
    "SELECT " DELIVERY_COLS " FROM support_webhook_deliveries d WHERE d.id = $1::bigint", 1);

/* $2: the statuses asked for, NULL for all. */
static struct sp_stmt deliveries_stmt = SP_STMT_READ(
    "webhook_deliveries",
    "SELECT " DELIVERY_COLS " FROM support_webhook_deliveries d"
    " WHERE d.webhook_id = $1::bigint AND ($2::text[] IS NULL OR d.status = ANY ($2::text[]))"
    " AND ($3::bigint = 0 OR d.id < $3::bigint)"
    " ORDER BY d.id DESC LIMIT $4::integer",
    4);

/* What sending needs of the webhook: the previous secret only while it
 * still signs. */
enum { TC_URL, TC_ACTIVE, TC_SECRET, TC_PREVIOUS };
static struct sp_stmt target_stmt = SP_STMT_READ(
    "webhook_target",
    "SELECT w.url, w.is_active, w.secret_enc,"
    " CASE WHEN w.previous_secret_until > now() THEN w.previous_secret_enc END"
    " FROM support_webhooks w WHERE w.id = $1::bigint",
    1);

/* Outcomes of several attempts in one statement ($1: a JSON array of
 * {"id","code","error","delivered","sent","retry_at","ok","last"}, $2
 * their ids: the rows are found by the primary key whatever the
 * function's row estimate): attempts + 1 and the answer's status for a
 * request sent (the log counts what the receiver got; a refusal keeps
 * its last answer); delivered, or pending again at retry_at (ms since
 * the epoch), or failed when it is null. The last outcome ("last") is
 * also its webhook's (sql/083, for the sender's scheduler): "ok" (quick
 * and delivered) sets last_delivered_at, else last_failed_at. */
static struct sp_stmt record_batch_stmt = SP_STMT(
    "webhook_record_batch",
    "WITH o AS (SELECT * FROM jsonb_to_recordset($1::jsonb)"
    "  AS o(id bigint, code integer, error text, delivered boolean, sent boolean,"
    "       retry_at bigint, ok boolean, last boolean)),"
    " w AS (UPDATE support_webhooks w"
    "  SET last_delivered_at = CASE WHEN o.ok THEN now() ELSE w.last_delivered_at END,"
    "   last_failed_at = CASE WHEN o.ok THEN w.last_failed_at ELSE now() END"
    "  FROM o, support_webhook_deliveries ld"
    "  WHERE o.last AND ld.id = o.id AND ld.id = ANY($2::bigint[]) AND w.id = ld.webhook_id)"
    " UPDATE support_webhook_deliveries d SET attempts = d.attempts + o.sent::integer,"
    " last_status_code = CASE WHEN o.sent THEN nullif(o.code, 0) ELSE d.last_status_code END,"
    " last_error = o.error,"
    " status = CASE WHEN o.delivered THEN 'delivered'"
    "               WHEN o.retry_at IS NULL THEN 'failed' ELSE 'pending' END,"
    " delivered_at = CASE WHEN o.delivered THEN now() END,"
    " sending_since = NULL,"
    " next_attempt_at = coalesce('epoch'::timestamptz + o.retry_at * interval '1 millisecond',"
    "                            d.next_attempt_at)"
    " FROM o WHERE d.id = o.id AND d.id = ANY($2::bigint[])",
    2);

/* --- queueing ----------------------------------------------------------------- */

const char *
sp_webhook_event_id(struct sp_arena *a)
{
    char hex[25];
    sp_random_hex(hex, 12);
    return sp_arena_sprintf(a, "evt_%s", hex);
}

/* The members of an event's data that hold what people wrote (API.md
 * §11): {the object member they are in, or NULL for the data itself;
 * the member}. A chat event carries no text (a chat's transcript is its
 * ticket's description). Everything else — ids, statuses, timestamps,
 * booking ids, file names, the ticket's metadata — is structured and
 * never passes through the redactor, which would read an id as a phone
 * number. */
static const char *const free_text[][2] = {
    {"ticket", "subject"}, {"ticket", "description"}, {"message", "body"}, {NULL, "reason"},
};

/* Redacts the string member key of o (when it is one); whether it
 * changed. */
static bool
redact_member(struct sp_arena *a, struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return false;
    size_t n = 0;
    const char *text = sp_redact(a, json_object_get_string(v),
                                 (size_t)json_object_get_string_len(v), &n);
    /* nothing found: the text as written, not its normalised form */
    if (n == 0)
        return false;
    json_object_object_add(o, key, json_object_new_string(text));
    return true;
}

const char *
sp_webhook_redact_data(struct sp_arena *a, const char *data_json, struct sp_problem *p)
{
    /* deeper than a request body may be: a ticket's metadata, up to 31
     * levels in its create, sits two levels down here */
    struct json_tokener *tok = json_tokener_new_ex(64);
    struct json_object *data = NULL;
    bool ok = false;
    if (tok != NULL) {
        data = json_tokener_parse_ex(tok, data_json, -1);
        ok = json_tokener_get_error(tok) == json_tokener_success;
        json_tokener_free(tok);
    }
    sp_json_release_with(a, data);
    if (!ok || !json_object_is_type(data, json_type_object)) {
        sp_problem_set(p, SP_ERROR, "internal", "an event's data is no JSON object to redact");
        return NULL;
    }
    bool changed = false;
    for (size_t i = 0; i < sizeof(free_text) / sizeof(free_text[0]); i++) {
        struct json_object *in = data;
        if (free_text[i][0] != NULL && !json_object_object_get_ex(data, free_text[i][0], &in))
            continue;
        changed |= redact_member(a, in, free_text[i][1]);
    }
    if (!changed)
        return data_json;
    return sp_arena_strdup(a, json_object_to_json_string_ext(
                                  data, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* Adds webhook to q's set (once). */
static void
queued_add(struct sp_webhook_queued *q, long long webhook)
{
    for (size_t i = 0; i < q->nwebhooks; i++)
        if (q->webhooks[i] == webhook)
            return;
    if (q->nwebhooks < SP_WEBHOOK_QUEUED_IDS)
        q->webhooks[q->nwebhooks++] = webhook;
    else
        q->more = true;
}

enum sp_rc
sp_webhook_fanout(struct sp_ctx *ctx, const char *event_id, const char *event_type,
                  const char *created_at, const char *data_json, struct sp_webhook_queued *queued,
                  struct sp_problem *p)
{
    const char *redacted = sp_webhook_redact_data(ctx->arena, data_json, p);
    if (redacted == NULL)
        return p->rc;   /* never the text as written instead: fail, retried */
    const char *params[5] = {event_id, event_type, created_at, data_json,
                             redacted != data_json ? redacted : NULL};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &fanout_stmt, params, p);
    if (r == NULL)
        return p->rc;
    if (queued != NULL) {
        queued->rows += PQntuples(r);
        for (int i = 0; i < PQntuples(r); i++)
            queued_add(queued, sp_db_int(r, i, 0));
    }
    return SP_OK;
}

enum sp_rc
sp_webhook_ping(struct sp_ctx *ctx, long long webhook_id, struct sp_webhook_delivery *out,
                struct sp_problem *p)
{
    struct sp_webhook w;
    if (sp_webhook_get(ctx, webhook_id, &w, p) != SP_OK)
        return p->rc;
    const char *params[2] = {sp_arena_sprintf(ctx->arena, "%lld", webhook_id),
                             sp_webhook_event_id(ctx->arena)};
    return sp_db_one_or(ctx->db, ctx->arena, &ping_stmt, params, SP_CONFLICT, "webhook_inactive",
                        "the webhook is inactive: activate it to ping it", read_delivery, out,
                        p);
}

enum sp_rc
sp_webhook_delivery_get(struct sp_ctx *ctx, long long id, struct sp_webhook_delivery *out,
                        struct sp_problem *p)
{
    const char *params[1] = {sp_arena_sprintf(ctx->arena, "%lld", id)};
    return sp_db_one(ctx->db, ctx->arena, &delivery_get_stmt, params, "delivery", read_delivery,
                     out, p);
}

enum sp_rc
sp_webhook_redeliver(struct sp_ctx *ctx, long long webhook_id, long long delivery_id,
                     struct sp_webhook_delivery *out, struct sp_problem *p)
{
    struct sp_webhook w;
    if (sp_webhook_get(ctx, webhook_id, &w, p) != SP_OK ||
        sp_webhook_delivery_get(ctx, delivery_id, out, p) != SP_OK)
        return p->rc;
    if (out->webhook_id != webhook_id)   /* another webhook's: not this one's to resend */
        return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such delivery");
    if (!w.is_active)
        return sp_problem_set(p, SP_CONFLICT, "webhook_inactive",
                              "the webhook is inactive: activate it to redeliver");
    static const char pending[] = "the delivery is still pending: it will be sent";
    if (strcmp(out->status, "pending") == 0)
        return sp_problem_set(p, SP_CONFLICT, "delivery_pending", pending);
    const char *params[2] = {sp_arena_sprintf(ctx->arena, "%lld", webhook_id),
                             sp_arena_sprintf(ctx->arena, "%lld", delivery_id)};
    /* changed since it was read (queued again, deactivated): as if pending */
    return sp_db_one_or(ctx->db, ctx->arena, &redeliver_stmt, params, SP_CONFLICT,
                        "delivery_pending", pending, read_delivery, out, p);
}

const char *const sp_webhook_delivery_statuses[SP_WEBHOOK_DELIVERY_STATUS_MAX + 1] = {
    "pending", "delivered", "failed", NULL};

enum sp_rc
sp_webhook_deliveries(struct sp_ctx *ctx, long long webhook_id,
                      const bool statuses[SP_WEBHOOK_DELIVERY_STATUS_MAX], long long after,
                      int limit, struct sp_webhook_delivery **items, size_t *n, long long *next,
                      struct sp_problem *p)
{
    struct sp_webhook w;
    if (sp_webhook_get(ctx, webhook_id, &w, p) != SP_OK)
        return p->rc;
    const char *names[SP_WEBHOOK_DELIVERY_STATUS_MAX];
    size_t nnames = 0;
    for (size_t i = 0; statuses != NULL && i < SP_WEBHOOK_DELIVERY_STATUS_MAX; i++)
        if (statuses[i])
            names[nnames++] = sp_webhook_delivery_statuses[i];
    const char *params[4] = {
        sp_arena_sprintf(ctx->arena, "%lld", webhook_id),
        statuses != NULL ? sp_db_text_array(ctx->arena, names, nnames) : NULL,
        sp_arena_sprintf(ctx->arena, "%lld", after), sp_db_page_fetch(ctx->arena, limit)};
    *items = sp_db_page_read(ctx->db, ctx->arena, &deliveries_stmt, params, limit, "id",
                             sizeof(**items), read_delivery, n, next, p);
    return *items != NULL ? SP_OK : p->rc;
}

/* --- signing ------------------------------------------------------------------ */

const char *
sp_webhook_signature(struct sp_arena *a, long long t, const char *body, size_t len,
                     const char *const *secrets, size_t nsecrets)
{
    struct sp_buf msg, out;
    sp_buf_init(&msg, a, len + 24);
    sp_buf_printf(&msg, "%lld.", t);
    sp_buf_append(&msg, body, len);
    sp_buf_init(&out, a, 32 + nsecrets * 72);
    sp_buf_printf(&out, "t=%lld", t);
    for (size_t i = 0; i < nsecrets; i++) {
        char mac[64 + 1];
        sp_crypto_hmac_hex(secrets[i], strlen(secrets[i]), msg.data, msg.len, mac, 64);
        sp_buf_puts(&out, ",v1=");
        sp_buf_puts(&out, mac);
    }
    return out.data;
}

/* --- sending ------------------------------------------------------------------ */

static bool
attempt_fail(struct sp_webhook_attempt *out, bool final, const char *why)
{
    snprintf(out->error, sizeof(out->error), "%s", why);
    out->final = final;
    return false;
}

/* The secrets that sign: current, then previous during an overlap. */
static size_t
open_secrets(struct sp_ctx *ctx, const struct sp_webhook_env *env, long long webhook_id,
             const PGresult *r, const char *secrets[2])
{
    if (env->crypto == NULL)
        return 0;
    const char *aad = sp_arena_sprintf(ctx->arena, "webhook:secret:%lld", webhook_id);
    size_t n = 0;
    for (int col = TC_SECRET; col <= TC_PREVIOUS; col++) {
        const char *sealed = sp_db_str(r, 0, col);
        const char *s = sealed ? sp_crypto_decrypt(env->crypto, ctx->arena, sealed, aad) : NULL;
        if (s == NULL && col == TC_SECRET)
            return 0;
        if (s != NULL)
            secrets[n++] = s;
    }
    return n;
}

struct pin_rule {
    const struct sp_url *url;
    bool allow_loopback;
};

static bool
address_ok(const struct sockaddr *sa, void *arg)
{
    const struct pin_rule *rule = arg;
    return sp_url_address_allowed(rule->url, sa, rule->allow_loopback);
}

/* POSTs d's payload to t's URL, pinned to the address the guard checked
 * (on conn when given: keep-alive). */
static void
post(struct sp_ctx *ctx, const struct sp_webhook_target *t, struct sp_http_conn *conn,
     const struct sp_webhook_delivery *d, const char *signature, struct sp_webhook_attempt *out)
{
    const char *headers[] = {
        "Content-Type: application/json", "User-Agent: " SP_WEBHOOK_USER_AGENT,
        sp_arena_sprintf(ctx->arena, "Support-Event-Id: %s", d->event_id),
        sp_arena_sprintf(ctx->arena, "Support-Signature: %s", signature), NULL};
    enum sp_addr_class literal;
    bool is_literal = sp_addr_classify_text(t->to.url.host, &literal);
    struct pin_rule rule = {&t->to.url, t->allow_loopback};
    struct sp_http_post req = {
        .url = t->url, .pin_host = t->to.url.host, .pin_port = t->to.url.port,
        .pin_addr = is_literal ? NULL : t->to.addr, .pin_ipv6 = t->to.addr_is_ipv6,
        .headers = headers, .body = d->payload, .body_len = strlen(d->payload),
        .timeout_ms = SP_WEBHOOK_TIMEOUT_MS, .address_ok = address_ok, .address_arg = &rule,
        .conn = conn};
    struct sp_http_result res;
    bool ok = sp_http_post(&req, &res);
    /* Refused at connect (the pin's check): nothing went to anyone. */
    out->sent = ok || res.code == NULL || strcmp(res.code, "address_refused") != 0;
    if (!ok) {
        attempt_fail(out, false, res.code);   /* a code: libcurl's text is not for the log */
        return;
    }
    out->status_code = res.status;
    out->delivered = res.status >= 200 && res.status <= 299;
    if (!out->delivered)
        snprintf(out->error, sizeof(out->error), "http_%ld", res.status);
}

/* No delivery can go to t now: why, in t->refused. True (for chaining). */
static bool
refuse(struct sp_webhook_target *t, bool final, const char *why)
{
    t->usable = false;
    attempt_fail(&t->refused, final, why);
    return true;
}

enum sp_rc
sp_webhook_target_open(struct sp_ctx *ctx, const struct sp_webhook_env *env, long long webhook_id,
                       struct sp_webhook_target *t, struct sp_problem *p)
{
    memset(t, 0, sizeof(*t));
    t->usable = true;
    t->allow_loopback = env->allow_loopback;
    PGresult *r = sp_db_exec_id(ctx->db, ctx->arena, &target_stmt, webhook_id, p);
    if (sp_db_found(r, "webhook", p) != SP_OK)
        return p->rc;
    if (!sp_db_bool(r, 0, TC_ACTIVE) && refuse(t, false, "webhook_inactive")) {
        t->refused.paused = true;   /* waits for the webhook, not lost (API.md §11) */
        return SP_OK;
    }
    t->nsecrets = open_secrets(ctx, env, webhook_id, r, t->secrets);
    if (t->nsecrets == 0 && refuse(t, false, "secret_unavailable"))
        return SP_OK;
    t->url = sp_arena_strdup(ctx->arena, sp_db_str(r, 0, TC_URL));
    char why[96];
    if (sp_url_guard(t->url, env->allow_loopback, &t->to, why, sizeof(why)) != SP_URL_OK)
        refuse(t, false, "url_refused");
    return SP_OK;
}

void
sp_webhook_send(struct sp_ctx *ctx, const struct sp_webhook_target *t, struct sp_http_conn *conn,
                const struct sp_webhook_delivery *d, struct sp_webhook_attempt *out)
{
    if (!t->usable) {
        *out = t->refused;
        return;
    }
    *out = (struct sp_webhook_attempt){0};
    long long now = (long long)(sp_clock_now_ms() / 1000);
    const char *signature = sp_webhook_signature(ctx->arena, now, d->payload,
                                                 strlen(d->payload), t->secrets, t->nsecrets);
    post(ctx, t, conn, d, signature, out);
}

enum sp_rc
sp_webhook_deliver(struct sp_ctx *ctx, const struct sp_webhook_env *env,
                   const struct sp_webhook_delivery *d, struct sp_webhook_attempt *out,
                   struct sp_problem *p)
{
    *out = (struct sp_webhook_attempt){0};
    struct sp_webhook_target t;
    if (sp_webhook_target_open(ctx, env, d->webhook_id, &t, p) != SP_OK)
        return p->rc;
    sp_webhook_send(ctx, &t, NULL, d, out);
    return SP_OK;
}

enum sp_rc
sp_webhook_record(struct sp_ctx *ctx, long long delivery_id, const struct sp_webhook_attempt *a,
                  long long retry_at_ms, struct sp_problem *p)
{
    struct sp_webhook_outcome o = {delivery_id, *a, retry_at_ms, false};
    return sp_webhook_record_batch(ctx, &o, 1, p);
}

enum sp_rc
sp_webhook_record_batch(struct sp_ctx *ctx, const struct sp_webhook_outcome *o, size_t n,
                        struct sp_problem *p)
{
    if (n == 0)
        return SP_OK;
    struct sp_buf b;
    sp_buf_init(&b, ctx->arena, 64 + n * 96);
    long long *ids = sp_arena_alloc(ctx->arena, n * sizeof(*ids));
    struct sp_jw w;
    sp_jw_begin_array(&w, &b);
    for (size_t i = 0; i < n; i++) {
        const struct sp_webhook_attempt *a = &o[i].attempt;
        ids[i] = o[i].id;
        bool retry = !a->delivered && !a->final && o[i].retry_at_ms > 0;
        sp_jw_object(&w);
        sp_jw_kint(&w, "id", o[i].id);
        sp_jw_kint(&w, "code", a->status_code);
        sp_jw_kstr(&w, "error", a->delivered ? NULL : a->error);
        sp_jw_kbool(&w, "delivered", a->delivered);
        sp_jw_kbool(&w, "sent", a->sent);
        sp_jw_kbool(&w, "ok", a->delivered && !o[i].slow);
        sp_jw_kbool(&w, "last", i + 1 == n);
        if (retry)
            sp_jw_kint(&w, "retry_at", o[i].retry_at_ms);
        else
            sp_jw_knull(&w, "retry_at");
        sp_jw_end(&w);
    }
    sp_jw_end(&w);
    const char *params[2] = {b.data, sp_db_int_array(ctx->arena, ids, n)};
    return sp_db_changed(sp_db_exec(ctx->db, ctx->arena, &record_batch_stmt, params, p),
                         "delivery", p);
}
