/*
 * dispatch: claiming, sending and recording outbox deliveries. See
 * dispatch.h; the statements below are the whole protocol with other
 * dispatchers.
 */
#include "domain/dispatch.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/backoff.h"
#include "core/config.h"
#include "core/ids.h"
#include "core/log.h"
#include "db/db.h"
#include "domain/channels.h"
#include "domain/notifications.h"
#include "domain/webhook_delivery.h"
#include "domain/webhook_sender.h"
#include "domain/ticket_json.h"
#include "domain/tickets.h"
#include "core/json_writer.h"

#define MAX_SLOTS 256
/* A row is started only with this much of its lease left: the longest
 * transfer (SMTP, 30 s) plus a margin, so its outcome lands in the lease. */
#define START_MARGIN_MS 40000
/* A notification is answered by a claim no sooner than this after the
 * previous one: at 500 inserts/s one claim (and one fan-out commit) takes
 * ~5 rows instead of one, and several dispatchers woken by one insert
 * make one round of claims per interval, not one per insert. */
#define COALESCE_MS 10
/* The outbox's retry window (API.md §11). */
#define GIVE_UP "interval '24 hours'"

/* What the claim returns: the row and what is joined to it, read by name. */
#define CLAIM_COLUMNS(C, SEP)                                                      \
    C(CL_ID, "c.id", int, id) SEP                                                  \
    C(CL_KIND, "c.kind", str, kind) SEP                                            \
    C(CL_EVENT, "c.event_type", str, event_type) SEP                               \
    C(CL_CHANNEL, "c.channel", str, channel) SEP                                   \
    C(CL_RECIPIENT, "c.recipient", str, recipient) SEP                             \
    C(CL_PAYLOAD, PAYLOAD_SQL, str, payload) SEP                                   \
    C(CL_ATTEMPTS, "c.attempts", int, attempts) SEP                                \
    C(CL_TICKET, "t.public_id", str, ticket_public_id) SEP                         \
    C(CL_SUBJECT, "t.subject", str, ticket_subject) SEP                            \
    C(CL_STATUS, "t.status", str, ticket_status) SEP                               \
    C(CL_CUSTOMER, "t.customer_id", str, ticket_customer_id) SEP                   \
    C(CL_CONTACT, "ct.customer_id", str, contact_customer_id) SEP                  \
    C(CL_TIER, "ct.tier", str, contact_tier) SEP                                   \
    C(CL_NAME, "ct.name_enc", str, name_enc) SEP                                   \
    C(CL_EMAIL, "ct.email_enc", str, email_enc) SEP                                \
    C(CL_PHONE, "ct.phone_enc", str, phone_enc) SEP                                \
    C(CL_AGENT_USER, "ag.user_id", str, agent_user_id) SEP                         \
    C(CL_AGENT_NAME, "ag.display_name", str, agent_name) SEP                       \
    C(CL_BODY, "m.body", str, message_body) SEP                                    \
    C(CL_FILES, "m.attachments::text", str, message_attachments) SEP               \
    C(CL_CREATED_AT, "support_ts(c.created_at)", str, created_at) SEP              \
    C(CL_ANSWERS, ANSWERS_SQL, str, answers_message_id)
/* A customer's mail answers the newest message they mailed on its ticket
 * (sql/076: its Message-ID), when there is one. Newest when it is sent,
 * not when it was queued: a ticket's first message is stamped after its
 * outbox rows (the clock, not the transaction's start), and a mail that
 * waited for a retry is still in the same conversation. */
#define ANSWERS_SQL                                                                        \
    "CASE WHEN c.channel = 'email' THEN (SELECT r.mail_message_id"                         \
    " FROM support_ticket_messages r WHERE r.ticket_id = c.ticket_id"                      \
    " AND r.sender_type = 'customer' AND r.mail_message_id IS NOT NULL"                    \
    " ORDER BY r.id DESC LIMIT 1) END"
#define CLAIM_COLS CLAIM_COLUMNS(SP_COL_SQL, ", ")
/* A webhook's message gets its attachments now: they were linked after
 * the row was written (in its transaction). */
#define PAYLOAD_SQL                                                                        \
    "(CASE WHEN c.kind = 'webhook' AND m.id IS NOT NULL AND c.payload ? 'message'"          \
    " THEN jsonb_set(c.payload, '{message,attachments}', m.attachments)"                   \
    " ELSE c.payload END)::text"
enum claim_column { CLAIM_COLUMNS(SP_COL_ENUM, ) CL_COUNT };
/* After the row's columns: a mail to an address a hard bounce suppressed
 * (sql/081, domain/mail_bounce.h), as the contact stores it (its blind
 * index), looked up by the suppressions' primary key. */
#define SUPPRESSED_SQL                                                                     \
    "(c.channel = 'email' AND EXISTS (SELECT 1 FROM support_mail_suppressions sup"          \
    " WHERE sup.email_index = ct.email_index))"
enum { CL_SUPPRESSED = CL_COUNT };

/* What is due, in the order it goes out: what a pass claims and what
 * --dry-run lists. */
