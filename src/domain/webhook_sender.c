/*
 * webhook_sender: child processes sending webhook deliveries. See
 * webhook_sender.h.
 */
#include "domain/webhook_sender.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/backoff.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/http_client.h"
#include "core/log.h"
#include "db/db.h"
#include "domain/ctx.h"
#include "domain/store.h"
#include "domain/webhook_delivery.h"
#include "domain/webhooks.h"

#define LEASE_S 60
#define BATCH 32                 /* deliveries claimed per statement, at most */
/* A claim takes what the child sends in about this long at its last
 * attempt's pace: a fast receiver's rows come 32 to a statement, a slow
 * one's (an attempt of a second or more) one at a time, each on a lease
 * of its own, so the webhook's other children take the next ones and
 * up to SP_WEBHOOK_SENDERS_PER_HOOK attempts run at once (QA: the first
 * child leased 32 rows for 60 s and sent them one by one). A new child
 * does not know the pace: it claims one. */
#define CLAIM_SPAN_MS 1000
/* An attempt that fails, or takes this long, marks its webhook failing
 * for the scheduler (see "Sharing the slots" in webhook_sender.h). */
#define SLOW_MS 1000
#define NOTES 256                /* webhooks whose last outcome is kept */
#define CHILD_BUDGET_S 60        /* a child hands over after this long */
#define LINGER_MS 1000           /* --loop: a child with nothing due waits this long */
#define FLUSH_MS 1000            /* outcomes are recorded at least this often */
/* An attempt starts only with this much of its lease left (the timeout
 * and a margin), so its outcome is recorded inside the lease. */
#define START_MARGIN_MS (SP_WEBHOOK_TIMEOUT_MS + 5000)
#define GIVE_UP_MS (24LL * 3600 * 1000)
#define STR(x) #x
#define XSTR(x) STR(x)

/* What the scheduler knows of a webhook, in the order it serves them
 * (due_webhooks_stmt answers the same numbers). */
enum health { H_DELIVERING, H_UNTRIED, H_FAILING };
/* Untried webhooks together hold at most this many slots: a burst of new
 * webhooks (whose receivers may all hang) cannot fill them all. */
#define UNTRIED_SLOTS (SP_WEBHOOK_SENDERS / 2)

struct sp_webhook_sender {
    const struct sp_config *cfg;
    struct sp_crypto *crypto;
    bool linger;
    volatile sig_atomic_t *stop;     /* the program's; each child reads its own copy */
    pid_t pid[SP_WEBHOOK_SENDERS];
    long long webhook[SP_WEBHOOK_SENDERS];
    int wake[SP_WEBHOOK_SENDERS];    /* our end of the child's wake-up socket, or -1 */
    int64_t started[SP_WEBHOOK_SENDERS];   /* monotonic ms the child was forked */
    int64_t sending[SP_WEBHOOK_SENDERS];   /* its attempt in flight began (ms), or 0 */
    bool asked[SP_WEBHOOK_SENDERS];  /* told to hand its slot over */
    /* What the children said of each webhook's last attempt (or, before
     * they said anything, what the database says: sql/083), and when the
     * webhook last got a child: kept past its children. */
    struct note {
        long long webhook;           /* 0: unused */
        enum health health;
        bool synced;                 /* url_hash read */
        int url_hash;                /* of the URL health is about */
        int64_t started;
    } notes[NOTES];
    int next_wake;                   /* wake-ups go round the children */
    int64_t next_paused_sweep;       /* monotonic ms: paused_stmt's next run */
    int64_t next_keyless_warning;    /* monotonic ms: keyless_wait's next line */
};

/* Without SUPPORT_ENCRYPTION_KEYS no webhook secret opens, so nothing
 * could be signed: deliveries are left unclaimed and due, for a
 * dispatcher that has the keys, instead of each being claimed, failed
 * as secret_unavailable and pushed back (QA: a cron node whose env file
 * lacked the keys delayed every delivery, reporting no error). Said once
 * a minute while deliveries wait. */
#define KEYLESS_WARNING_MS 60000

static bool
keyless_wait(struct sp_webhook_sender *s, int due)
{
    if (s->crypto != NULL)
        return false;
    int64_t now = sp_clock_mono_us() / 1000;
    if (due > 0 && now >= s->next_keyless_warning) {
        s->next_keyless_warning = now + KEYLESS_WARNING_MS;
        sp_log_msg(SP_LOG_WARN, "webhooks_waiting_for_keys",
                   "%d webhooks have due deliveries, left for a dispatcher with"
                   " SUPPORT_ENCRYPTION_KEYS: without them no webhook secret opens", due);
    }
    return true;
}

