/*
 * webhook_sender: drives due webhook deliveries (API.md §11) for
 * support-dispatch. Each webhook with due deliveries gets a child process
 * of its own (up to SP_WEBHOOK_SENDERS_PER_HOOK per webhook, at most
 * SP_WEBHOOK_SENDERS in all): a slow or dead receiver (10 s per attempt)
 * holds only its own children, never the other webhooks' nor the
 * outbox's mail and notifications.
 *
 * A child claims its webhook's oldest due deliveries (FOR UPDATE SKIP
 * LOCKED, each leased for 60 s by moving next_attempt_at to the lease's
 * end), as many as it sends in about a second at its last attempt's
 * pace: up to 32 rows per statement for a fast receiver, one at a time
 * for a slow one (and for a new child), so a slow receiver's other
 * children take the next rows and it gets up to 4 attempts at once; an
 * attempt that turns out slow hands the rest of its claim back at once
 * (the log shows only what is in flight as being sent). It
 * reads the webhook once per claim (URL, secrets, the SSRF guard's
 * resolution), sends the deliveries one after another on one kept
 * connection (HTTP keep-alive; every new connection's address is checked
 * by the guard's rule before its socket opens), and records the outcomes
 * in one statement per claim (or per second, whichever comes first). An
 * attempt starts only with the timeout and a margin left on its lease;
 * rows whose lease ran short are handed back unattempted. Dispatchers on
 * several machines therefore never send one row at once, and a child
 * killed mid-claim re-sends after the lease (at-least-once; receivers
 * de-duplicate by event id).
 * Retries follow core/backoff until 24 h after the event, then failed.
 * An inactive webhook's deliveries are not claimed: they wait (pending,
 * last_error webhook_inactive, no attempt counted) until it is active
 * again, or fail once their event is 24 h old (a sweep in the tick).
 *
 * Sharing the slots (QA: eight dead receivers held all 8 slots, each
 * child up to its 60 s budget, and a healthy webhook got nothing for
 * ~80 s). A child tells the dispatcher when an attempt starts and how it
 * went, and records it with the webhook (last_delivered_at or
 * last_failed_at, sql/083), which the tick reads for the webhooks it has
 * heard nothing of (QA: after every restart the hanging receivers were
 * new again and took every slot; a new URL makes a webhook untried).
 * A webhook is failing when its last attempt failed or took 1 s or more
 * (or the one in flight has lasted 1 s), delivering when it was quick
 * and delivered, untried without an outcome. Only a delivering webhook
 * takes the last free slot; untried ones together hold at most half the
 * slots (a burst of new webhooks cannot fill them). A webhook due with
 * no child, when no slot is free for it, gets one handed over: the
 * dispatcher asks one child ('h' on its socket), which leaves after the
 * attempt in flight (a new child after its first, so every start moves
 * its webhook on), handing its unattempted rows back. It asks, in this
 * order, a child of the webhook with the most children (over its fair
 * share), a failing webhook's, an untried one's, the child started
 * longest ago; only a delivering webhook takes a delivering webhook's
 * only child. Extra children for a webhook that falls behind start only
 * for one whose children ran before the tick (one that waited for a
 * slot is not behind). Freed slots go to the delivering webhooks, then
 * the untried ones, then the failing ones; in each, to the webhook
 * served longest ago. The bound: whatever number of receivers hang, a
 * webhook that has delivered (before a restart too) waits for a child
 * at most one attempt timeout (10 s) plus the tick's second — at once
 * while the kept slot is free; a new webhook's first attempt waits for
 * the untried ones before it, half the slots at a time (docs/API.md
 * §11 gives the formula); a failing webhook gets its turn in a round
 * robin of the failing ones, one attempt per turn. The caps are the
 * process's: each dispatcher has its own.
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
 * timeout), records it, hands the rest of its claim back (due at once,
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
 * deliveries that has none running, or asks a child to hand its slot over
 * ("Sharing the slots"; db: the caller's connection, for the one query).
 * Returns at once. */
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