#define DUE_ROWS                                                                      \
    " WHERE status = 'pending' AND next_attempt_at <= now() ORDER BY next_attempt_at, id"

/* $1 how many, $2 the claim's token, $3 the lease in seconds. The lease
 * is next_attempt_at itself, so the due scan needs no second condition;
 * claimed_until says the same for people reading the table. The message
 * an event is about: payload message_id, message.id, data.message_id,
 * data.message.id, or data.id of a message event; public messages only. */
static struct sp_stmt claim_stmt = SP_STMT(
    "dispatch_claim",
    "WITH due AS ("
    "  SELECT id FROM support_outbox" DUE_ROWS " LIMIT $1::int"
    "  FOR UPDATE SKIP LOCKED"
    "), c AS ("
    "  UPDATE support_outbox o SET attempts = o.attempts + 1, claim_token = $2,"
    "    claimed_until = now() + make_interval(secs => $3::int),"
    "    next_attempt_at = now() + make_interval(secs => $3::int), last_attempt_at = now()"
    "  FROM due WHERE o.id = due.id"
    "  RETURNING o.*"
    ")"
    " SELECT " CLAIM_COLS ", " SUPPRESSED_SQL " FROM c"
    " LEFT JOIN support_tickets t ON t.id = c.ticket_id"
    " LEFT JOIN support_contacts ct ON ct.customer_id = coalesce("
    "   CASE WHEN c.channel IN ('email', 'sms', 'push') THEN c.recipient END, t.customer_id)"
    " LEFT JOIN support_agents ag ON c.channel = 'agent' AND ag.id::text = c.recipient"
    " LEFT JOIN support_ticket_messages m ON m.ticket_id = c.ticket_id AND NOT m.is_internal"
    "   AND m.id::text = coalesce(c.payload->>'message_id', c.payload#>>'{message,id}',"
    "     c.payload#>>'{data,message_id}',"
    "     c.payload#>>'{data,message,id}',"
    "     CASE WHEN c.event_type = 'ticket.message_created' THEN c.payload#>>'{data,id}' END)"
    " ORDER BY c.id",
    3);

/* What an outcome returns, and the ticket event of a customer's
 * notification it gave up (notifications.h), in the same statement. */
#define OUTCOME_RETURNING                                                                  \
    "  RETURNING id, ticket_id, kind, channel, recipient, event_type, status, last_error"   \
    "), e AS (" SP_NOTIFICATION_FAILED_EVENT("g") ")"                                      \
    " SELECT status FROM g"

/* sent or skipped: $3 the status, $4 the reply code, $5 why skipped. */
static struct sp_stmt done_stmt = SP_STMT(
    "dispatch_done",
    "WITH g AS ("
    "  UPDATE support_outbox SET status = $3,"
    "  delivered_at = CASE WHEN $3 = 'sent' THEN now() END,"
    "  last_status_code = $4::int, last_error = $5, claim_token = NULL, claimed_until = NULL"
    "  WHERE id = $1::bigint AND claim_token = $2"
    OUTCOME_RETURNING,
    5);

/* Not delivered: $3 the backoff in ms, $4 the reply code, $5 the error,
 * $6 give up now, $7 nothing was sent (a refusal: the claim's attempt
 * does not count, as a webhook refusal's does not). Failed once the next
 * attempt would fall after the retry window. */
static struct sp_stmt retry_stmt = SP_STMT(
    "dispatch_retry",
    "WITH g AS ("
    "  UPDATE support_outbox SET"
    "  status = CASE WHEN $6::boolean"
    "    OR created_at + " GIVE_UP " <= now() + $3::bigint * interval '1 millisecond'"
    "    THEN 'failed' ELSE 'pending' END,"
    "  next_attempt_at = now() + $3::bigint * interval '1 millisecond',"
    "  attempts = attempts - CASE WHEN $7::boolean THEN 1 ELSE 0 END,"
    "  last_status_code = $4::int, last_error = $5, claim_token = NULL, claimed_until = NULL"
    "  WHERE id = $1::bigint AND claim_token = $2"
    OUTCOME_RETURNING,
    7);

/* Fanned-out rows of one claim ($3 its token): sent, or skipped when no
 * subscription took the event ($2 = 0). */
static struct sp_stmt fanned_out_stmt = SP_STMT(
    "dispatch_fanned_out",
    "UPDATE support_outbox o SET status = CASE WHEN f.n > 0 THEN 'sent' ELSE 'skipped' END,"
    "  delivered_at = CASE WHEN f.n > 0 THEN now() END, last_status_code = NULL,"
    "  last_error = CASE WHEN f.n > 0 THEN NULL ELSE 'no_subscriptions' END,"
    "  claim_token = NULL, claimed_until = NULL"
    " FROM unnest($1::bigint[], $2::bigint[]) AS f(id, n)"
    " WHERE o.id = f.id AND o.claim_token = $3"
    " RETURNING o.id",
    3);

/* Handed back unsent (stopping, or a slot came too late): due at once,
 * and the attempt does not count. */