/* Webhooks with due deliveries, those that deliver first; behind: one
 * has waited over BEHIND_MS unclaimed (its children do not keep up);
 * its health as its last recorded outcome says (enum health: none yet
 * is untried; sql/083), which survives restarts; a hash of its URL (a
 * new URL is untried: the note made of the old one is dropped). */
#define BEHIND_MS 500
enum { DW_ID, DW_BEHIND, DW_HEALTH, DW_URL_HASH };
static struct sp_stmt due_webhooks_stmt = SP_STMT_READ(
    "webhook_due_webhooks",
    "SELECT w.id,"
    " bool_or(d.next_attempt_at <= now() - interval '" XSTR(BEHIND_MS) " milliseconds'),"
    " CASE WHEN w.last_delivered_at IS NULL AND w.last_failed_at IS NULL THEN 1"
    "  WHEN w.last_failed_at IS NULL OR w.last_delivered_at >= w.last_failed_at THEN 0"
    "  ELSE 2 END AS health,"
    " hashtext(w.url)"
    " FROM support_webhook_deliveries d JOIN support_webhooks w ON w.id = d.webhook_id"
    " WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND w.is_active"
    " GROUP BY w.id ORDER BY health, w.id LIMIT 64",
    0);

/* Up to $2 of the oldest due deliveries of webhook $1 while it is
 * active (an inactive one's wait: paused_stmt), leased to the caller
 * (next_attempt_at moved to the lease's end), oldest first. $2 is what
 * the child sends within CLAIM_SPAN_MS, so each lease covers about what
 * will be sent under it. */
enum { CC_ID, CC_EVENT_ID, CC_PAYLOAD, CC_ATTEMPTS, CC_CREATED_MS };
static struct sp_stmt claim_stmt = SP_STMT(
    "webhook_claim_batch",
    "WITH due AS (SELECT id FROM support_webhook_deliveries"
    "  WHERE webhook_id = $1::bigint AND status = 'pending' AND next_attempt_at <= now()"
    "   AND EXISTS (SELECT 1 FROM support_webhooks w WHERE w.id = $1::bigint AND w.is_active)"
    "  ORDER BY next_attempt_at, id LIMIT $2::int FOR UPDATE SKIP LOCKED),"
    " c AS (UPDATE support_webhook_deliveries d"
    "  SET next_attempt_at = now() + interval '" XSTR(LEASE_S) " seconds',"
    "   sending_since = now()"
    "  FROM due WHERE d.id = due.id"
    "  RETURNING d.id, d.event_id, d.payload, d.attempts, d.created_at)"
    " SELECT id, event_id, payload::text, attempts, support_ms(created_at) FROM c ORDER BY id",
    2);

/* The pending deliveries of inactive (paused) webhooks are never
 * claimed: they wait, marked webhook_inactive, and are sent once the
 * webhook is active again — unless their event turns a day old first:
 * then failed, as a retry would be (API.md §11). Swept every
 * PAUSED_SWEEP_MS and at the start of each --once. */
#define PAUSED_SWEEP_MS 10000
static struct sp_stmt paused_stmt = SP_STMT_READ(
    "webhook_paused",
    "UPDATE support_webhook_deliveries d SET last_error = 'webhook_inactive',"
    " status = CASE WHEN d.created_at <= now() - interval '24 hours' THEN 'failed'"
    "          ELSE 'pending' END"
    " FROM support_webhooks w"
    " WHERE w.id = d.webhook_id AND NOT w.is_active AND d.status = 'pending'"
    "  AND (d.last_error IS DISTINCT FROM 'webhook_inactive'"
    "       OR d.created_at <= now() - interval '24 hours')",
    0);

/* Claimed rows not attempted (their lease ran short): due again now. */
static struct sp_stmt release_stmt = SP_STMT(
    "webhook_release",
    "UPDATE support_webhook_deliveries SET next_attempt_at = now(), sending_since = NULL"
    " WHERE id = ANY($1::bigint[]) AND status = 'pending'",
    1);

struct sp_webhook_sender *
sp_webhook_sender_new(const struct sp_config *cfg, bool linger, volatile sig_atomic_t *stop,
                      char *err, size_t errlen)
{
    struct sp_webhook_sender *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = cfg;
    s->linger = linger;
    s->stop = stop;
    for (int i = 0; i < SP_WEBHOOK_SENDERS; i++)
        s->wake[i] = -1;
    if (cfg->encryption_keys != NULL) {
        s->crypto = sp_crypto_new(cfg->encryption_keys, cfg->pii_index_key, err, errlen);
        if (s->crypto == NULL) {
            free(s);
            return NULL;
        }
    }
    return s;
}

