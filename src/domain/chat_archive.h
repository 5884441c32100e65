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

struct sp_chat_archive_opts {
    int64_t now_ms;              /* ms since the epoch */
    long idle_minutes;           /* SUPPORT_CHAT_IDLE_MINUTES */
    long agent_max_open;         /* SUPPORT_AGENT_MAX_OPEN_TICKETS: routing a chat's ticket */
    unsigned customer_channels;  /* SUPPORT_CUSTOMER_CHANNELS: chat.escalated rows */
    bool dry_run;                /* transactions roll back; no lock */
    /* When non-NULL and set (a signal handler's flag), the pass stops
     * after the session in hand. */
    volatile sig_atomic_t *stop;
};

enum sp_rc sp_chat_archive_pass(struct sp_db *db, const struct sp_chat_archive_opts *o,
                                struct sp_chat_archive_counts *n, struct sp_problem *p);

#endif
