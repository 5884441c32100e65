/*
 * notifications: the customer's and staff's notifications in
 * support_outbox (kind notification) as admins see them (API.md §11
 * "Notifications given up"): the list, and a retry of one given up
 * (failed or skipped) once its cause is fixed. What support-dispatch
 * does with a row is domain/dispatch's; the ticket event of a customer
 * notification given up is written by whoever gives it up, in the same
 * statement, with SP_NOTIFICATION_FAILED_EVENT.
 * Must not: show or log a recipient or a body (PII); know HTTP.
 */
#ifndef SP_DOMAIN_NOTIFICATIONS_H
#define SP_DOMAIN_NOTIFICATIONS_H

#include <stddef.h>

#include "core/problem.h"
#include "domain/ctx.h"

/* The ticket event "notification_failed" (agents' events list only) of
 * each row of rel (a CTE of support_outbox rows: id, ticket_id, kind,
 * channel, recipient, event_type, status, last_error) that is a customer
 * notification given up: a mail, SMS or push to the ticket's customer
 * whose status is failed or skipped — but a channel skipped for want of
 * the contact (no phone for an SMS, no address for a mail) while another
 * channel of the same change (its rows share event_type and created_at:
 * one transaction queued them) has reached the customer or may still:
 * a customer without a phone is no failure on every ticket (QA: each
 * demo ticket's timeline filled with "no_phone" beside the mails sent).
 * Its metadata names the channel, the reason (last_error), the row and
 * its event, never the recipient or a body. An INSERT for a WITH list;
 * the ticket row is not touched (its updated_at, ETag and webhooks stay
 * as they are). */
#define SP_NOTIFICATION_FAILED_EVENT(rel)                                                      \
    "INSERT INTO support_ticket_events (ticket_id, event_type, actor_type, metadata)"          \
    " SELECT g.ticket_id, 'notification_failed', 'system',"                                    \
    "  jsonb_build_object('channel', g.channel, 'reason', g.last_error, 'outbox_id', g.id,"    \
    "   'event_type', g.event_type)"                                                           \
    " FROM " rel " g JOIN support_tickets t ON t.id = g.ticket_id"                             \
    " WHERE g.kind = 'notification' AND g.status IN ('failed', 'skipped')"                     \
    "  AND g.channel IN ('email', 'sms', 'push')"                                              \
    "  AND coalesce(g.recipient, t.customer_id) = t.customer_id"                               \
    "  AND NOT (g.status = 'skipped' AND g.last_error IN ('no_email', 'no_phone')"              \
    "   AND EXISTS (SELECT 1 FROM support_outbox s JOIN support_outbox o"                      \
    "    ON o.ticket_id = s.ticket_id AND o.event_type = s.event_type"                         \
    "    AND o.created_at = s.created_at AND o.id <> s.id"                                      \
    "    WHERE s.id = g.id AND o.kind = 'notification' AND o.status IN ('pending', 'sent')"     \
    "     AND o.channel IN ('email', 'sms', 'push')"                                           \
    "     AND coalesce(o.recipient, t.customer_id) = t.customer_id))"

/* One row as admins see it: never its recipient or payload. */
struct sp_notification {
    long long id;
    const char *ticket_id;          /* the ticket's public id; NULL: none */
    const char *channel, *event_type;
    const char *status;             /* pending | sent | failed | skipped */
    long long attempts;
    long long last_status_code;     /* 0: none */
    const char *last_error;         /* NULL: none */
    const char *created_at;
    const char *next_attempt_at;    /* NULL unless pending */
    const char *delivered_at;       /* NULL until sent */
};

/* Newest first, after the id `after` (0: from the newest), at most limit:
 * status and ticket (a canonical public id) filter when not NULL. *next
 * is the id to continue after (0: last page). */
enum sp_rc sp_notifications_list(struct sp_ctx *ctx, const char *status, const char *ticket,
                                 long long after, int limit, struct sp_notification **items,
                                 size_t *n, long long *next, struct sp_problem *p);

/* Sends a failed or skipped row again: pending and due now, attempts 0,
 * its 24 h window restarted (created_at now), and dispatchers woken (the
 * outbox's NOTIFY); its ticket gets the event "notification_retried"
 * ({"outbox_id"}) by admin (a JWT sub). SP_NOT_FOUND for an unknown id,
 * SP_CONFLICT not_retryable for a row pending or sent. One statement:
 * inside the caller's transaction when there is one (the create
 * protocol's), its own otherwise. */
enum sp_rc sp_notification_retry(struct sp_ctx *ctx, long long id, const char *admin,
                                 struct sp_notification *out, struct sp_problem *p);

#endif