/* ---- the child ------------------------------------------------------------- */

/* One claim's deliveries and what became of them. */
struct batch {
    struct sp_webhook_delivery d[BATCH];
    long long created_ms[BATCH];
    struct sp_webhook_outcome out[BATCH];
    int n, done, recorded;          /* claimed, attempted, recorded */
    int64_t claimed_ms, flushed_ms; /* monotonic */
};

struct child {
    struct sp_ctx ctx;
    int64_t pace_ms;                /* how long the last attempt took */
    bool leaving;                   /* stop, or hand the slot over: no more claims */
    bool handover, attempted;       /* asked to hand over; made an attempt */
    struct sp_webhook_env env;
    struct sp_http_conn *conn;      /* kept: keep-alive to this webhook's receiver */
    long long webhook;
    const char *webhook_id;
    int wake;                       /* the child's end of the wake-up socket */
    volatile sig_atomic_t *stop;    /* this process's copy of the program's flag */
};

/* When to try again after this attempt of d: 0 (failed for good) once
 * the event is a day old. A refusal sent nothing, so attempts does not
 * count it and cannot space refusals out: one waits at least as long as
 * the delivery has waited so far (capped as the backoff is), which
 * doubles the wait from one refusal to the next, as the backoff would. */
static long long
retry_at(long long created_ms, const struct sp_webhook_delivery *d,
         const struct sp_webhook_attempt *a)
{
    int64_t now = sp_clock_now_ms();
    /* Paused: due again at once, claimed only once the webhook is active. */
    if (a->paused)
        return now - created_ms >= GIVE_UP_MS ? 0 : now;
    int64_t wait = sp_backoff_ms((int)d->attempts + 1, (double)rand() / RAND_MAX);
    if (!a->sent && now - created_ms > wait)
        wait = now - created_ms < SP_BACKOFF_CAP_MS ? now - created_ms : SP_BACKOFF_CAP_MS;
    int64_t at = now + wait;
    return at - created_ms >= GIVE_UP_MS ? 0 : at;
}

static int
claim(struct child *c, struct batch *b)
{
    struct sp_problem p;
    sp_problem_init(&p);
    int64_t want = CLAIM_SPAN_MS / (c->pace_ms > 0 ? c->pace_ms : 1);
    want = want < 1 ? 1 : want > BATCH ? BATCH : want;
    const char *params[2] = {c->webhook_id, sp_arena_sprintf(c->ctx.arena, "%d", (int)want)};
    PGresult *r = sp_db_exec(c->ctx.db, c->ctx.arena, &claim_stmt, params, &p);
    if (r == NULL)
        return -1;
    b->n = PQntuples(r);
    b->done = b->recorded = 0;
    b->claimed_ms = b->flushed_ms = sp_clock_mono_us() / 1000;
    for (int i = 0; i < b->n; i++) {
        struct sp_webhook_delivery *d = &b->d[i];
        memset(d, 0, sizeof(*d));
        d->id = sp_db_int(r, i, CC_ID);
        d->webhook_id = c->webhook;
        d->event_id = sp_arena_strdup(c->ctx.arena, sp_db_str(r, i, CC_EVENT_ID));
        d->payload = sp_arena_strdup(c->ctx.arena, sp_db_str(r, i, CC_PAYLOAD));
        d->attempts = sp_db_int(r, i, CC_ATTEMPTS);
        b->created_ms[i] = sp_db_int(r, i, CC_CREATED_MS);
    }
    return b->n;
}

/* Records the attempts made since the last flush, one statement; logs
 * them. False when the database failed (their leases bring them back).
 * A request that got no answer logs no status_code, and a delivery
 * refused before sending (url_refused, webhook_inactive, …) is
 * webhook_refused, not a failed attempt (QA: both read as
 * webhook_failed with status_code 0, though the delivery was pending). */
