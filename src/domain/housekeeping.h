/*
 * housekeeping: purges rows whose purpose has passed — rate-limit windows
 * older than two days and Idempotency-Key records older than 24 hours
 * (API.md §1) — in bounded batches so a run never holds long locks.
 * Run by ticket-sla-monitor every minute. Must not: touch anything a
 * request could still need.
 */
#ifndef SP_HOUSEKEEPING_H
#define SP_HOUSEKEEPING_H

#include <stdbool.h>
#include <stdint.h>

#include "core/log.h"
#include "core/problem.h"

struct sp_db;

#define SP_HOUSEKEEPING_COUNTS(F) F(rate_windows) F(idempotency_keys)
struct sp_housekeeping_counts {
    SP_HOUSEKEEPING_COUNTS(SP_LOG_COUNT_MEMBER)
};

enum sp_rc sp_housekeeping_pass(struct sp_db *db, int64_t now_ms, bool dry_run,
                                struct sp_housekeeping_counts *n, struct sp_problem *p);

#endif
