/*
 * views: the JSON representations of API.md — the customer ticket view
 * (§4), the agent view (§5: plus ids, contact, SLA fields, internal
 * notes), list summaries, messages, events and agents. One renderer per
 * shape, used by every handler that returns it.
 * Must not: query the database (decryption of contact PII is the only
 * work besides formatting).
 */
#ifndef SP_VIEWS_H
#define SP_VIEWS_H

#include "core/buf.h"
#include "domain/agents.h"
#include "domain/tickets.h"
#include "http/http.h"

struct sp_crypto;

enum sp_view { SP_VIEW_CUSTOMER, SP_VIEW_CUSTOMER_SUMMARY, SP_VIEW_AGENT, SP_VIEW_AGENT_SUMMARY };

/* Renders one complete JSON object. */
void sp_view_ticket(struct sp_req *r, struct sp_buf *b, const struct sp_ticket *t,
                    enum sp_view view);
/* Answers status with t in view and its ETag (API.md §1), or a GET's
 * 304 when If-None-Match names that ETag (sp_api_not_modified); the body
 * it rendered, e.g. for a cache. */
const struct sp_buf *sp_view_ticket_answer(struct sp_req *r, int status, const struct sp_ticket *t,
                                           enum sp_view view);
/* A page of ticket summaries as a list envelope (API.md §1), with the
 * next page's cursor text (NULL: the last page). Starts the buffer. */
struct sp_buf *sp_view_ticket_page(struct sp_req *r, const struct sp_ticket *items, size_t n,
                                   enum sp_view view, const char *next_cursor);
void sp_view_message(struct sp_buf *b, const struct sp_message *m, bool agent);
void sp_view_event(struct sp_buf *b, const struct sp_ticket_event *e);
void sp_view_agent(struct sp_buf *b, const struct sp_agent *a);

#endif