static struct sp_stmt release_stmt = SP_STMT(
    "dispatch_release",
    "UPDATE support_outbox SET next_attempt_at = now(), attempts = greatest(attempts - 1, 0),"
    "  claim_token = NULL, claimed_until = NULL"
    " WHERE id = $1::bigint AND claim_token = $2",
    2);

static struct sp_stmt due_stmt = SP_STMT_READ(
    "dispatch_due",
    "SELECT id, kind, channel, event_type, attempts FROM support_outbox" DUE_ROWS " LIMIT 1000",
    0);

enum slot_state { SLOT_FREE, SLOT_QUEUED, SLOT_RUNNING };

struct slot {
    enum slot_state state;
    struct sp_arena arena;          /* the row and its delivery; reset when done */
    struct sp_outbox_row row;
    struct sp_delivery d;
    const char *token;
    bool fresh;                     /* claimed, not placed yet */
    bool suppressed;                /* a mail to a suppressed address: failed, not sent */
    int64_t claimed_ms, started_ms; /* monotonic */
};

struct dispatcher {
    struct sp_db *db;
    struct sp_db listen;            /* loop: LISTEN support_outbox, nothing else */
    bool listening;
    const struct sp_dispatch_opts *o;
    struct sp_channels *channels;
    CURLM *multi;
    struct slot *slots;
    int nslots;
    struct sp_arena work;           /* statements; reset per statement */
    struct sp_dispatch_counts *n;
    bool more;                      /* the last claim filled every free slot */
    struct sp_webhook_sender *webhooks; /* children sending webhook deliveries */
    bool webhooks_due;              /* a fan-out queued some: look at once */
    int64_t next_webhook_scan;
    int64_t next_cycle;             /* loop: a claim answered from then on ends a cycle */
    long cycle_errors;              /* n->errors when the last cycle ended */
};

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double
jitter_u(void)
{
    unsigned char b[4];
    sp_random_bytes(b, sizeof(b));
    uint32_t v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return (double)v / 4294967296.0;
}

/* One line per outcome: ids and codes, never recipients or bodies. */
static void
log_row(enum sp_log_level level, const char *event, const struct slot *s, const char *error,
        long code)
{
    struct sp_log_line *l = sp_log_begin(level, event);
    sp_log_int(l, "outbox_id", s->row.id);
    sp_log_str(l, "kind", s->row.kind);
    sp_log_str(l, "channel", s->row.channel);
    sp_log_str(l, "event_type", s->row.event_type);
    sp_log_int(l, "attempt", s->row.attempts);
    if (s->d.destination != NULL)
        sp_log_str(l, "destination", s->d.destination);
    if (code != 0)
        sp_log_int(l, "status_code", code);
    if (error != NULL)
        sp_log_str(l, "error", error);
    if (s->started_ms != 0)
        sp_log_int(l, "ms", mono_ms() - s->started_ms);
    sp_log_end(l);
}

/* ---- outcomes ------------------------------------------------------------- */

static PGresult *
exec(struct dispatcher *dsp, struct sp_stmt *st, const char *const *params)
{
    sp_arena_reset(&dsp->work);
    struct sp_problem p;
    sp_problem_init(&p);
    PGresult *r = sp_db_exec(dsp->db, &dsp->work, st, params, &p);
    if (r == NULL)
        dsp->n->errors++;
    return r;
}

static bool
still_ours(struct dispatcher *dsp, const struct slot *s, PGresult *r)
{
    if (r == NULL)
        return false;   /* logged by the db layer; the lease brings the row back */
    if (strcmp(PQcmdTuples(r), "1") == 0)
        return true;
    log_row(SP_LOG_WARN, "dispatch_lease_lost", s, NULL, 0);
    dsp->n->errors++;
    return false;
}

static void
record_done(struct dispatcher *dsp, struct slot *s, const char *status, long code,
            const char *reason)
{
    struct sp_arena *a = &s->arena;
    const char *params[5] = {sp_arena_sprintf(a, "%lld", s->row.id), s->token, status,
                             code ? sp_arena_sprintf(a, "%ld", code) : NULL, reason};
    if (!still_ours(dsp, s, exec(dsp, &done_stmt, params)))
        return;
    bool sent = strcmp(status, "sent") == 0;
    sent ? dsp->n->sent++ : dsp->n->skipped++;
    log_row(sent ? SP_LOG_INFO : SP_LOG_WARN, sent ? "dispatch_sent" : "dispatch_skipped", s,
            reason, code);
}

