/*
 * clock: see clock.h.
 */
#include "core/clock.h"

#include <stddef.h>
#include <sys/time.h>
#include <time.h>

static int64_t frozen_ms;

int64_t
sp_clock_now_ms(void)
{
    if (frozen_ms != 0)
        return frozen_ms;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

void
sp_clock_freeze(int64_t ms)
{
    frozen_ms = ms;
}

int64_t
sp_clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
