/*
 * ticket_json: the members of a ticket's JSON representation (API.md §4
 * customer view, §5 agent view) written from a struct sp_ticket — one
 * writer for the API's views (api/views.c adds the decrypted contact and
 * the messages) and for the data of webhook events (API.md §11), which
 * carry the ticket as agents see it, without the customer's contact
 * details and without messages.
 * Must not: decrypt (the caller owns the keys), know HTTP.
 */
#ifndef SP_TICKET_JSON_H
#define SP_TICKET_JSON_H

#include <stdbool.h>

struct sp_jw;
struct sp_ticket;

/* The view's members, inside an object the caller opened: every member
 * of the customer view, and with agent the agent view's own (id,
 * customer_id, assignment, SLA, escalation, sentiment, rule) except the
 * contact object. */
void sp_ticket_json_members(struct sp_jw *w, const struct sp_ticket *t, bool agent);

#endif