/* unsent: refused before anything went out (suppressed): no attempt. */
static void
record_retry_as(struct dispatcher *dsp, struct slot *s, long code, const char *error,
                bool give_up, bool unsent)
{
    struct sp_arena *a = &s->arena;
    int64_t delay = sp_backoff_ms(s->row.attempts, jitter_u());
    const char *params[7] = {sp_arena_sprintf(a, "%lld", s->row.id), s->token,
                             sp_arena_sprintf(a, "%lld", (long long)delay),
                             code ? sp_arena_sprintf(a, "%ld", code) : NULL, error,
                             give_up ? "true" : "false", unsent ? "true" : "false"};
    PGresult *r = exec(dsp, &retry_stmt, params);
    if (!still_ours(dsp, s, r))
        return;
    bool failed = strcmp(sp_db_str(r, 0, 0), "failed") == 0;
    failed ? dsp->n->failed++ : dsp->n->retried++;
    struct sp_log_line *l = NULL;
    log_row(failed ? SP_LOG_ERROR : SP_LOG_WARN, failed ? "dispatch_failed" : "dispatch_retry",
            s, error, code);
    if (!failed && (l = sp_log_begin(SP_LOG_DEBUG, "dispatch_retry_at")) != NULL) {
        sp_log_int(l, "outbox_id", s->row.id);
        sp_log_int(l, "delay_ms", delay);
        sp_log_end(l);
    }
}

static void
record_retry(struct dispatcher *dsp, struct slot *s, long code, const char *error,
             bool give_up)
{
    record_retry_as(dsp, s, code, error, give_up, false);
}

static void
release(struct dispatcher *dsp, struct slot *s)
{
    const char *params[2] = {sp_arena_sprintf(&s->arena, "%lld", s->row.id), s->token};
    if (still_ours(dsp, s, exec(dsp, &release_stmt, params)))
        dsp->n->released++;
}

static void
free_slot(struct slot *s)
{
    sp_delivery_cleanup(&s->d);
    memset(&s->d, 0, sizeof(s->d));
    memset(&s->row, 0, sizeof(s->row));
    sp_arena_reset(&s->arena);
    s->state = SLOT_FREE;
    s->started_ms = 0;
}

/* A webhook row (kind webhook, API.md §11 event) becomes one delivery
 * per active subscription of its event type (domain/webhook_delivery),
 * inside the transaction that then marks the row, so a fan-out and its
 * row's status commit together; the webhook sender (domain/webhook_sender)
 * sends them, woken at once. The event id is the outbox row's: the same
 * on every attempt, and a fan-out run twice queues nothing twice. An
 * event with no subscription is skipped ("no_subscriptions"); one whose
 * fan-out fails is retried. The webhook rows of one claim share one
 * transaction (one commit for the lot). */

/* The event's data: what the change stored, and for a ticket's events
 * the ticket as agents see it ("ticket", ticket_json.h: no contact
 * details, no messages), read now. NULL when the ticket cannot be read. */
static const char *
event_data(struct sp_ctx *ctx, const struct sp_outbox_row *row, struct sp_problem *p)
{
    if (row->ticket_public_id == NULL)
        return row->payload;
    struct sp_ticket t;
    if (sp_ticket_get_for_agent(ctx, 0, row->ticket_public_id, 0, 1, &t, p) != SP_OK)
        return NULL;
    struct sp_buf b;
    sp_buf_init(&b, ctx->arena, 2048);
    struct sp_jw w;
    sp_jw_begin_object(&w, &b);
    sp_jw_kobject(&w, "ticket");
    sp_ticket_json_members(&w, &t, true);
    sp_jw_end(&w);
    /* then the stored members: the payload object without its braces */
    const char *inner = strchr(row->payload, '{');
    size_t n = inner ? strlen(inner + 1) : 0;
    while (n > 0 && (inner[n] == '}' || inner[n] == ' '))
        n--;
    if (n > 0) {
        sp_buf_putc(&b, ',');
        sp_buf_append(&b, inner + 1, n);
    }
    sp_buf_putc(&b, '}');
    return b.data;
}

/* Queues row's event for its subscribers (q: what was queued, added to);
 * the number of subscriptions it went to, -1 on failure. Inside the
 * caller's transaction, the one that marks the row sent: its event id,
 * drawn at random here, is the one every subscriber and every attempt
 * gets (the outbox id it was told receivers how many events the
 * platform makes). */
static long
fanout_webhook_event(struct dispatcher *dsp, struct slot *s, struct sp_webhook_queued *q)
{
    struct sp_ctx ctx = {.arena = &s->arena, .db = dsp->db};
    struct sp_problem p;
    sp_problem_init(&p);
    const struct sp_outbox_row *row = &s->row;
    const char *data = event_data(&ctx, row, &p);
    long long before = q->rows;
    if (data == NULL ||
        sp_webhook_fanout(&ctx, sp_webhook_event_id(&s->arena),
                          row->event_type, row->created_at, data, q, &p) != SP_OK)
        return -1;
    return (long)(q->rows - before);
}

/* The new deliveries' senders: woken (or started) at once. */
static void
wake_senders(struct dispatcher *dsp, const struct sp_webhook_queued *q)
{
    if (q->more)
        dsp->webhooks_due = true;   /* more webhooks than listed: look them up */
    sp_webhook_sender_wake(dsp->webhooks, q->webhooks, q->nwebhooks);
}

/* The outcomes of fanned-out rows (of one claim) in one statement; false
 * when it failed. */