static bool
flush(struct child *c, struct batch *b)
{
    int n = b->done - b->recorded;
    struct sp_problem p;
    sp_problem_init(&p);
    if (n > 0 && sp_webhook_record_batch(&c->ctx, b->out + b->recorded, (size_t)n, &p) != SP_OK)
        return false;
    for (int i = b->recorded; i < b->done; i++) {
        const struct sp_webhook_attempt *a = &b->out[i].attempt;
        const char *event = a->delivered ? "webhook_delivered"
                            : a->sent    ? "webhook_attempt_failed"
                                         : "webhook_refused";
        struct sp_log_line *l = sp_log_begin(a->delivered ? SP_LOG_INFO : SP_LOG_WARN, event);
        sp_log_int(l, "delivery_id", b->out[i].id);
        sp_log_str(l, "webhook_id", c->webhook_id);
        if (a->status_code > 0)
            sp_log_int(l, "status_code", a->status_code);
        if (!a->delivered)
            sp_log_str(l, "error", a->error);
        sp_log_end(l);
    }
    b->recorded = b->done;
    b->flushed_ms = sp_clock_mono_us() / 1000;
    return true;
}

enum wake { WAKE_NONE, WAKE_UP, WAKE_HANDOVER, WAKE_STOP };

/* Waits up to ms for word from the dispatcher: a wake-up (deliveries were
 * queued), 'h' (hand the slot over to a webhook waiting for one), or its
 * end of the socket closed (it is stopping). */
static enum wake
wait_wake(int fd, int ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, ms) <= 0)
        return WAKE_NONE;
    char buf[64];
    ssize_t got;
    bool handover = false;
    while ((got = read(fd, buf, sizeof(buf))) > 0 || (got < 0 && errno == EINTR))
        handover = handover || (got > 0 && memchr(buf, 'h', (size_t)got) != NULL);
    return got == 0 ? WAKE_STOP : handover ? WAKE_HANDOVER : WAKE_UP;
}

/* The dispatcher stops (its end of the wake-up socket closed), or this
 * child was told to: the program's signal handler, inherited by the
 * fork, sets the child's copy of the flag on the SIGTERM or SIGINT that
 * systemd sends every process of the unit (or on a SIGTERM to the child
 * alone); a child forked after the dispatcher's flag was set starts with
 * it set. Without it a child signalled with the dispatcher went on
 * claiming and sending until the dispatcher had finished its own
 * transfers (up to 30 s) and closed the socket. */
static bool
stopping(struct child *c)
{
    enum wake w = c->leaving ? WAKE_NONE : wait_wake(c->wake, 0);
    c->handover = c->handover || w == WAKE_HANDOVER;
    /* A child hands over after one attempt at least, so every start moves
     * its webhook on (one asked at once would leave its rows due). */
    c->leaving = c->leaving || (c->stop != NULL && *c->stop) || w == WAKE_STOP ||
                 (c->handover && c->attempted);
    return c->leaving;
}

/* Tells the dispatcher that an attempt starts ('a', a NULL) or how it
 * went ('f': failed or slow, 'd'): the scheduler's view of the webhook.
 * A full socket drops it. */
