/*
 * tickets: the ticket concept as customers use it — create, list, read,
 * reply — with the SQL that owns it. Every write is one transaction that
 * also records its support_ticket_events row.
 * Must not: know HTTP; bodies arrive already sanitized (core/sanitize).
 */
#ifndef SP_TICKETS_H
#define SP_TICKETS_H

#include "core/tier.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "core/problem.h"
#include "core/versions.h"
#include "domain/ctx.h"
#include "domain/contacts.h"
#include "domain/lifecycle.h"

enum sp_source { SP_SOURCE_WEB = 0, SP_SOURCE_EMAIL, SP_SOURCE_CHAT, SP_SOURCE_MAX };
extern const char *const sp_source_names[SP_SOURCE_MAX + 1];   /* NULL-terminated */

struct sp_message {
    long long id;
    const char *sender_type;
    const char *sender_id;
    /* The display name of the agent who wrote it (sender_type agent); NULL
     * for any other sender, an agent without a name, or a row gone. */
    const char *sender_name;
    const char *body;
    const char *attachments_json;  /* JSON array text */
    bool is_internal;
    const char *created_at;
};

struct sp_ticket {
    long long id;
    const char *public_id;
    const char *customer_id;
    const char *subject;
    const char *description;
    const char *status;
    const char *priority;
    const char *source;
    const char *category;          /* slug or NULL */
    const char *provider_id;       /* decimal text or NULL */
    const char *booking_id;
    const char *metadata_json;
    const char *created_at, *updated_at, *closed_at, *last_message_at;
    long long version;
    long long message_count;
    long long assigned_agent_id;   /* 0 = unassigned */
    /* agent view only */
    const char *sla_due_at, *first_response_due_at, *first_responded_at, *resolution_due_at;
    const char *escalated_at;
    bool sla_paused, sla_breached;
    const char *sentiment;         /* decimal text or NULL */
    const char *priority_rule;     /* name of the rule that set the priority */
    const char *contact_name_enc, *contact_email_enc, *contact_phone_enc, *contact_tier;
    bool email_suppressed;         /* the contact address bounced hard (mail_bounce.h) */
    const char *chat_session_id;   /* public id of the chat it came from, or NULL */
    /* the customer's list only (sp_ticket_list_for_customer): the sender
     * type of the last public message, and when an agent last wrote one
     * (NULL: never) */
    const char *last_message_from, *last_agent_reply_at;
    struct sp_message *messages;
    size_t nmessages;
    long long messages_next_after; /* keyset position for the next page; 0 = end */
};

/* SQL: "a target passed unmet" (shared API.md §5.2) for the ticket row
 * `alias`: the monitor's flag, or a running target already past that the
 * monitor has not judged yet. The views' sla_breached, the queue's
 * sla=breached and the dashboard's sla_breached count follow this one
 * rule, so one answer never shows a ticket selected as breached with
 * "sla_breached": false. */
/* (NULL, with no running target and no flag, reads as false.) */
#define SP_TICKET_SLA_BREACHED(alias) \
    "(" alias ".sla_breached OR " alias ".sla_due_at < now())"

/* SQL scalar: how many tickets not closed SP_TICKET_SLA_BREACHED selects,
 * read without a pass over the live tickets: the flagged ones from the
 * counters of sql/024 (kept in each change's transaction), plus the
 * running targets past due that the monitor has not flagged yet, an
 * index range over support_tickets_sla_unflagged_live. The dashboard's
 * sla_breached and the support_tickets_sla_breached_open gauge: a monitor
 * that stops running must not stop either from rising. */
#define SP_TICKETS_SLA_BREACHED_OPEN_COUNT                                                         \
    "((SELECT coalesce(sum(n), 0) FROM support_ticket_counts WHERE key = 'flagged')"              \
    " + (SELECT count(*) FROM support_tickets WHERE sla_due_at < now() AND NOT sla_breached"      \
    "    AND status <> 'closed'))"

/* API.md §4's limits, in code points: a subject and a booking id once
 * trimmed, and a message body (the description, a reply, a note) once
 * sanitized. */
#define SP_TICKET_SUBJECT_MAX 200
#define SP_TICKET_BOOKING_MAX 64
#define SP_TICKET_BODY_MAX 20000

struct sp_ticket_new {
    const char *customer_id;
    const char *subject;
    const char *description;       /* sanitized HTML */
    /* The text the priority rules and the sentiment score read with the
     * subject (API.md §5.3): what the customer wrote, as plain text. NULL:
     * the description's text (entities decoded, no tags); a chat's
     * conversion passes its customer's messages without the transcript's
     * labels. */
    const char *rule_text;
    /* When the customer was first answered before the ticket existed (an
     * agent's reply in the chat it comes from), in ms; 0 = not yet. */
    int64_t first_responded_at;
    /* Made by a job (the chat archive), not by the customer: its created
     * event's actor is the system (API.md §5.1). */
    bool by_system;
    const char *category_slug;     /* NULL = none */
    enum sp_source source;
    const char *provider_id;       /* decimal text or NULL */
    const char *booking_id;
    const char *metadata_json;     /* object text or NULL */
    enum sp_tier tier;             /* the customer's */
    bool tier_stored;              /* no tier given: the stored contact's applies */
    long long chat_session_id;     /* the chat it came from; 0 = none */
    /* The agent who keeps it (sp_route_ticket: under the open-ticket cap):
     * the chat's, or that of the closed ticket a mailed follow-up
     * continues; 0 = routing picks. */
    long long keep_agent_id;
    /* The agent who makes it (a chat's transfer by its agent), 0 = none:
     * an agent assigned what they made themselves is not told of it
     * (API.md §11, Staff notification rows; QA: a ticket.assigned mail
     * about herself). */
    long long actor_agent_id;
    /* The chat's public id when someone other than the customer (an agent,
     * an admin, the archive job) made it this ticket: the customer is told
     * where it continues (chat.escalated, on ctx->customer_channels).
     * NULL = nobody is told (the customer made it). */
    const char *escalated_chat;
    const struct sp_contact_sealed *contact;  /* NULL: nothing to store */
};