static bool
record_fanned_out(struct dispatcher *dsp, struct slot **rows, const long long *subscribers, int n)
{
    struct sp_arena *a = &rows[0]->arena;
    long long ids[MAX_SLOTS];
    for (int i = 0; i < n; i++)
        ids[i] = rows[i]->row.id;
    const char *params[3] = {sp_db_int_array(a, ids, (size_t)n),
                             sp_db_int_array(a, subscribers, (size_t)n), rows[0]->token};
    PGresult *r = exec(dsp, &fanned_out_stmt, params);
    if (r == NULL)
        return false;
    for (int i = 0; i < n; i++) {
        bool ours = false, sent = subscribers[i] > 0;
        for (int k = 0; k < PQntuples(r) && !ours; k++)
            ours = sp_db_int(r, k, 0) == ids[i];
        if (!ours) {
            log_row(SP_LOG_WARN, "dispatch_lease_lost", rows[i], NULL, 0);
            dsp->n->errors++;
            continue;
        }
        sent ? dsp->n->sent++ : dsp->n->skipped++;
        /* An event nobody subscribes to is the rule on a stack without
         * webhooks, no fault: at debug (QA: 8,432 warnings in a session);
         * the pass line counts them in skipped. */
        log_row(sent ? SP_LOG_INFO : SP_LOG_DEBUG, sent ? "dispatch_sent" : "dispatch_skipped",
                rows[i], sent ? NULL : "no_subscriptions", 0);
    }
    return true;
}

/* Fans out rows (webhook rows of one claim) in one transaction: the
 * deliveries and the rows' statuses commit together, one commit for the
 * lot. False when it failed (rolled back: nothing of it happened). */
static bool
fanout_rows(struct dispatcher *dsp, struct slot **rows, int n)
{
    struct sp_problem p;
    sp_problem_init(&p);
    struct sp_webhook_queued q = {0};
    long long subscribers[MAX_SLOTS];
    struct sp_arena *a = &rows[0]->arena;
    bool ok = sp_db_begin(dsp->db, a, &p) == SP_OK;
    for (int i = 0; ok && i < n; i++)
        ok = (subscribers[i] = fanout_webhook_event(dsp, rows[i], &q)) >= 0;
    ok = ok && record_fanned_out(dsp, rows, subscribers, n);
    if (!ok || sp_db_commit(dsp->db, a, &p) != SP_OK) {
        sp_db_rollback(dsp->db, a);
        return false;
    }
    if (q.rows > 0)
        wake_senders(dsp, &q);
    return true;
}

/* A claim's webhook rows: together, or, when that fails, one by one (a
 * row that fails alone is retried later). */
static void
fanout_claimed(struct dispatcher *dsp)
{
    struct slot *rows[MAX_SLOTS];
    int n = 0;
    for (int k = 0; k < dsp->nslots; k++)
        if (dsp->slots[k].fresh && strcmp(dsp->slots[k].row.kind, "webhook") == 0)
            rows[n++] = &dsp->slots[k];
    bool together = n > 1 && fanout_rows(dsp, rows, n);
    for (int i = 0; i < n; i++) {
        if (!together && !fanout_rows(dsp, &rows[i], 1))
            record_retry(dsp, rows[i], 0, "fanout_failed", false);
        rows[i]->fresh = false;
        free_slot(rows[i]);
    }
}

/* ---- claiming --------------------------------------------------------------- */

static const char *
dup_str(struct sp_arena *a, const PGresult *r, int row, int col)
{
    const char *v = sp_db_str(r, row, col);
    return v ? sp_arena_strdup(a, v) : NULL;
}
#define dup_int(a, r, row, col) sp_db_int(r, row, col)
#define CLAIM_READ(name, expr, read, member) out->member = dup_##read(a, r, row, name);

static void
read_row(struct sp_arena *a, const PGresult *r, int row, struct sp_outbox_row *out)
{
    CLAIM_COLUMNS(CLAIM_READ, )
}

/* What a freshly claimed row becomes: queued to send, or recorded now. */
static void
place(struct dispatcher *dsp, struct slot *s)
{
    if (s->suppressed) {
        /* A hard bounce said the address does not exist: sending again
         * would only bounce again (and hurt the sender's reputation). */
        record_retry_as(dsp, s, 0, "suppressed", true, true);
        free_slot(s);
        return;
    }
    sp_channels_prepare(dsp->channels, &s->arena, &s->row, &s->d);
    switch (s->d.kind) {
    case SP_DELIVERY_SEND:
        s->state = SLOT_QUEUED;
        return;
    case SP_DELIVERY_SKIP:
        record_done(dsp, s, "skipped", 0, s->d.reason);
        break;
    case SP_DELIVERY_RETRY:
    case SP_DELIVERY_FAIL:
        record_retry(dsp, s, 0, s->d.reason, s->d.kind == SP_DELIVERY_FAIL);
        break;
    }
    free_slot(s);
}

static int
count_state(const struct dispatcher *dsp, enum slot_state st)
{
    int n = 0;
    for (int i = 0; i < dsp->nslots; i++)
        n += dsp->slots[i].state == st;
    return n;
}

/* Claims as many due rows as there are free slots (one short transaction:
 * the statement commits on its own). */
