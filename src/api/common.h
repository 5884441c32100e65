/*
 * common: what every handler repeats, written once — the domain context
 * of a request, list parameters (limit, cursor) and list answers, ETags,
 * the create protocol (transaction + Idempotency-Key + 201/Location) of
 * API.md §1, and who the caller is to the domain (their agent row, the
 * chat sessions they may use).
 */
#ifndef SP_API_COMMON_H
#define SP_API_COMMON_H

#include <stdbool.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/json_writer.h"
#include "core/versions.h"
#include "domain/categories.h"
#include "domain/contacts.h"
#include "domain/ctx.h"
#include "domain/party.h"
#include "domain/ratelimit.h"
#include "http/http.h"
#include "http/query.h"

struct sp_ctx sp_api_ctx(struct sp_req *r);
/* sp_api_ctx on the replica (SUPPORT_DATABASE_READ_URL) when one is set
 * and reachable, else the primary: only for the read-mostly endpoints
 * whose answers may lag the primary by the replication lag (the agent
 * queue, the dashboard, the public knowledge base; docs/operations.md,
 * "Two nodes"), never for a read of the caller's own write. */
struct sp_ctx sp_api_read_ctx(struct sp_req *r);

/* The paging parameters of a list (API.md §1), for sp_query_read tables:
 * ?limit= (1..100, default def) and ?cursor= of this list's kind. */
#define SP_API_LIMIT(name, def)                                                              \
    {(name), SP_QUERY_INT, 1, 100, (def), NULL, NULL, NULL, NULL,                            \
     "must be an integer from 1 to 100", true}
#define SP_API_CURSOR(name, kind)                                                            \
    {(name), SP_QUERY_CURSOR, 0, 0, 0, NULL, NULL, NULL, (kind),                             \
     "is not a cursor returned by this list", false}

/* Renders one item of a list into w, a writer fresh for the item. */
typedef void sp_api_item_writer(struct sp_jw *w, const void *item);

/* A plain keyset list (API.md §1), declared once: the kind of its
 * cursors (the one ?cursor= must be and next_cursor is), its default
 * ?limit=, and its items (item_size bytes each, each rendered by write;
 * NULL for a page a renderer of its own writes: sp_view_ticket_page, a
 * chat session's messages inside the session). */
struct sp_api_list {
    const char *kind;
    int def_limit;
    size_t item_size;
    sp_api_item_writer *write;
};

/* A page of a plain keyset list: where it starts and how long it is
 * (the query), then what its fetch found: n items and next, where the
 * next page starts (0: this is the last page). */
struct sp_api_page {
    int limit;
    long long after;
    size_t n;
    long long next;
    const char *scope;  /* its cursors' (sp_query_scope: bound to the filters) */
};
/* ?limit= (1..100, default list->def_limit) and ?cursor= of list's kind:
 * the whole query of a plain keyset list. */
enum sp_rc sp_api_page_params(struct sp_req *r, const struct sp_api_list *list,
                              struct sp_api_page *page, struct sp_problem *p);
/* The query of a filtered keyset list: its nfilters filters into q, then
 * its paging as sp_api_page_params reads it, in one sp_query_read (one
 * 422 lists every bad parameter). */
enum sp_rc sp_api_page_query(struct sp_req *r, const struct sp_api_list *list,
                             const struct sp_query_spec *filters, size_t nfilters,
                             struct sp_query_value *q, struct sp_api_page *page,
                             struct sp_problem *p);
/* Answers 200 with the list envelope of the page's n items at items and
 * the cursor of its next page (sp_api_answer_list). */
enum sp_rc sp_api_answer_page(struct sp_req *r, const struct sp_api_list *list,
                              const struct sp_api_page *page, const void *items);

/* ?messages_limit= (1..100, default 100) and ?messages_cursor= of a
 * ticket's messages: the customer's view decodes its cursor in the
 * path's scope (its one spelling, the public id), the agent's reads it
 * as a ticket cursor (sp_api_ticket_cursor_read: the cursor spec's
 * position is 0 there). */
