/*
 * chat_archive: the chat-session-archive job (API.md §12): closes sessions
 * idle longer than SUPPORT_CHAT_IDLE_MINUTES (or expired); those with
 * customer messages and no ticket become tickets (source chat) with the
 * full transcript. One short transaction per session; one instance at a
 * time cluster-wide (advisory lock); safe to re-run.
 * Subscribers hear `ticket_created` and `closed` after each commit.
 * Must not: know HTTP.
 */
#ifndef SP_CHAT_ARCHIVE_H
#define SP_CHAT_ARCHIVE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/log.h"
#include "core/problem.h"

struct sp_db;

#define SP_CHAT_ARCHIVE_LOCK_KEY 0x5350434841524348LL /* "SPCHARCH" */

#define SP_CHAT_ARCHIVE_COUNTS(F) F(closed) F(converted) F(skipped) F(errors)
struct sp_chat_archive_counts {
    SP_CHAT_ARCHIVE_COUNTS(SP_LOG_COUNT_MEMBER)
};

struct sp_config;

/* One pass at now_ms under the settings cfg (SUPPORT_CHAT_IDLE_MINUTES;
 * the tickets' routing capacity and the customer's channels). */
enum sp_rc sp_chat_archive_pass(struct sp_db *db, const struct sp_config *cfg, int64_t now_ms,
                                bool dry_run, volatile sig_atomic_t *stop,
                                struct sp_chat_archive_counts *n, struct sp_problem *p);

#endif