static enum sp_rc
claim(struct dispatcher *dsp, struct sp_problem *p)
{
    int want = count_state(dsp, SLOT_FREE);
    char token[33];
    sp_random_hex(token, 16);
    sp_arena_reset(&dsp->work);
    const char *params[3] = {sp_arena_sprintf(&dsp->work, "%d", want), token,
                             sp_arena_sprintf(&dsp->work, "%ld", dsp->o->cfg->dispatch_lease_s)};
    PGresult *r = sp_db_exec(dsp->db, &dsp->work, &claim_stmt, params, p);
    if (r == NULL)
        return p->rc;
    int got = PQntuples(r);
    dsp->more = got == want;
    dsp->n->claimed += got;
    int64_t now = mono_ms();
    for (int i = 0, k = 0; i < got; i++) {
        while (dsp->slots[k].state != SLOT_FREE)
            k++;
        struct slot *s = &dsp->slots[k];
        read_row(&s->arena, r, i, &s->row);
        s->suppressed = sp_db_bool(r, i, CL_SUPPRESSED);
        s->token = sp_arena_strdup(&s->arena, token);
        s->claimed_ms = now;
        s->fresh = true;
        s->state = SLOT_QUEUED;   /* taken before place(), which reuses dsp->work */
    }
    fanout_claimed(dsp);
    for (int k = 0; k < dsp->nslots; k++) {
        if (dsp->slots[k].fresh) {
            dsp->slots[k].fresh = false;
            place(dsp, &dsp->slots[k]);
        }
    }
    return SP_OK;
}

/* ---- sending ---------------------------------------------------------------- */

static int
running_to(const struct dispatcher *dsp, const char *destination)
{
    int n = 0;
    for (int i = 0; i < dsp->nslots; i++) {
        const struct slot *s = &dsp->slots[i];
        n += s->state == SLOT_RUNNING && strcmp(s->d.destination, destination) == 0;
    }
    return n;
}

/* Starts queued rows whose destination has room, oldest claim first (the
 * slots are filled in claim order); hands back rows whose lease is too
 * short by now to finish a transfer inside it. */
static void
start_queued(struct dispatcher *dsp)
{
    int64_t now = mono_ms(), lease_ms = dsp->o->cfg->dispatch_lease_s * 1000;
    for (int i = 0; i < dsp->nslots; i++) {
        struct slot *s = &dsp->slots[i];
        if (s->state != SLOT_QUEUED)
            continue;
        if (s->claimed_ms + lease_ms - now < START_MARGIN_MS) {
            release(dsp, s);
            free_slot(s);
            continue;
        }
        if (running_to(dsp, s->d.destination) >= dsp->o->cfg->dispatch_per_destination)
            continue;
        curl_easy_setopt(s->d.easy, CURLOPT_PRIVATE, s);
        if (curl_multi_add_handle(dsp->multi, s->d.easy) != CURLM_OK) {
            record_retry(dsp, s, 0, "curl_multi_failed", false);
            free_slot(s);
            continue;
        }
        s->state = SLOT_RUNNING;
        s->started_ms = now;
    }
}

/* Records every finished transfer and frees its slot; the number done. */
static int
finish(struct dispatcher *dsp)
{
    int running, done = 0, left;
    curl_multi_perform(dsp->multi, &running);
    for (CURLMsg *m; (m = curl_multi_info_read(dsp->multi, &left)) != NULL;) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct slot *s = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
        CURLcode rc = m->data.result;
        curl_multi_remove_handle(dsp->multi, m->easy_handle);
        long code = 0;
        const char *error = NULL;
        if (sp_delivery_result(&s->d, rc, &code, &error, &s->arena))
            record_done(dsp, s, "sent", code, NULL);
        else
            record_retry(dsp, s, code, error, false);
        free_slot(s);
        done++;
    }
    return done;
}

/* Stopping: rows not started go back at once rather than at the lease's end. */
static void
release_queued(struct dispatcher *dsp)
{
    for (int i = 0; i < dsp->nslots; i++) {
        if (dsp->slots[i].state == SLOT_QUEUED) {
            release(dsp, &dsp->slots[i]);
            free_slot(&dsp->slots[i]);
        }
    }
}

/* ---- waiting ------------------------------------------------------------------ */

/* LISTEN again after a lost connection; true when it listens. */
static bool
listen_again(struct dispatcher *dsp)
{
    if (dsp->listening)
        return true;
    struct sp_problem p;
    sp_problem_init(&p);
    sp_arena_reset(&dsp->work);
    dsp->listening = sp_db_listen(&dsp->listen, &dsp->work, "support_outbox", &p) == SP_OK;
    return dsp->listening;
}

/* Waits for transfers, a notification or the timeout; true when rows
 * may have been queued (a notification, or one may have been missed). */