static void
report(const struct child *c, const struct sp_webhook_attempt *a, int64_t ms)
{
    bool failing = a != NULL && (!a->delivered || ms >= SLOW_MS);
    (void)send(c->wake, a == NULL ? "a" : failing ? "f" : "d", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Hands back the claimed rows from b->done on, unattempted. */
static void
release_rest(struct child *c, struct batch *b)
{
    long long ids[BATCH];
    size_t n = 0;
    for (int i = b->done; i < b->n; i++)
        ids[n++] = b->d[i].id;
    struct sp_problem p;
    sp_problem_init(&p);
    const char *params[1] = {sp_db_int_array(c->ctx.arena, ids, n)};
    sp_db_exec(c->ctx.db, c->ctx.arena, &release_stmt, params, &p);
}

/* The webhook as it is now (once per batch: URL, secrets, the guard's
 * resolution), then each claimed delivery in turn on the kept
 * connection. Rows whose lease ran short, or all that are left when the
 * dispatcher stops or wants the slot, are handed back. False when the
 * database failed or the child is to leave. */
static bool
send_batch(struct child *c, struct batch *b)
{
    struct sp_problem p;
    sp_problem_init(&p);
    struct sp_webhook_target t;
    if (sp_webhook_target_open(&c->ctx, &c->env, c->webhook, &t, &p) != SP_OK) {
        t.usable = false;
        t.refused = (struct sp_webhook_attempt){.final = p.rc == SP_NOT_FOUND};
        snprintf(t.refused.error, sizeof(t.refused.error), "%s", p.code);
    }
    bool go_on = true;
    for (; b->done < b->n; b->done++) {
        int64_t now = sp_clock_mono_us() / 1000;
        bool stop = stopping(c);
        if (stop || b->claimed_ms + LEASE_S * 1000 - now < START_MARGIN_MS) {
            release_rest(c, b);
            go_on = !stop;
            break;
        }
        if (now - b->flushed_ms >= FLUSH_MS && !flush(c, b))
            return false;
        const struct sp_webhook_delivery *d = &b->d[b->done];
        struct sp_webhook_outcome *o = &b->out[b->done];
        o->id = d->id;
        report(c, NULL, 0);
        sp_webhook_send(&c->ctx, &t, c->conn, d, &o->attempt);
        o->retry_at_ms = retry_at(b->created_ms[b->done], d, &o->attempt);
        c->pace_ms = sp_clock_mono_us() / 1000 - now;
        c->attempted = true;
        o->slow = c->pace_ms >= SLOW_MS;
        report(c, &o->attempt, c->pace_ms);
        if (o->slow && b->done + 1 < b->n) {
            /* Leased at a fast pace, the rest would wait behind slow
             * attempts shown as being sent (QA: 20 rows with no attempt
             * started): back, due now, for the next claims at this pace
             * (one each, so the webhook's other children take them). */
            b->done++;
            release_rest(c, b);
            break;
        }
    }
    return flush(c, b) && go_on;
}

/* The child of one webhook: batches of its due deliveries until none is
 * left (with --loop, none for LINGER_MS), its budget is spent or the
 * dispatcher wants its slot for another webhook. */
static void
child(const struct sp_webhook_sender *s, long long webhook, int wake)
{
    struct sp_db *db = sp_store_open(s->cfg->database_url, "SUPPORT_DATABASE_URL",
                                    s->cfg->db_statement_timeout_ms);
    struct sp_http_conn *conn = sp_http_conn_new();
    if (db == NULL || conn == NULL)
        _exit(1);
    sp_db_async_commit(db);   /* see webhook_sender.h: at-least-once holds */
    struct sp_arena arena;
    sp_arena_init(&arena, 65536);
    struct child c = {.ctx = {.arena = &arena, .db = db},
                      .env = {s->crypto, s->cfg->webhook_allow_loopback != 0},
                      .conn = conn, .webhook = webhook, .wake = wake, .stop = s->stop,
                      .pace_ms = CLAIM_SPAN_MS};
    char id[24];
    snprintf(id, sizeof(id), "%lld", webhook);
    c.webhook_id = id;
    static struct batch b;
    srand((unsigned)getpid() ^ (unsigned)sp_clock_now_ms());
    time_t end = time(NULL) + CHILD_BUDGET_S;
    while (time(NULL) < end && !stopping(&c)) {
        sp_arena_reset(&arena);
        int n = claim(&c, &b);
        if (n < 0 || (n > 0 && !send_batch(&c, &b)))
            break;
        if (n == 0 && (c.handover || !s->linger || wait_wake(wake, LINGER_MS) != WAKE_UP))
            break;
    }
    sp_arena_destroy(&arena);
    sp_http_conn_free(conn);
    sp_store_close(db);
    _exit(0);
}

/* ---- the dispatcher's side ------------------------------------------------------ */

static void
forget(struct sp_webhook_sender *s, int i)
{
    s->pid[i] = 0;
    s->asked[i] = false;
    s->sending[i] = 0;
    if (s->wake[i] >= 0)
        close(s->wake[i]);
    s->wake[i] = -1;
}

static void
reap(struct sp_webhook_sender *s, bool wait)
{
    for (int i = 0; i < SP_WEBHOOK_SENDERS; i++)
        if (s->pid[i] > 0 && waitpid(s->pid[i], NULL, wait ? 0 : WNOHANG) == s->pid[i])
            forget(s, i);
}

/* The note of webhook; without one, NULL, or with add a new one (an
 * untried webhook) in an unused note or in place of the note of the
 * webhook served longest ago. */
static struct note *
note_of(struct sp_webhook_sender *s, long long webhook, bool add)
{
    struct note *oldest = NULL;
    for (int i = 0; i < NOTES; i++) {
        if (s->notes[i].webhook == webhook)
            return &s->notes[i];
        if (oldest == NULL || (oldest->webhook != 0 && (s->notes[i].webhook == 0 ||
                                                        s->notes[i].started < oldest->started)))
            oldest = &s->notes[i];
    }
    if (!add)
        return NULL;
    *oldest = (struct note){.webhook = webhook, .health = H_UNTRIED};
    return oldest;
}

/* What webhook's last attempt said (H_UNTRIED: nothing yet). */
static enum health
noted(struct sp_webhook_sender *s, long long webhook)
{
    const struct note *n = note_of(s, webhook, false);
    return n != NULL ? n->health : H_UNTRIED;
}

/* Whether webhook's last attempt failed or was slow. */
static bool
failing(struct sp_webhook_sender *s, long long webhook)
{
    return noted(s, webhook) == H_FAILING;
}

/* Reads what the children said of their attempts (report); before reap,
 * which closes a finished child's socket. */
static void
read_reports(struct sp_webhook_sender *s)
{
    int64_t now = sp_clock_mono_us() / 1000;
    for (int i = 0; i < SP_WEBHOOK_SENDERS; i++) {
        char buf[64];
        ssize_t got;
        while (s->wake[i] >= 0 && (got = recv(s->wake[i], buf, sizeof(buf), MSG_DONTWAIT)) > 0)
            for (ssize_t k = 0; k < got; k++) {
                if (buf[k] == 'a' && s->sending[i] == 0)
                    s->sending[i] = now;
                if (buf[k] == 'f' || buf[k] == 'd') {
                    note_of(s, s->webhook[i], true)->health =
                        buf[k] == 'f' ? H_FAILING : H_DELIVERING;
                    s->sending[i] = 0;
                }
            }
    }
}

/* Whether the child in slot i is failing: its webhook's last attempt
 * was, or the one in flight has taken SLOW_MS already (a new webhook's
 * first attempt to a receiver that hangs counts before it times out). */
static bool
slot_failing(struct sp_webhook_sender *s, int i)
{
    return failing(s, s->webhook[i]) ||
           (s->sending[i] > 0 && sp_clock_mono_us() / 1000 - s->sending[i] >= SLOW_MS);
}

/* Whether webhook is failing: its last attempt, or one in flight. */
static bool
webhook_failing(struct sp_webhook_sender *s, long long webhook)
{
    for (int i = 0; i < SP_WEBHOOK_SENDERS; i++)
        if (s->pid[i] > 0 && s->webhook[i] == webhook && slot_failing(s, i))
            return true;
    return failing(s, webhook);
}

/* The scheduler's view of webhook: failing (its last attempt, or one in
 * flight), else delivering or untried as its last outcome says. */
static enum health
health_of(struct sp_webhook_sender *s, long long webhook)
{
    return webhook_failing(s, webhook) ? H_FAILING : noted(s, webhook);
}

/* The slots held by webhooks with no outcome yet (a hanging one's too,
 * until its first attempt times out). */
static int
untried_held(struct sp_webhook_sender *s)
{
    int n = 0;
    for (int i = 0; i < SP_WEBHOOK_SENDERS; i++)
        n += s->pid[i] > 0 && noted(s, s->webhook[i]) == H_UNTRIED;
    return n;
}

static int
running_for(const struct sp_webhook_sender *s, long long webhook)
{
    int n = 0;
    for (int i = 0; i < SP_WEBHOOK_SENDERS; i++)
        n += s->pid[i] > 0 && s->webhook[i] == webhook;
    return n;
}

/* Its children not asked to leave. */
static int
staying_for(const struct sp_webhook_sender *s, long long webhook)
{
    int n = 0;
    for (int i = 0; i < SP_WEBHOOK_SENDERS; i++)
        n += s->pid[i] > 0 && s->webhook[i] == webhook && !s->asked[i];
    return n;
}

static int
free_slots(const struct sp_webhook_sender *s)
{
    int n = 0;
    for (int i = 0; i < SP_WEBHOOK_SENDERS; i++)
        n += s->pid[i] == 0;
    return n;
}

/* Up to SP_WEBHOOK_SENDERS_PER_HOOK children for one webhook (their
 * claims skip each other's rows), so one busy receiver gets parallel
 * deliveries without taking every slot. Only a webhook known to deliver
 * takes the last free slot: it stays for those, whose next event then
 * goes at once; untried webhooks hold UNTRIED_SLOTS at most. */
static void
start(struct sp_webhook_sender *s, long long webhook)
{
    int free_slot = -1;
    for (int i = 0; i < SP_WEBHOOK_SENDERS && free_slot < 0; i++)
        if (s->pid[i] == 0)
            free_slot = i;
    int sv[2] = {-1, -1};
    enum health h = health_of(s, webhook);
    if (free_slot < 0 || running_for(s, webhook) >= SP_WEBHOOK_SENDERS_PER_HOOK ||
        (h != H_DELIVERING && free_slots(s) < 2) ||
        (h == H_UNTRIED && untried_held(s) >= UNTRIED_SLOTS) ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        return;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        for (int i = 0; i < SP_WEBHOOK_SENDERS; i++)
            if (s->wake[i] >= 0)
                close(s->wake[i]);
        child(s, webhook, sv[1]);
    }
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        return;
    }
    s->pid[free_slot] = pid;
    s->webhook[free_slot] = webhook;
    s->wake[free_slot] = sv[0];
    s->started[free_slot] = sp_clock_mono_us() / 1000;
    note_of(s, webhook, true)->started = s->started[free_slot];
}

/* A webhook with due deliveries, as the scheduler orders them: those
 * known to deliver, then untried ones, then failing ones; in each, the
 * one served longest ago, then the oldest webhook. */
struct due {
    long long webhook;
    bool behind;
    enum health health;
    int64_t served;   /* monotonic ms it last got a child; 0: never */
};

static int
due_order(const void *a, const void *b)
{
    const struct due *x = a, *y = b;
    if (x->health != y->health)
        return x->health > y->health ? 1 : -1;
    if (x->served != y->served)
        return x->served > y->served ? 1 : -1;
    return (x->webhook > y->webhook) - (x->webhook < y->webhook);
}

/* The child to give its slot up for a webhook waiting for one (want:
 * its health): of the webhook with the most children (over its fair
 * share), a failing one's before an untried one's before one that
 * delivers, the one started longest ago. Only a webhook known to
 * deliver takes a delivering webhook's only child, and a failing one
 * takes no webhook's only child but a failing one's; an untried one
 * takes no slot from a webhook with an outcome while untried webhooks
 * hold UNTRIED_SLOTS (it would not start). -1: none. */
static int
victim(struct sp_webhook_sender *s, enum health want)
{
    int best = -1, best_n = 0;
    enum health best_h = H_DELIVERING;
    bool untried_full = untried_held(s) >= UNTRIED_SLOTS;
    for (int i = 0; i < SP_WEBHOOK_SENDERS; i++) {
        if (s->pid[i] <= 0 || s->asked[i] || s->wake[i] < 0)
            continue;
        int n = staying_for(s, s->webhook[i]);
        enum health h = slot_failing(s, i) ? H_FAILING : noted(s, s->webhook[i]);
        if (n < 2 && ((want != H_DELIVERING && h == H_DELIVERING) ||
                      (want == H_FAILING && h != H_FAILING)))
            continue;
        if (want == H_UNTRIED && untried_full && noted(s, s->webhook[i]) != H_UNTRIED)
            continue;
        if (best < 0 || n > best_n || (n == best_n && h > best_h) ||
            (n == best_n && h == best_h && s->started[i] < s->started[best])) {
            best = i;
            best_n = n;
            best_h = h;
        }
    }
    return best;
}

/* Each webhook still due with no child gets a slot handed over: a child
 * asked ('h') leaves once the attempt in flight ends (at most the 10 s
 * timeout), and the next tick starts the first waiting webhook in the
 * order of due_order. Slots asked already count for the first waiters. */
static void
hand_over(struct sp_webhook_sender *s, const struct due *due, int n)
{
    int asked = 0;
    for (int i = 0; i < SP_WEBHOOK_SENDERS; i++)
        asked += s->pid[i] > 0 && s->asked[i];
    for (int k = 0; k < n; k++) {
        if (running_for(s, due[k].webhook) > 0)
            continue;
        if (asked > 0) {
            asked--;
            continue;
        }
        int v = victim(s, due[k].health);
        if (v < 0)
            continue;
        s->asked[v] = true;
        (void)send(s->wake[v], "h", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
}

/* A child for each due webhook with none, in order; then one more per
 * round for those whose children fall behind (children that ran before
 * this tick: a webhook that waited for a slot is not behind), while
 * slots are free; then slots handed over to the webhooks still
 * waiting. */
static void
schedule(struct sp_webhook_sender *s, const PGresult *r)
{
    struct due due[64];
    int n = 0;
    for (int i = 0; i < PQntuples(r) && n < 64; i++, n++) {
        due[n].webhook = sp_db_int(r, i, DW_ID);
        due[n].behind = sp_db_bool(r, i, DW_BEHIND) && running_for(s, due[n].webhook) > 0;
        /* What the database says (a restart, another dispatcher) until
         * our children say more; a new URL starts afresh (untried). */
        struct note *note = note_of(s, due[n].webhook, true);
        int url_hash = (int)sp_db_int(r, i, DW_URL_HASH);
        bool new_url = note->synced && note->url_hash != url_hash;
        if (note->health == H_UNTRIED || new_url)
            note->health = (enum health)sp_db_int(r, i, DW_HEALTH);
        note->url_hash = url_hash;
        note->synced = true;
        due[n].health = health_of(s, due[n].webhook);
        due[n].served = note->started;
    }
    qsort(due, (size_t)n, sizeof(due[0]), due_order);
    for (int round = 0; round < SP_WEBHOOK_SENDERS_PER_HOOK; round++)
        for (int i = 0; i < n; i++)
            if ((round == 0 && running_for(s, due[i].webhook) == 0) ||
                (round > 0 && due[i].behind))
                start(s, due[i].webhook);
    hand_over(s, due, n);
}

void
sp_webhook_sender_tick(struct sp_webhook_sender *s, struct sp_db *db)
{
    read_reports(s);
    reap(s, false);
    struct sp_arena a;
    sp_arena_init(&a, 4096);
    struct sp_problem p;
    sp_problem_init(&p);
    int64_t now = sp_clock_mono_us() / 1000;
    if (now >= s->next_paused_sweep) {
        s->next_paused_sweep = now + PAUSED_SWEEP_MS;
        sp_db_exec(db, &a, &paused_stmt, NULL, &p);   /* failed: the next sweep's */
        sp_problem_init(&p);
    }
    PGresult *r = sp_db_exec(db, &a, &due_webhooks_stmt, NULL, &p);
    if (r != NULL && !keyless_wait(s, PQntuples(r)))
        schedule(s, r);
    sp_arena_destroy(&a);
}

void
sp_webhook_sender_wake(struct sp_webhook_sender *s, const long long *webhooks, size_t n)
{
    read_reports(s);
    reap(s, false);
    if (keyless_wait(s, (int)n))
        return;
    /* One child per webhook is enough to claim what was queued (the
     * others would claim nothing); more start when it falls behind. */
    for (size_t k = 0; k < n; k++) {
        int i = 0, at = 0;
        for (; i < SP_WEBHOOK_SENDERS; i++) {
            at = (s->next_wake + i) % SP_WEBHOOK_SENDERS;
            if (s->pid[at] > 0 && s->webhook[at] == webhooks[k] && s->wake[at] >= 0 &&
                !s->asked[at])   /* leaving: its webhook waits for a slot */
                break;
        }
        if (i == SP_WEBHOOK_SENDERS) {
            start(s, webhooks[k]);
            continue;
        }
        s->next_wake = at + 1;
        /* a full socket has a wake-up waiting already */
        (void)send(s->wake[at], "w", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
}

int
sp_webhook_sender_running(const struct sp_webhook_sender *s)
{
    int n = 0;
    for (int i = 0; i < SP_WEBHOOK_SENDERS; i++)
        n += s->pid[i] > 0;
    return n;
}

void
sp_webhook_sender_drain(struct sp_webhook_sender *s)
{
    /* Closed wake-ups end the lingering children at once. */
    for (int i = 0; i < SP_WEBHOOK_SENDERS; i++) {
        if (s->wake[i] >= 0)
            close(s->wake[i]);
        s->wake[i] = -1;
    }
    reap(s, true);
}

void
sp_webhook_sender_run_once(struct sp_webhook_sender *s, struct sp_db *db)
{
    /* Every webhook due now gets its turn, SP_WEBHOOK_SENDERS at a time;
     * a child leaves no row of its webhook due (sent, or rescheduled).
     * Once the program stops (a signal ends the wait below), no more
     * start (each would stop at once and leave its rows due: started
     * again and again), and the running ones are told, as on --loop. */
    for (;;) {
        if (s->stop != NULL && *s->stop) {
            sp_webhook_sender_drain(s);
            return;
        }
        sp_webhook_sender_tick(s, db);
        if (sp_webhook_sender_running(s) == 0)
            return;
        pid_t done = waitpid(-1, NULL, 0);
        read_reports(s);
        for (int i = 0; i < SP_WEBHOOK_SENDERS; i++)
            if (done > 0 && s->pid[i] == done)
                forget(s, i);
        if (done < 0 && errno != EINTR)
            reap(s, true);
    }
}

void
sp_webhook_sender_free(struct sp_webhook_sender *s)
{
    if (s == NULL)
        return;
    sp_webhook_sender_drain(s);
    sp_crypto_free(s->crypto);
    free(s);
}