enum { SP_API_MESSAGES_LIMIT, SP_API_MESSAGES_CURSOR, SP_API_MESSAGES_COUNT };
extern const struct sp_query_spec sp_api_messages_query[SP_API_MESSAGES_COUNT];
extern const struct sp_query_spec sp_api_agent_messages_query[SP_API_MESSAGES_COUNT];

/* An agent's lists of one ticket (its messages, its events) page with
 * cursors bound to the ticket itself: its internal id is sealed in them
 * beside the position, instead of the path's spelling of it —
 * /support/agent/tickets/4 and …/PN5D17T96VWX name one ticket, and a
 * cursor of one is good on the other (QA: 422 on the other spelling),
 * never on another ticket. As a query spec it is text (pages only),
 * read by sp_api_ticket_cursor_read. */
#define SP_API_TICKET_CURSOR(name)                                                           \
    {(name), SP_QUERY_STRING, 1, 0, 0, NULL, NULL, NULL, NULL,                               \
     "is not a cursor returned by this list", true}
struct sp_api_ticket_cursor {
    long long ticket;   /* the ticket it pages; 0: none given (the first page) */
    long long after;    /* the position after which the page starts */
};
/* The cursor of kind q holds (the spec's value; absent: none) into *out;
 * SP_INVALID, a field error on name, when it is no such cursor. */
enum sp_rc sp_api_ticket_cursor_read(const char *name, const char *kind,
                                     const struct sp_query_value *q,
                                     struct sp_api_ticket_cursor *out, struct sp_problem *p);
/* Once the path's ticket is read: SP_INVALID, the same field error on
 * name, when c is a cursor of another ticket. */
enum sp_rc sp_api_ticket_cursor_check(const char *name, const struct sp_api_ticket_cursor *c,
                                      long long ticket, struct sp_problem *p);
/* The cursor of the page of ticket's list of kind after next, in r's
 * arena; NULL when next is 0 (the last page). */
const char *sp_api_ticket_next_cursor(struct sp_req *r, const char *kind, long long ticket,
                                      long long next);
/* flags[i] = bit i of set, for i < n. */
void sp_api_set_flags(uint64_t set, bool *flags, int n);

/* The list envelope {"data":[…],"next_cursor":"…"|null}: begin, then
 * sp_api_list_item() before each item, then end with the next page's
 * cursor text (NULL: last page). For a list that renders each of its
 * items alike, sp_api_answer_list() does all three and answers. */
void sp_api_list_begin(struct sp_buf *b);
void sp_api_list_item(struct sp_buf *b, size_t index);
void sp_api_list_end_cursor(struct sp_buf *b, const char *cursor);
/* The cursor text of the next page of a keyset list of this kind, in
 * scope (a page's, or sp_req_scope for a list without filters): NULL
 * when next is 0 (this is the last page). */
const char *sp_api_next_cursor(struct sp_req *r, const char *scope, const char *kind,
                               long long next);

/* The list envelope of the n items at items (size bytes each), each
 * rendered by write, and next_cursor (NULL: last page), in a new buffer. */
struct sp_buf *sp_api_list_render(struct sp_req *r, const void *items, size_t n, size_t size,
                                  sp_api_item_writer *write, const char *next_cursor);
/* Answers 200 with sp_api_list_render's envelope. */
enum sp_rc sp_api_answer_list(struct sp_req *r, const void *items, size_t n, size_t size,
                              sp_api_item_writer *write, const char *next_cursor);

/* Sets the ETag of a row's representation, "<id>-v<version>" (articles:
 * a slug can name a new article, whose versions start again at 1), and
 * returns it. */
const char *sp_api_etag(struct sp_req *r, long long id, long long version);
/* Sets the ETag of a ticket's representation, body (len bytes) at
 * version: "v<version>-<16 hex digits of the body's SHA-256>", so that it
 * changes with anything the body shows, and returns it. If-Match reads
 * the version from it (sp_api_if_match with id 0). */
