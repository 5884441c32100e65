/*
 * webhook_sender: drives due webhook deliveries (API.md §11) for
 * support-dispatch. Each webhook with due deliveries gets one child
 * process of its own (at most SP_WEBHOOK_SENDERS at once), which sends
 * that webhook's due deliveries one after another through
 * domain/webhook_delivery and records each attempt: a slow or dead
 * receiver (10 s per attempt) holds only its own child, never the others
 * nor the outbox's mail and notifications.
 *
 * Each delivery is claimed with a lease (next_attempt_at moved 60 s on,
 * FOR UPDATE SKIP LOCKED), so dispatchers on several machines never send
 * one row at once and a child killed mid-send re-sends after the lease
 * (at-least-once; receivers de-duplicate by event id). Retries follow
 * core/backoff until 24 h after the event, then failed.
 * Must not: run in a request, or share a database connection with a
 * child (each child opens its own).
 */
#ifndef SP_WEBHOOK_SENDER_H
#define SP_WEBHOOK_SENDER_H

#include <stdbool.h>
#include <stddef.h>

#define SP_WEBHOOK_SENDERS 8
#define SP_WEBHOOK_SENDERS_PER_HOOK 4

struct sp_config;
struct sp_db;
struct sp_webhook_sender;

/* NULL with err when the settings cannot open webhook secrets. */
struct sp_webhook_sender *sp_webhook_sender_new(const struct sp_config *cfg, char *err,
                                                size_t errlen);
/* Reaps finished children and starts one for each webhook with due
 * deliveries that has none running (db: the caller's connection, for the
 * one query). Returns at once. */
void sp_webhook_sender_tick(struct sp_webhook_sender *s, struct sp_db *db);
/* How many children run. */
int sp_webhook_sender_running(const struct sp_webhook_sender *s);
/* --once: sends everything due now (ticks until no webhook has due
 * deliveries left and every child is done). */
void sp_webhook_sender_run_once(struct sp_webhook_sender *s, struct sp_db *db);
/* Waits for every child (on stop). */
void sp_webhook_sender_drain(struct sp_webhook_sender *s);
void sp_webhook_sender_free(struct sp_webhook_sender *s);

#endif
