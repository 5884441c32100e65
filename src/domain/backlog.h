/*
 * backlog: the work waiting, as operators watch it (GET /metrics,
 * docs/metrics.md): outbox entries pending and failed, the age of the
 * oldest pending one, the same for webhook deliveries (failed: in the last
 * 24 hours), and the open tickets past their SLA. One read-only
 * statement over partial indexes, cheap enough for every scrape.
 * Must not: know HTTP or the exposition format; change anything.
 */
#ifndef SP_BACKLOG_H
#define SP_BACKLOG_H

#include <stdbool.h>

#include "core/problem.h"
#include "domain/ctx.h"

struct sp_backlog {
    long long outbox_pending;
    double outbox_oldest_pending_age_s;   /* 0 when none is pending */
    long long outbox_failed;              /* deliveries given up */
    long long webhook_pending;            /* support_webhook_deliveries */
    double webhook_oldest_pending_age_s;  /* 0 when none is pending */
    long long webhook_failed_24h;         /* given up in the last 24 hours */
    long long tickets_sla_breached_open;  /* not closed, SP_TICKET_SLA_BREACHED */
};

enum sp_rc sp_backlog_read(struct sp_ctx *ctx, struct sp_backlog *out, struct sp_problem *p);

#endif