const char *sp_api_ticket_etag(struct sp_req *r, long long version, const char *body,
                               size_t len);
/* Sets the ETag of a representation that has no row version (a whole
 * list): "d-<16 hex digits of the body's SHA-256>", so that it changes
 * with anything the body shows, and returns it. For If-None-Match only:
 * If-Match takes no such tag. */
const char *sp_api_body_etag(struct sp_req *r, const struct sp_buf *body);
/* A GET's (or HEAD's) conditional answer: when If-None-Match names etag
 * (RFC 9110 §13.1.2's weak comparison: W/ or not, in a list, or *),
 * answers 304 without a body (the ETag and other headers already set
 * stay) and returns true; false, nothing sent, otherwise or for another
 * method. */
bool sp_api_not_modified(struct sp_req *r, const char *etag);
/* If-Match: the ETag of a version of id (W/ or not; for a ticket, id 0,
 * "v<version>-<digest>" or a bare "v<version>"), a list holding some
 * (*versions: all of id's listed; RFC 9110 §13.1.1, any one current
 * matches), or * (*versions: any; no header: any too); a list without
 * one — other resources' ETags too — can never match: 412
 * precondition_failed. The write checks *versions where it locks the
 * row (412 precondition_failed when none is current). */
enum sp_rc sp_api_if_match(struct sp_req *r, long long id, struct sp_versions *versions,
                           struct sp_problem *p);
/* The numeric :id of the route (params[0]); 404 for anything else. */
enum sp_rc sp_api_id_param(struct sp_req *r, long long *id, struct sp_problem *p);
/* The same for the route's i-th parameter (…/:id/deliveries/:deliveryId: 1). */
enum sp_rc sp_api_id_param_at(struct sp_req *r, int i, long long *id, struct sp_problem *p);
/* DELETE of the row :id by a domain command, at the versions If-Match
 * names (sp_api_if_match; none: any): 204, or the command's problem (404
 * when :id is no number, 412 for a stale ETag). */
enum sp_rc sp_api_delete_by_id(struct sp_req *r,
                               enum sp_rc (*del)(struct sp_ctx *ctx, long long id,
                                                 struct sp_versions if_match, struct sp_problem *p),
                               struct sp_problem *p);
/* The same for a command that takes what it deletes from (arg: an admin
 * table's store, domain/admin_store). */
typedef enum sp_rc (*sp_api_delete_fn)(struct sp_ctx *ctx, const void *arg, long long id,
                                       struct sp_versions if_match, struct sp_problem *p);
enum sp_rc sp_api_delete_by_id_of(struct sp_req *r, sp_api_delete_fn del, const void *arg,
                                  struct sp_problem *p);
/* A public id from a path, a query or a body, in any case (core/ids.h
 * sp_public_id_read): its canonical form in r's arena, or NULL when s is
 * no public id. */
const char *sp_api_public_id(struct sp_req *r, const char *s);
/* What "the same request" means to an Idempotency-Key (API.md §1): the
 * SHA-256 of method, route, parameters (canonical) and body. */
void sp_api_request_hash(const struct sp_req *r, unsigned char out[32]);

/* The optional Idempotency-Key header (API.md §1): NULL when absent, a
 * 422 naming the header when empty or over 255 bytes. */
enum sp_rc sp_api_idempotency_key(struct sp_req *r, const char **key, struct sp_problem *p);
struct sp_buf *sp_api_buf(struct sp_req *r);

/* A single JSON document as the answer, in three steps: a writer over a
 * fresh response buffer (sp_api_object: with the document's object
 * opened, for members; sp_api_json: with nothing opened, for a renderer
 * that writes a whole value), what the handler writes into it, then
 * sp_api_send: closes what is still open and answers status with it. */
struct sp_jw *sp_api_object(struct sp_req *r);
struct sp_jw *sp_api_json(struct sp_req *r);
enum sp_rc sp_api_send(struct sp_req *r, int status, struct sp_jw *w);

