/*
 * dispatch: delivers support_outbox (API.md §11 "Delivery", §12
 * support-dispatch). Several dispatchers may run at once, on one host or
 * many; none holds a job lock. Each round:
 *   1. claims due rows (status pending, next_attempt_at <= now) with
 *      FOR UPDATE SKIP LOCKED, and in the same statement leases them:
 *      next_attempt_at = now + SUPPORT_DISPATCH_LEASE_S, attempts + 1, a
 *      fresh claim_token; committed before anything is sent, so no other
 *      dispatcher sees them until the lease ends;
 *   2. sends them concurrently on one libcurl multi handle — at most
 *      SUPPORT_DISPATCH_CONCURRENCY in flight, at most
 *      SUPPORT_DISPATCH_PER_DESTINATION to one destination, so a slow
 *      relay or service cannot take every slot; a row that waited too long
 *      for a slot to still finish inside its lease is handed back;
 *   3. records each outcome WHERE claim_token still matches: sent; or
 *      retried after core/backoff's delay until 24 h after the row was
 *      created, then failed; or skipped (nobody to send to); or, for a
 *      mail to an address a hard bounce suppressed (the claim says so:
 *      domain/mail_bounce.h), failed "suppressed" unsent. A customer's
 *      mail, SMS or push given up (failed, skipped) leaves the event
 *      notification_failed on its ticket in the same statement
 *      (notifications.h), so the agents see the customer never heard.
 * A dispatcher killed between 1 and 3 leaves leased rows that become due
 * again when the lease ends: at-least-once, never lost. Receivers
 * de-duplicate (the same outbox id / Message-ID on every attempt).
 * Webhook rows are fanned out to their subscriptions (the webhooks
 * module), not sent from here.
 * Must not: know HTTP requests of the API, or log recipients, bodies or
 * secrets.
 */
#ifndef SP_DOMAIN_DISPATCH_H
#define SP_DOMAIN_DISPATCH_H

#include <signal.h>
#include <stdbool.h>

#include "core/log.h"
#include "core/problem.h"

struct sp_config;
struct sp_db;

struct sp_dispatch_opts {
    const struct sp_config *cfg;
    bool dry_run;                  /* claim nothing; log what is due */
    bool loop;                     /* run until *stop, woken by NOTIFY or the sweep */
    long sweep_s;                  /* loop: look for due retries this often */
    volatile sig_atomic_t *stop;   /* stop claiming, finish what is in flight */
    /* loop: called when a cycle ends — at the first claim the database
     * answers sweep_s seconds or more after the last cycle ended (the
     * first claim ends the first) — with ok false when a statement failed
     * during it; a claim that fails ends the loop instead. May be NULL. */
    void (*cycle_done)(const void *arg, bool ok);
    const void *cycle_arg;
};

#define SP_DISPATCH_COUNTS(F)                                                                      \
    F(claimed) F(sent) F(retried) F(failed) F(skipped) F(released) F(errors)
struct sp_dispatch_counts {
    SP_DISPATCH_COUNTS(SP_LOG_COUNT_MEMBER)
};

/* support-dispatch's settings and mail templates, as a pass would take
 * them (sp_channels_new): checked at start, in every mode (--dry-run
 * too), so bad ones stop the program instead of failing every pass. */
bool sp_dispatch_check(const struct sp_config *cfg, char *err, size_t errlen);

/* One pass (or, with o->loop, until *o->stop). SP_UNAVAILABLE when the
 * database is gone (what was in flight is still finished), SP_INVALID
 * when the settings or mail templates are unusable. */
enum sp_rc sp_dispatch_run(struct sp_db *db, const struct sp_dispatch_opts *o,
                           struct sp_dispatch_counts *n, struct sp_problem *p);

#endif
