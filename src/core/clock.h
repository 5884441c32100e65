/*
 * clock: the one "now" of the program (wall clock, milliseconds since the
 * epoch). Everything that stamps, times out or compares with now asks
 * here, so a test can freeze it and see the same instant everywhere.
 * Process supervision (respawn pauses, drain deadlines in http/server.c)
 * and per-process throttles keep the real clock: freezing time must not
 * stop a master from respawning its workers.
 * Must not: know HTTP, SQL or the domain.
 */
#ifndef SP_CLOCK_H
#define SP_CLOCK_H

#include <stdint.h>

/* Now, in milliseconds since the epoch (frozen while a test froze it). */
int64_t sp_clock_now_ms(void);
/* Tests: pin now at ms; 0 lets the real clock run again. */
void sp_clock_freeze(int64_t ms);
/* Elapsed-time measurements (latency metrics, job durations): a monotonic
 * clock in microseconds, never frozen and never stepped by NTP. */
int64_t sp_clock_mono_us(void);

#endif