/* The request body as a JSON object validated against specs: NULL with p
 * filled (400/415/422) when it is not. */
struct json_object *sp_api_read_body(struct sp_req *r, const struct sp_field_spec *specs,
                                     size_t n, struct sp_field_value *v, struct sp_problem *p);
/* As sp_api_read_body, but a field error does not end the reading: the
 * object is returned with p holding the errors, for the caller to check
 * the fields that were read on, so one 422 lists every field error
 * (API.md §1). NULL only with no fields to check (not JSON, not an
 * object). */
struct json_object *sp_api_read_fields(struct sp_req *r, const struct sp_field_spec *specs,
                                       size_t n, struct sp_field_value *v, struct sp_problem *p);
/* A resource's one field table for a create or a patch: a create needs
 * the fields marked required, a patch none (an arena copy of specs). */
const struct sp_field_spec *sp_api_fields_for(struct sp_req *r, bool create,
                                              const struct sp_field_spec *specs, size_t n);
/* sp_api_read_body with sp_api_fields_for(r, create, specs, n). */
struct json_object *sp_api_read_body_for(struct sp_req *r, bool create,
                                         const struct sp_field_spec *specs, size_t n,
                                         struct sp_field_value *v, struct sp_problem *p);

/* An optional list field (SP_FIELD_LIST) v, whose elements must all be
 * strings. Given: *out an arena array of its *n strings (owned by the
 * body), then NULL, and *set true; absent: nothing is written. A string
 * with a NUL in it is a NULL item, for sp_problem_check_items to refuse
 * by its index. A non-string element is a 422 with a field error
 * `wrong_type` on field. */
enum sp_rc sp_api_string_array(struct sp_req *r, const char *field,
                               const struct sp_field_value *v, const char *const **out,
                               size_t *n, bool *set, struct sp_problem *p);

/* sp_sanitize_body() of a body field: NULL with a field error `empty` or
 * `too_long` (API.md §1). */
const char *sp_api_body_html(struct sp_req *r, const char *field, const struct sp_field_value *v,
                             size_t max_chars, struct sp_problem *p);
/* The ids of an `attachments` field (API.md §10), for
 * sp_attachments_attach() inside the create: a non-string item is a field
 * error `wrong_type` on `attachments`. Absent: n = 0. An id in any case is given
 * in its canonical form (sp_api_public_id); anything else as written, for
 * the domain to refuse. */
struct sp_api_attachments {
    const char *const *ids;
    size_t n;
};
struct sp_api_attachments sp_api_attachment_ids(struct sp_req *r,
                                                const struct sp_field_value *attachments,
                                                struct sp_problem *p);

/* Only on the way to a 422 (p already holds field errors, none of them
 * the list's own): the attachments are checked as the write would take
 * them (sp_attachments_check), so the one 422 lists each refused item
 * with the rest (API.md §1). A valid body's are checked by the write's
 * own statement: this adds a round trip to the error path only. */
void sp_api_attachments_with_errors(struct sp_req *r, const struct sp_api_attachments *a,
                                    struct sp_problem *p);

/* Only on the way to a 422 (p already holds field errors): the agent
 * agent_id named by field is looked up too, so the one 422 lists
 * unknown_agent with the rest (API.md §1); a valid body's agent is the
 * command's own lookup. */
void sp_api_agent_with_errors(struct sp_req *r, const char *field, long long agent_id,
                              struct sp_problem *p);

/* Only on the way to a 422 (p already holds field errors): the `category`
 * field, when given well-formed, is looked up in scope too, so the one
 * 422 lists unknown_category with the rest (API.md §1). A valid body's
 * category is read by the domain command's own query instead: this adds
 * a round trip to the error path only. */
void sp_api_category_with_errors(struct sp_req *r, const struct sp_field_value *category,
                                 enum sp_category_scope scope, struct sp_problem *p);

bool sp_api_parse_status(const char *s, int *out);