static bool
wait_events(struct dispatcher *dsp, int timeout_ms)
{
    struct curl_waitfd extra = {.fd = -1, .events = CURL_WAIT_POLLIN};
    unsigned nextra = 0;
    if (dsp->listening && (extra.fd = sp_db_socket(&dsp->listen)) >= 0)
        nextra = 1;
    int numfds = 0;
    curl_multi_poll(dsp->multi, nextra ? &extra : NULL, nextra, timeout_ms, &numfds);
    if (!dsp->listening)
        return false;
    if (nextra && !(extra.revents & CURL_WAIT_POLLIN))
        return false;
    int notes = sp_db_notifications(&dsp->listen);
    if (notes < 0)
        dsp->listening = false;
    return notes != 0;
}

/* ---- the loop ------------------------------------------------------------------- */

static void
log_pass(const struct sp_dispatch_counts *n, enum sp_rc rc, const struct sp_problem *p)
{
    struct sp_log_line *l = sp_log_begin(rc == SP_OK && n->errors == 0 ? SP_LOG_INFO : SP_LOG_ERROR,
                                         "dispatch_pass");
    SP_LOG_COUNTS(l, SP_DISPATCH_COUNTS, n);
    sp_db_job_log_detail(l, rc, p);
    sp_log_end(l);
}

/* Webhook deliveries: a look at what is due at most once a second, at
 * once after a fan-out. */
static void
tick_webhooks(struct dispatcher *dsp)
{
    /* A connection found lost is the next claim's to try again: it fails
     * the pass with one line when the database is down. */
    if (sp_db_socket(dsp->db) < 0)
        return;
    if (!dsp->webhooks_due && mono_ms() < dsp->next_webhook_scan)
        return;
    sp_webhook_sender_tick(dsp->webhooks, dsp->db);
    dsp->webhooks_due = false;
    dsp->next_webhook_scan = mono_ms() + 1000;
}

/* --loop, after a claim the database answered: ends the cycle when it is
 * sweep_s old (o->cycle_done: the job's run, GET /metrics). A daemon
 * that stops claiming, stuck or without its database, ends none. */
static void
end_cycle(struct dispatcher *dsp)
{
    if (!dsp->o->loop || dsp->o->cycle_done == NULL || mono_ms() < dsp->next_cycle)
        return;
    dsp->o->cycle_done(dsp->o->cycle_arg, dsp->n->errors == dsp->cycle_errors);
    dsp->cycle_errors = dsp->n->errors;
    dsp->next_cycle = mono_ms() + dsp->o->sweep_s * 1000;
}

/* Claims while slots are free and rows may be due; sends; records. Once
 * the database fails, claims no more but still finishes what is in
 * flight. Without o->loop it ends when nothing is due or in flight. */
static enum sp_rc
deliver(struct dispatcher *dsp, struct sp_problem *p)
{
    /* The database is tried first, and only the claim's connection: a
     * database that is down fails the pass with one line (QA: the LISTEN
     * connection, the webhook sweep's two statements and the claim each
     * logged db_connect_failed, four a pass). */
    enum sp_rc rc = sp_db_ready(dsp->db, p);
    bool scan = true;
    int64_t sweep_ms = dsp->o->sweep_s * 1000, next_sweep = 0, claimed_at = 0, claim_after = 0;
    for (;;) {
        bool stopping = *dsp->o->stop || rc != SP_OK;
        if (dsp->o->loop && !stopping && mono_ms() >= next_sweep) {
            if (!dsp->listening)   /* the database before the LISTEN connection */
                rc = sp_db_ready(dsp->db, p);
            if (rc == SP_OK && listen_again(dsp))
                scan = true;   /* (re)listening: notifications may have been missed */
            stopping = rc != SP_OK;
        }
        if (!stopping && scan && count_state(dsp, SLOT_FREE) > 0 && mono_ms() >= claim_after) {
            rc = claim(dsp, p);
            /* A backlog keeps this branch busy (webhook rows free their
             * slot at once): webhook deliveries must not wait for it to
             * drain (bench/dispatch measured 2.5-4.7 s at 4 000 rows).
             * After a claim the database answered: a failed one ends the
             * pass without the sweep's statements failing too. */
            if (rc == SP_OK) {
                tick_webhooks(dsp);
                end_cycle(dsp);
            }
            scan = dsp->more && rc == SP_OK;
            claimed_at = mono_ms();
            claim_after = 0;
            next_sweep = claimed_at + sweep_ms;
            continue;
        }
        if (stopping)
            release_queued(dsp);
        start_queued(dsp);
        if (!stopping)
            tick_webhooks(dsp);
        int busy = dsp->nslots - count_state(dsp, SLOT_FREE);
        if (busy == 0 && (stopping || !dsp->o->loop))
            break;
        int64_t idle = next_sweep - mono_ms();
        int timeout = busy > 0 ? 200 : (int)(idle < 0 ? 0 : idle > 1000 ? 1000 : idle);
        int64_t until_claim = claim_after - mono_ms();
        if (scan && claim_after > 0 && busy < dsp->nslots && until_claim < timeout)
            timeout = (int)(until_claim > 0 ? until_claim : 0);   /* a coalesced claim */
        bool woken = wait_events(dsp, timeout);
        int done = finish(dsp);
        if (woken && !scan)
            claim_after = claimed_at + COALESCE_MS;
        if (woken || (done > 0 && dsp->more) || (dsp->o->loop && mono_ms() >= next_sweep))
            scan = true;
    }
    return rc;
}

