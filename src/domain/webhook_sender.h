/*
 * webhook_sender: drives due webhook deliveries (API.md §11) for
 * support-dispatch. Each webhook with due deliveries gets a child process
 * of its own (up to SP_WEBHOOK_SENDERS_PER_HOOK per webhook, at most
 * SP_WEBHOOK_SENDERS in all): a slow or dead receiver (10 s per attempt)
 * holds only its own children, never the other webhooks' nor the
 * outbox's mail and notifications.
 *
 * A child claims its webhook's oldest due deliveries in batches (up to
 * 32 rows per statement, FOR UPDATE SKIP LOCKED, each leased for 60 s by
 * moving next_attempt_at to the lease's end), reads the webhook once per
 * batch (URL, secrets, the SSRF guard's resolution), sends the batch's
 * deliveries one after another on one kept connection (HTTP keep-alive;
 * every new connection's address is checked by the guard's rule before
 * its socket opens), and records the outcomes in one statement per batch
 * (or per second, whichever comes first). An attempt starts only with
 * the timeout and a margin left on its lease; rows whose lease ran short
 * are handed back unattempted. Dispatchers on several machines therefore
 * never send one row at once, and a child killed mid-batch re-sends
 * after the lease (at-least-once; receivers de-duplicate by event id).
 * Retries follow core/backoff until 24 h after the event, then failed.
 * An inactive webhook's deliveries are not claimed: they wait (pending,
 * last_error webhook_inactive, no attempt counted) until it is active
 * again, or fail once their event is 24 h old (a sweep in the tick).
 *
 * Durability: a child's session commits with synchronous_commit = off.
 * What a server crash can lose is its last ~0.6 s of claims and
 * outcomes, never an event: the deliveries themselves were committed by
 * the fan-out, and a lost lease or outcome only makes a row due again —
 * a re-send, which at-least-once allows. A lost "failed" or backoff only
 * brings a retry early.
 *
 * Stopping: a child stops when the dispatcher closes its end of the
 * wake-up socket (sp_webhook_sender_drain) or when the program's stop
 * flag is set in the child — by the signal handler it inherited, on the
 * SIGTERM systemd sends every process of the unit, or already set when it
 * was forked. It then finishes the attempt in flight (at most the 10 s
 * timeout), records it, hands the rest of its batch back (due at once,
 * unattempted) and exits: a delivery is sent once before the stop or
 * once by the next dispatcher, never abandoned on the wire. Only a child
 * killed outright (SIGKILL after TimeoutStopSec) re-sends after the lease.
 *
 * With --loop a child whose webhook has nothing due waits up to 1 s for
 * a wake-up from the dispatcher (sp_webhook_sender_wake, after a fan-out)
 * before it ends, so a steady stream of events does not pay for a new
 * process and database session per event; --once children end at once.
 * Must not: run in a request, or share a database connection with a
 * child (each child opens its own).
 */
#ifndef SP_WEBHOOK_SENDER_H
#define SP_WEBHOOK_SENDER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#define SP_WEBHOOK_SENDERS 8
#define SP_WEBHOOK_SENDERS_PER_HOOK 4

struct sp_config;
struct sp_db;
struct sp_webhook_sender;

/* NULL with err when the settings cannot open webhook secrets. linger:
 * children wait for wake-ups (--loop). stop: the program's flag, set by
 * its SIGTERM/SIGINT handler (may be NULL); each child reads its own
 * copy (see "Stopping" above). */
struct sp_webhook_sender *sp_webhook_sender_new(const struct sp_config *cfg, bool linger,
                                                volatile sig_atomic_t *stop, char *err,
                                                size_t errlen);
/* Reaps finished children and starts one for each webhook with due
 * deliveries that has none running (db: the caller's connection, for the
 * one query). Returns at once. */
void sp_webhook_sender_tick(struct sp_webhook_sender *s, struct sp_db *db);
/* Deliveries were just queued for these webhooks: wakes their running
 * children, starts one for each that has none. Returns at once. */
void sp_webhook_sender_wake(struct sp_webhook_sender *s, const long long *webhooks, size_t n);
/* How many children run. */
int sp_webhook_sender_running(const struct sp_webhook_sender *s);
/* --once: sends everything due now (ticks until no webhook has due
 * deliveries left and every child is done). */
void sp_webhook_sender_run_once(struct sp_webhook_sender *s, struct sp_db *db);
/* Waits for every child (on stop). */
void sp_webhook_sender_drain(struct sp_webhook_sender *s);
void sp_webhook_sender_free(struct sp_webhook_sender *s);

#endif
