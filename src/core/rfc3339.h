/*
 * rfc3339: "YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)" -> ms since the epoch,
 * and back (UTC, milliseconds).
 */
#ifndef SP_RFC3339_H
#define SP_RFC3339_H

#include <stdbool.h>
#include <stdint.h>

/* The first and the last instant with a four-digit year RFC 3339 can
 * write: 0001-01-01T00:00:00Z (before the epoch: negative) and
 * 9999-12-31T23:59:59.999Z. */
#define SP_RFC3339_MIN_MS INT64_C(-62135596800000)
#define SP_RFC3339_MAX_MS INT64_C(253402300799999)

/* False for anything else, year 0000, instants outside
 * [SP_RFC3339_MIN_MS, SP_RFC3339_MAX_MS] (whatever the offset) and
 * impossible dates (2026-02-30, 24:00); fractions beyond milliseconds
 * are truncated. Instants before 1970 are negative. */
bool sp_rfc3339_parse(const char *s, int64_t *ms);

/* ms since the epoch, in [SP_RFC3339_MIN_MS, SP_RFC3339_MAX_MS], as
 * "YYYY-MM-DDTHH:MM:SS.mmmZ" (API.md §1); a negative ms is before 1970
 * (1969-12-31T23:59:59.999Z for -1), never rounded towards it. */
#define SP_RFC3339_LEN 25   /* with the NUL */
void sp_rfc3339_format(int64_t ms, char out[SP_RFC3339_LEN]);

/* An RFC 3339 time as people read it, in UTC, to the minute: "6 Dec 2026,
 * 14:05 UTC" (the admin pages, notification mails); false (out empty) for
 * anything sp_rfc3339_parse refuses. */
#define SP_RFC3339_TEXT_LEN 32   /* with the NUL */
bool sp_rfc3339_text(const char *iso, char out[SP_RFC3339_TEXT_LEN]);

/* The whole seconds of ms, rounded down (-1 ms is second -1, not 0): what
 * a struct tm of a time before 1970 is made from. */
int64_t sp_rfc3339_floor_seconds(int64_t ms);

#endif