/* Creates the ticket, its first message and its `created` event in one
 * statement. Unknown or inactive category -> SP_INVALID (field category). */
enum sp_rc sp_ticket_create(struct sp_ctx *ctx, const struct sp_ticket_new *in,
                            struct sp_ticket *out, struct sp_problem *p);

/* The customer's own ticket with public messages after `after_message_id`
 * (at most `limit`). Another customer's ticket is SP_NOT_FOUND. */
enum sp_rc sp_ticket_get_for_customer(struct sp_ctx *ctx, const char *public_id,
                                      const char *customer_id, long long after_message_id,
                                      int limit, struct sp_ticket *out, struct sp_problem *p);
/* The version and category slug of the customer's own ticket: equal
 * stamps mean an equal customer representation (every change to the
 * ticket or its messages bumps the version; the slug is the one joined
 * value) but for the agents' sender_name, which a rename changes without
 * a version: a kept rendering shows the old name until the ticket's next
 * change, by choice (docs/API.md §4 "Who answered"). Another customer's
 * ticket is SP_NOT_FOUND. */
struct sp_ticket_stamp {
    long long version;
    const char *category;      /* NULL without a category */
};
enum sp_rc sp_ticket_stamp_for_customer(struct sp_ctx *ctx, const char *public_id,
                                        const char *customer_id, struct sp_ticket_stamp *out,
                                        struct sp_problem *p);
/* Any ticket by numeric id or public id, with every message (internal
 * notes included) after `after_message_id`. */
enum sp_rc sp_ticket_get_for_agent(struct sp_ctx *ctx, long long id, const char *public_id,
                                   long long after_message_id, int limit, struct sp_ticket *out,
                                   struct sp_problem *p);
/* Reads a row of the ticket columns (TICKET_COLUMNS in tickets.c) —
 * shared with the queue. */
void sp_ticket_read_row(const PGresult *r, int row, struct sp_ticket *t);
extern const char sp_ticket_columns[];
extern const char sp_ticket_joins[];
#define SP_TICKET_NCOLS 34

struct sp_ticket_page {
    struct sp_ticket *items;
    size_t n;
    long long next_before;         /* keyset position for the next page; 0 = end */
};

/* Newest first; statuses NULL = all; booking_id NULL = any (else that
 * booking's exactly); before_id 0 = from the newest. Each item carries
 * last_message_from and last_agent_reply_at. */
enum sp_rc sp_ticket_list_for_customer(struct sp_ctx *ctx, const char *customer_id,
                                       const bool statuses[SP_STATUS_MAX],
                                       const char *booking_id, long long before_id, int limit,
                                       struct sp_ticket_page *out, struct sp_problem *p);

/* Adds a customer reply, reopening per the lifecycle (API.md §4); on a
 * closed ticket -> SP_CONFLICT ticket_closed; SP_PRECONDITION when
 * if_match (If-Match; SP_VERSIONS_ANY: none) does not hold the ticket's
 * version. Runs in the caller's transaction: the create protocol's
 * (sp_idem_run), which also keeps the reply's Idempotency-Key with it. */
enum sp_rc sp_ticket_customer_reply(struct sp_ctx *ctx, const char *public_id,
                                    const char *customer_id, struct sp_versions if_match,
                                    const char *body, struct sp_message *out,
                                    struct sp_problem *p);

/* The customer marks their ticket solved (Zendesk's "mark as solved"):
 * resolved from any open state, nothing when it is resolved already; a
 * closed ticket is SP_CONFLICT ticket_closed. The usual resolved clock
 * runs (auto-close after SUPPORT_AUTOCLOSE_DAYS); the customer is not
 * notified of their own move. A transaction of its own. if_match as for
 * a reply. */
enum sp_rc sp_ticket_customer_resolve(struct sp_ctx *ctx, const char *public_id,
                                      const char *customer_id, struct sp_versions if_match,
                                      struct sp_problem *p);

/* Events of a ticket, oldest first, after event id `after`. */
struct sp_ticket_event {
    long long id;
    const char *event_type, *actor_type, *performed_by, *metadata_json, *created_at;
};
enum sp_rc sp_ticket_events(struct sp_ctx *ctx, long long ticket_id, long long after, int limit,
                            struct sp_ticket_event **out, size_t *n, long long *next_after,
                            struct sp_problem *p);

#endif
