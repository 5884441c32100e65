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

#define DAY_S INT64_C(86400)

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar, for
 * any year (H. Hinnant's days_from_civil): timegm's range and its
 * handling of years before 1900 are the C library's business, this
 * arithmetic is exact. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The inverse: the civil date of day z since 1970-01-01. */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int64_t
sp_rfc3339_floor_seconds(int64_t ms)
{
    return ms / 1000 - (ms % 1000 < 0);
}

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
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
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
    int64_t t = days_from_civil(y, mo, d) * DAY_S + h * 3600 + mi * 60 + sec;
    int64_t v = (t - (int64_t)offset * 60) * 1000 + frac;
    /* The offset may carry the instant out of the range the date was
     * checked in: 0001-01-01T00:00:00+01:00 is in year 0, and
     * 9999-12-31T23:59:59-01:00 in 10000, years sp_rfc3339_format cannot
     * write (fuzz_rfc3339). Years 1 to 1969 are negative instants (QA:
     * 1969-12-31T23:59:59Z was refused, 9999 accepted). */
    if (v < SP_RFC3339_MIN_MS || v > SP_RFC3339_MAX_MS)
        return false;
    *ms = v;
    return true;
}

void
sp_rfc3339_format(int64_t ms, char out[SP_RFC3339_LEN])
{
    /* Rounded down, so a time before 1970 keeps its date and its
     * milliseconds count up from its second (-1 ms: 23:59:59.999). */
    int64_t s = sp_rfc3339_floor_seconds(ms);
    int64_t day = s / DAY_S - (s % DAY_S < 0), in_day = s - day * DAY_S, y;
    int mo, d;
    civil_from_days(day, &y, &mo, &d);
    /* Years outside 1..9999 do not fit: callers stay in the range. */
    char buf[64];
    snprintf(buf, sizeof(buf), "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)y, mo, d,
             (int)(in_day / 3600), (int)(in_day / 60 % 60), (int)(in_day % 60),
             (int)(ms - s * 1000));
    memcpy(out, buf, SP_RFC3339_LEN - 1);
    out[SP_RFC3339_LEN - 1] = '\0';
}

bool
sp_rfc3339_text(const char *iso, char out[SP_RFC3339_TEXT_LEN])
{
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int64_t ms, y;
    int mo, d;
    out[0] = '\0';
    if (!sp_rfc3339_parse(iso, &ms))
        return false;
    int64_t s = sp_rfc3339_floor_seconds(ms);   /* 1969 stays 1969 */
    int64_t day = s / DAY_S - (s % DAY_S < 0), in_day = s - day * DAY_S;
    civil_from_days(day, &y, &mo, &d);
    snprintf(out, SP_RFC3339_TEXT_LEN, "%d %s %lld, %02d:%02d UTC", d, months[mo - 1],
             (long long)y, (int)(in_day / 3600), (int)(in_day / 60 % 60));
    return true;
}