/* --dry-run: what is due now, claimed by nobody. */
static enum sp_rc
dry_run(struct dispatcher *dsp, struct sp_problem *p)
{
    PGresult *r = sp_db_exec(dsp->db, &dsp->work, &due_stmt, NULL, p);
    if (r == NULL)
        return p->rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct sp_log_line *l = sp_log_begin(SP_LOG_INFO, "dispatch_would_send");
        sp_log_int(l, "outbox_id", sp_db_int(r, i, 0));
        sp_log_str(l, "kind", sp_db_str(r, i, 1));
        sp_log_str(l, "channel", sp_db_str(r, i, 2));
        sp_log_str(l, "event_type", sp_db_str(r, i, 3));
        sp_log_int(l, "attempt", sp_db_int(r, i, 4) + 1);
        sp_log_end(l);
    }
    struct sp_log_line *l = sp_log_begin(SP_LOG_INFO, "dispatch_dry_run");
    sp_log_int(l, "due", PQntuples(r));
    sp_log_end(l);
    return SP_OK;
}

bool
sp_dispatch_check(const struct sp_config *cfg, char *err, size_t errlen)
{
    struct sp_channels *c = sp_channels_new(cfg, err, errlen);
    sp_channels_free(c);
    return c != NULL;
}

static bool
setup(struct dispatcher *dsp, struct sp_problem *p)
{
    char err[512];
    dsp->channels = sp_channels_new(dsp->o->cfg, err, sizeof(err));
    if (dsp->channels == NULL) {
        sp_log_msg(SP_LOG_ERROR, "dispatch_config", "%s", err);
        sp_problem_set(p, SP_INVALID, "invalid_settings", "%s", err);
        return false;
    }
    dsp->webhooks = sp_webhook_sender_new(dsp->o->cfg, dsp->o->loop, dsp->o->stop, err,
                                          sizeof(err));
    if (dsp->webhooks == NULL) {
        sp_log_msg(SP_LOG_ERROR, "dispatch_config", "%s", err);
        sp_problem_set(p, SP_INVALID, "invalid_settings", "%s", err);
        return false;
    }
    long n = dsp->o->cfg->dispatch_concurrency;
    dsp->nslots = (int)(n < MAX_SLOTS ? n : MAX_SLOTS);
    dsp->slots = calloc((size_t)dsp->nslots, sizeof(*dsp->slots));
    dsp->multi = curl_multi_init();
    if (dsp->slots == NULL || dsp->multi == NULL) {
        sp_problem_set(p, SP_ERROR, "internal", "out of memory");
        return false;
    }
    for (int i = 0; i < dsp->nslots; i++)
        sp_arena_init(&dsp->slots[i].arena, 16384);
    curl_multi_setopt(dsp->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, n);
    return true;
}

static void
teardown(struct dispatcher *dsp)
{
    for (int i = 0; dsp->slots != NULL && i < dsp->nslots; i++) {
        if (dsp->slots[i].state == SLOT_RUNNING)
            curl_multi_remove_handle(dsp->multi, dsp->slots[i].d.easy);
        sp_delivery_cleanup(&dsp->slots[i].d);
        sp_arena_destroy(&dsp->slots[i].arena);
    }
    free(dsp->slots);
    if (dsp->multi != NULL)
        curl_multi_cleanup(dsp->multi);
    sp_channels_free(dsp->channels);
    sp_webhook_sender_free(dsp->webhooks);   /* waits for its children */
    sp_db_close(&dsp->listen);
    sp_arena_destroy(&dsp->work);
}

enum sp_rc
sp_dispatch_run(struct sp_db *db, const struct sp_dispatch_opts *o,
                struct sp_dispatch_counts *n, struct sp_problem *p)
{
    memset(n, 0, sizeof(*n));
    struct dispatcher dsp = {.db = db, .o = o, .n = n};
    sp_arena_init(&dsp.work, 16384);
    sp_db_init(&dsp.listen, o->cfg->database_url, 0);
    sp_db_watch_as(&dsp.listen, db);   /* a hung server holds neither connection */
    enum sp_rc rc;
    if (o->dry_run) {
        rc = dry_run(&dsp, p);
    } else {
        sp_db_async_commit(db);   /* dispatch.h: a lost commit is a re-send, never a loss */
        rc = setup(&dsp, p) ? deliver(&dsp, p) : p->rc;
    }
    if (dsp.webhooks != NULL) {
        /* --once: the deliveries due now go out in this run too. */
        if (!o->loop && rc == SP_OK)
            sp_webhook_sender_run_once(dsp.webhooks, dsp.db);
        sp_webhook_sender_drain(dsp.webhooks);
    }
    if (!o->dry_run && (!o->loop || rc != SP_OK))
        log_pass(n, rc, p);
    teardown(&dsp);
    return rc;
}
