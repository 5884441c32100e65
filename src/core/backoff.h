/*
 * backoff: retry schedules. The outbox deliveries' (API.md §11): about
 * 10 s, 30 s, 1 min, 2 min, 4 min, … doubling, capped at 1 h between
 * attempts, each with ±20 % jitter so receivers that come back are not
 * hit by every queued event at the same instant. And the loop daemons'
 * wait for their database (jobs/job.c): doubling from a first delay to a
 * cap. Pure: the caller passes the randomness, so tests pin it.
 * Must not: read the clock or a random source itself.
 */
#ifndef SP_BACKOFF_H
#define SP_BACKOFF_H

#include <stdint.h>

#define SP_BACKOFF_CAP_MS (60LL * 60 * 1000)
#define SP_BACKOFF_JITTER 0.2

/* The delay before the next attempt after `failures` failed attempts
 * (1 = the first attempt failed), before jitter. failures < 1 counts as 1. */
int64_t sp_backoff_base_ms(int failures);
/* The same with jitter: u in [0, 1) maps linearly onto [-20 %, +20 %);
 * values outside are clamped. Never more than the cap plus 20 %. */
int64_t sp_backoff_ms(int failures, double u);

/* The loop daemons' wait for an unreachable database: first_ms after the
 * first failed attempt, doubling after each further one, never over
 * cap_ms (e.g. 2 s, 4 s, 8 s, … 60 s): a restart is noticed within
 * seconds, a long outage costs one attempt (and one log line) a minute.
 * failures < 1 counts as 1. */
int64_t sp_backoff_doubling_ms(int failures, int64_t first_ms, int64_t cap_ms);

#endif
