/*
 * rfc3339: strict parsing of RFC 3339 timestamps (the API's only time
 * format) into milliseconds since the epoch. Used for query parameters
 * (created_after) and the jobs' --now. Must not: accept partial dates,
 * local times without an offset, or out-of-range fields (they would reach
 * SQL as a data exception instead of a field error).
 */
#include "core/rfc3339.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static bool
digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if ((*s)[i] < '0' || (*s)[i] > '9')
            return false;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return true;
}

static bool
lit(const char **s, char c)
{
    if (**s != c)
        return false;
    (*s)++;
    return true;
}

bool
sp_rfc3339_parse(const char *s, int64_t *ms)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec, frac = 0;
    if (s == NULL || !digits(&s, 4, &y) || !lit(&s, '-') || !digits(&s, 2, &mo) || !lit(&s, '-') ||
        !digits(&s, 2, &d) || !(lit(&s, 'T') || lit(&s, 't')) || !digits(&s, 2, &h) ||
        !lit(&s, ':') || !digits(&s, 2, &mi) || !lit(&s, ':') || !digits(&s, 2, &sec))
        return false;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
        sec > 59)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap)
        return false;
    if (lit(&s, '.')) {
        int nd = 0;
        for (; *s >= '0' && *s <= '9'; s++, nd++)
            if (nd < 3)
                frac = frac * 10 + (*s - '0');
        if (nd == 0)
            return false;
        for (; nd < 3; nd++)
            frac *= 10;
    }
    int offset = 0; /* minutes east of UTC */
    if (!(lit(&s, 'Z') || lit(&s, 'z'))) {
        int sign = *s == '+' ? 1 : *s == '-' ? -1 : 0;
        int oh, om;
        if (sign == 0)
            return false;
        s++;
        if (!digits(&s, 2, &oh) || !lit(&s, ':') || !digits(&s, 2, &om) || oh > 23 || om > 59)
            return false;
        offset = sign * (oh * 60 + om);
    }
    if (*s != '\0')
        return false;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    int64_t v = ((int64_t)t - (int64_t)offset * 60) * 1000 + frac;
    /* The offset may carry the instant out of the range the date was
     * checked in: 1970-01-01T00:00:00+01:00 is before the epoch, and
     * 9999-12-31T23:59:59-01:00 is in a year sp_rfc3339_format cannot
     * write (fuzz_rfc3339). */
    if (v < 0 || v > SP_RFC3339_MAX_MS)
        return false;
    *ms = v;
    return true;
}

void
sp_rfc3339_format(int64_t ms, char out[SP_RFC3339_LEN])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    /* Years past 9999 do not fit: the clock of this service never gets there. */
    char buf[64];
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    memcpy(out, buf, SP_RFC3339_LEN - 1);
    out[SP_RFC3339_LEN - 1] = '\0';
}
