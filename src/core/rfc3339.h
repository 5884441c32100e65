/*
 * rfc3339: "YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)" -> ms since the epoch,
 * and back (UTC, milliseconds).
 */
#ifndef SP_RFC3339_H
#define SP_RFC3339_H

#include <stdbool.h>
#include <stdint.h>

/* False for anything else, dates before 1970 and impossible dates
 * (2026-02-30, 24:00); fractions beyond milliseconds are truncated. */
bool sp_rfc3339_parse(const char *s, int64_t *ms);

/* ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" (API.md §1). */
#define SP_RFC3339_LEN 25   /* with the NUL */
void sp_rfc3339_format(int64_t ms, char out[SP_RFC3339_LEN]);

#endif
