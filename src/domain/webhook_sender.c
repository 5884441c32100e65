/*
 * webhook_sender: one child process per webhook with due deliveries. See
 * webhook_sender.h.
 */
#include "domain/webhook_sender.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/backoff.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"
#include "db/db.h"
#include "domain/ctx.h"
#include "domain/store.h"
#include "domain/webhook_delivery.h"
#include "domain/webhooks.h"

#define LEASE "60 seconds"
#define CHILD_BUDGET_S 60        /* a child hands over after this long */
#define GIVE_UP_MS (24LL * 3600 * 1000)

struct sp_webhook_sender {
    const struct sp_config *cfg;
    struct sp_crypto *crypto;
    pid_t pid[SP_WEBHOOK_SENDERS];
    long long webhook[SP_WEBHOOK_SENDERS];
};

static struct sp_stmt due_webhooks_stmt = SP_STMT_READ(
    "webhook_due_webhooks",
    "SELECT DISTINCT webhook_id FROM support_webhook_deliveries"
    " WHERE status = 'pending' AND next_attempt_at <= now() LIMIT 64",
    0);

/* The oldest due delivery of one webhook, leased to the caller. */
static struct sp_stmt claim_stmt = SP_STMT(
    "webhook_claim",
    "UPDATE support_webhook_deliveries d SET next_attempt_at = now() + interval '" LEASE "'"
    " WHERE d.id = (SELECT id FROM support_webhook_deliveries"
    "  WHERE webhook_id = $1::bigint AND status = 'pending' AND next_attempt_at <= now()"
    "  ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
    " RETURNING d.id, support_ms(d.created_at)",
    1);

struct sp_webhook_sender *
sp_webhook_sender_new(const struct sp_config *cfg, char *err, size_t errlen)
{
    struct sp_webhook_sender *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = cfg;
    if (cfg->encryption_keys != NULL) {
        s->crypto = sp_crypto_new(cfg->encryption_keys, cfg->pii_index_key, err, errlen);
        if (s->crypto == NULL) {
            free(s);
            return NULL;
        }
    }
    return s;
}

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* When to try again after this attempt: 0 (failed for good) once the
 * event is a day old. */
static long long
retry_at(long long created_ms, long long attempts)
{
    int64_t at = now_ms() + sp_backoff_ms((int)attempts, (double)rand() / RAND_MAX);
    return at - created_ms >= GIVE_UP_MS ? 0 : at;
}

/* One claimed delivery: send, record. False when nothing was due. */
static bool
send_one(struct sp_ctx *ctx, const struct sp_webhook_env *env, const char *webhook_id)
{
    struct sp_problem p;
    sp_problem_init(&p);
    sp_arena_reset(ctx->arena);
    const char *params[1] = {webhook_id};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &claim_stmt, params, &p);
    if (r == NULL || PQntuples(r) == 0)
        return false;
    long long id = sp_db_int(r, 0, 0), created = sp_db_int(r, 0, 1);
    struct sp_webhook_delivery d;
    struct sp_webhook_attempt a = {0};
    if (sp_webhook_delivery_get(ctx, id, &d, &p) != SP_OK)
        return false;
    if (sp_webhook_deliver(ctx, env, &d, &a, &p) != SP_OK) {
        a = (struct sp_webhook_attempt){false, p.rc == SP_NOT_FOUND, 0, ""};
        snprintf(a.error, sizeof(a.error), "%s", p.code);
        sp_problem_init(&p);
    }
    if (sp_webhook_record(ctx, id, &a, retry_at(created, d.attempts + 1), &p) != SP_OK)
        return false;
    struct sp_log_line *l = sp_log_begin(a.delivered ? SP_LOG_INFO : SP_LOG_WARN,
                                         a.delivered ? "webhook_delivered" : "webhook_failed");
    sp_log_int(l, "delivery_id", id);
    sp_log_str(l, "webhook_id", webhook_id);
    sp_log_int(l, "status_code", a.status_code);
    if (!a.delivered)
        sp_log_str(l, "error", a.error);
    sp_log_end(l);
    return true;
}

/* The child of one webhook: its due deliveries, one at a time. */
static void
child(const struct sp_webhook_sender *s, long long webhook)
{
    struct sp_db *db = sp_store_open(s->cfg->database_url, s->cfg->db_statement_timeout_ms);
    if (db == NULL)
        _exit(1);
    struct sp_arena arena;
    sp_arena_init(&arena, 16384);
    struct sp_ctx ctx = {.arena = &arena, .db = db};
    struct sp_webhook_env env = {s->crypto, s->cfg->webhook_allow_loopback != 0};
    char id[24];
    snprintf(id, sizeof(id), "%lld", webhook);
    srand((unsigned)getpid() ^ (unsigned)now_ms());
    time_t end = time(NULL) + CHILD_BUDGET_S;
    while (time(NULL) < end && send_one(&ctx, &env, id))
        ;
    sp_arena_destroy(&arena);
    sp_store_close(db);
    _exit(0);
}

static void
reap(struct sp_webhook_sender *s, bool wait)
{
    for (int i = 0; i < SP_WEBHOOK_SENDERS; i++)
        if (s->pid[i] > 0 && waitpid(s->pid[i], NULL, wait ? 0 : WNOHANG) == s->pid[i])
            s->pid[i] = 0;
}

/* Up to SP_WEBHOOK_SENDERS_PER_HOOK children for one webhook (their
 * claims skip each other's rows), so one busy receiver gets parallel
 * deliveries without taking every slot. */
static void
start(struct sp_webhook_sender *s, long long webhook)
{
    int free_slot = -1, same = 0;
    for (int i = 0; i < SP_WEBHOOK_SENDERS; i++) {
        same += s->pid[i] > 0 && s->webhook[i] == webhook;
        if (s->pid[i] == 0 && free_slot < 0)
            free_slot = i;
    }
    if (free_slot < 0 || same >= SP_WEBHOOK_SENDERS_PER_HOOK)
        return;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        child(s, webhook);
    if (pid > 0) {
        s->pid[free_slot] = pid;
        s->webhook[free_slot] = webhook;
    }
}

void
sp_webhook_sender_tick(struct sp_webhook_sender *s, struct sp_db *db)
{
    reap(s, false);
    struct sp_arena a;
    sp_arena_init(&a, 4096);
    struct sp_problem p;
    sp_problem_init(&p);
    PGresult *r = sp_db_exec(db, &a, &due_webhooks_stmt, NULL, &p);
    /* Round robin: one more child per webhook per round, while there are
     * free slots and due webhooks. */
    for (int round = 0; r != NULL && round < SP_WEBHOOK_SENDERS_PER_HOOK; round++)
        for (int i = 0; i < PQntuples(r); i++)
            start(s, sp_db_int(r, i, 0));
    sp_arena_destroy(&a);
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
    reap(s, true);
}

void
sp_webhook_sender_run_once(struct sp_webhook_sender *s, struct sp_db *db)
{
    /* Every webhook due now gets its turn, SP_WEBHOOK_SENDERS at a time;
     * a child leaves no row of its webhook due (sent, or rescheduled). */
    for (;;) {
        sp_webhook_sender_tick(s, db);
        if (sp_webhook_sender_running(s) == 0)
            return;
        pid_t done = waitpid(-1, NULL, 0);
        for (int i = 0; i < SP_WEBHOOK_SENDERS; i++)
            if (done > 0 && s->pid[i] == done)
                s->pid[i] = 0;
        if (done < 0)
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
