/*
 * rfc3339: "YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)" -> ms since the epoch,
 * and back (UTC, milliseconds).
 */
#ifndef SP_RFC3339_H
#define SP_RFC3339_H

#include <stdbool.h>
#include <stdint.h>

/* The last instant with a four-digit year, 9999-12-31T23:59:59.999Z. */
#define SP_RFC3339_MAX_MS INT64_C(253402300799999)

/* False for anything else, instants before 1970 or after
 * SP_RFC3339_MAX_MS (whatever the offset) and impossible dates
 * (2026-02-30, 24:00); fractions beyond milliseconds are truncated. */
bool sp_rfc3339_parse(const char *s, int64_t *ms);

/* ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" (API.md §1). */
#define SP_RFC3339_LEN 25   /* with the NUL */
void sp_rfc3339_format(int64_t ms, char out[SP_RFC3339_LEN]);

#endif