/* Counts a request in `bucket`'s windows (API.md §1), sets the
 * RateLimit-* headers, and fails with 429 rate_limited + Retry-After when
 * a window is exhausted. */
enum sp_rc sp_api_rate_limit(struct sp_req *r, const char *bucket,
                             const struct sp_rate_window *windows, int nwindows,
                             struct sp_rate_result *out, struct sp_problem *p);

/* How a limited create replays an Idempotency-Key over its limit (below). */
struct sp_api_replay;
/* sp_api_rate_limit for a create that takes an Idempotency-Key (API.md §1
 * "Rate limits"): a request the limit refuses whose key holds the answer
 * to this same request is answered that answer, replayed as the create
 * protocol replays it (replay: how; NULL: never, the 429), with the
 * RateLimit-* headers and no Retry-After. Refused, not SP_OK either way:
 * p holds the 429 (or the key's own refusal: 422 idempotency_key_reused),
 * unless r->responded: the replay was the answer. Only a refused request
 * looks its key up: one under the limit costs nothing more. */
enum sp_rc sp_api_create_rate_limit(struct sp_req *r, const char *bucket,
                                    const struct sp_rate_window *windows, int nwindows,
                                    const struct sp_api_replay *replay, struct sp_problem *p);

/* The answer to a request counted as `rate` (by sp_api_rate_limit, or by a
 * statement that counted it along with its work): the RateLimit-*
 * headers, and 429 rate_limited + Retry-After when it was refused. */
enum sp_rc sp_api_rate_answer(struct sp_req *r, const struct sp_rate_result *rate,
                              struct sp_problem *p);

/* Whom the caller's uploads and Idempotency-Keys belong to
 * (domain/party.h): a customer, or staff (support_agent and support_admin
 * alike), never both for one sub. The one place a principal becomes a
 * party. */
struct sp_party sp_api_party(const struct sp_req *r);

/* The limits below are sp_api_create_rate_limit's: replay says how the
 * create replays a refused request's Idempotency-Key (NULL: a request
 * that takes none, the 429). */

/* The attachment-creation limit of the caller (API.md §10:
 * SUPPORT_ATTACHMENT_RATE_PER_MINUTE, bucket attachment_create:<party>). */
enum sp_rc sp_api_attachment_rate_limit(struct sp_req *r, const struct sp_api_replay *replay,
                                        struct sp_problem *p);

/* The ticket-creation limits of a customer (API.md §1: per minute and per
 * day, bucket ticket_create:<sub>): every way a customer makes a ticket
 * counts against them (POST /support/tickets, a chat transfer to a
 * ticket). */
enum sp_rc sp_api_ticket_rate_limit(struct sp_req *r, const struct sp_api_replay *replay,
                                    struct sp_problem *p);
/* The reply limit of a customer (API.md §1: per minute, bucket
 * ticket_reply:<sub>, all of their tickets together): each reply may mail
 * the assigned agent, so a flood of replies is a flood of mail too. */
enum sp_rc sp_api_ticket_reply_rate_limit(struct sp_req *r, const struct sp_api_replay *replay,
                                          struct sp_problem *p);
/* The chat-session creation limits of a customer (API.md §1: per minute
 * and per hour, bucket chat_session:<sub>). */
enum sp_rc sp_api_chat_session_rate_limit(struct sp_req *r, const struct sp_api_replay *replay,
                                          struct sp_problem *p);

/* The message limit of a chat session for the caller's side (API.md §7:
 * per minute, bucket chat_message:<session public id>:customer|staff),
 * shared by the HTTP fallback and the websocket frames: *window is set,
 * the bucket returned. */
const char *sp_api_chat_message_limit(struct sp_req *r, const char *session_id,
                                      struct sp_rate_window *window);

/* What a create step answers besides its body; kept with the
 * Idempotency-Key, so a replay answers the same (API.md §1). */
