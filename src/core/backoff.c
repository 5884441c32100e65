/*
 * backoff: the retry schedule. See backoff.h.
 */
#include "core/backoff.h"

int64_t
sp_backoff_base_ms(int failures)
{
    if (failures <= 1)
        return 10 * 1000;
    if (failures == 2)
        return 30 * 1000;
    /* 1 min after the third failure, doubling; the shift stays small */
    int64_t ms = 60 * 1000;
    for (int i = 3; i < failures && ms < SP_BACKOFF_CAP_MS; i++)
        ms *= 2;
    return ms < SP_BACKOFF_CAP_MS ? ms : SP_BACKOFF_CAP_MS;
}

int64_t
sp_backoff_doubling_ms(int failures, int64_t first_ms, int64_t cap_ms)
{
    int64_t ms = first_ms;
    for (int i = 1; i < failures && ms < cap_ms; i++)
        ms *= 2;
    return ms < cap_ms ? ms : cap_ms;
}

int64_t
sp_backoff_ms(int failures, double u)
{
    if (!(u >= 0.0)) /* also NaN */
        u = 0.0;
    if (u >= 1.0)
        u = 0.999999;
    double factor = 1.0 - SP_BACKOFF_JITTER + 2.0 * SP_BACKOFF_JITTER * u;
    return (int64_t)((double)sp_backoff_base_ms(failures) * factor);
}