struct sp_api_created {
    const char *location;   /* NULL: none */
    long long version;      /* > 0: the representation's ETag (sp_api_etag) */
    long long etag_id;      /* the ETag's id: 0 for a ticket (sp_api_ticket_etag of body) */
    /* The step found its resource already made by an earlier request
     * (a chat message resent with its client_id): 200 with
     * Idempotent-Replayed: true instead of 201. */
    bool found;
    int status;             /* 0: 201 (200 when found); else this status */
};
/* Builds the resource: writes its JSON into body and fills *out (all
 * unset when called). Runs inside the create transaction. */
typedef enum sp_rc (*sp_api_create_fn)(struct sp_req *r, void *input, struct sp_buf *body,
                                       struct sp_api_created *out, struct sp_problem *p);
/* Runs fn in a transaction with Idempotency-Key handling and answers
 * 201 with its Location and ETag (or the replayed first response). */
enum sp_rc sp_api_create(struct sp_req *r, sp_api_create_fn fn, void *input,
                         struct sp_problem *p);

/* Rebuilds the answer of a replayed create, in the replay's transaction,
 * from the created resource's id: the last segment of its stored Location
 * ("" when it has none), for the replay step to check. It may set
 * out->version and out->etag_id (the rest is unused) when the rebuilt
 * resource is at a version of its own (a webhook's replayed create
 * rotates its secret); else the first answer's ETag is replayed. */
typedef enum sp_rc (*sp_api_replay_fn)(struct sp_req *r, void *input, const char *resource_id,
                                       struct sp_buf *body, struct sp_api_created *out,
                                       struct sp_problem *p);
/* How a limited create replays the stored answer of a refused request's
 * Idempotency-Key (sp_api_create_rate_limit): as its create does — fn
 * NULL: the answer as stored (sp_api_create); else the replay step and
 * its input of an answer with a secret (sp_api_create_secret). */
struct sp_api_replay {
    sp_api_replay_fn fn;
    void *input;
};
/* The replay of sp_api_create's creates. */
#define SP_API_REPLAY_STORED (&(const struct sp_api_replay){NULL, NULL})

/* sp_api_create() for answers that carry a secret shown once: only the
 * status and Location are stored with the key, and a replay answers what
 * replay builds (e.g. the same resource with a fresh secret). */
enum sp_rc sp_api_create_secret(struct sp_req *r, sp_api_create_fn fn, sp_api_replay_fn replay,
                                void *input, struct sp_problem *p);

/* The caller's agent row, created on their first request (API.md §5.5). */
struct sp_agent;
enum sp_rc sp_api_current_agent(struct sp_req *r, struct sp_agent *out, struct sp_problem *p);

/* s as a chat session's public id (*id, canonical): a malformed one names
 * no session, 404 without a query. */
enum sp_rc sp_api_chat_id(struct sp_req *r, const char *s, const char **id,
                          struct sp_problem *p);
/* The chat session public_id if the caller may use it (API.md §7): its
 * customer, its assigned agent, any admin. Anyone else gets 404 (another
 * customer's, or no such session) or 403 (an agent not assigned). */
struct sp_chat_session;
enum sp_rc sp_api_chat_for_caller(struct sp_req *r, const char *public_id,
                                  struct sp_chat_session *s, struct sp_problem *p);

/* Chat session_id continues as ticket ticket_public_id and has ended
 * (committed): its subscribers hear where it continues and that it
 * closed, then are disconnected (API.md §7); then the chats its agent's
 * freed place went to (joins, the command's ctx.chat_joins) hear that
 * the agent joined. */
struct sp_chat_joins;
void sp_api_chat_became_ticket(struct sp_req *r, const char *session_id,
                               const char *ticket_public_id, const struct sp_chat_joins *joins);

/* The customer caller's contact from their JWT claims (name, email,
 * phone, tier), sealed for support_contacts: what a ticket or a chat
 * they open stores, so their notifications can reach them. */
const struct sp_contact_sealed *sp_api_caller_contact(struct sp_req *r);

#endif
