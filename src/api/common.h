/*
 * common: what every handler repeats, written once — the domain context
 * of a request, list parameters (limit, cursor), ETags, and the create
 * protocol (transaction + Idempotency-Key + 201/Location) of API.md §1.
 */
#ifndef SP_API_COMMON_H
#define SP_API_COMMON_H

#include <stdbool.h>

#include "core/buf.h"
#include "core/json.h"
#include "domain/ctx.h"
#include "domain/ratelimit.h"
#include "http/http.h"

struct sp_ctx sp_api_ctx(struct sp_req *r);

/* ?name= as an integer in 1..max (default def); 422 naming the field. */
enum sp_rc sp_api_query_limit(struct sp_req *r, const char *name, int def, int max, int *out,
                              struct sp_problem *p);
/* ?name= as a cursor of the given kind; *pos = 0 when absent. */
enum sp_rc sp_api_query_cursor(struct sp_req *r, const char *name, const char *kind,
                               long long *pos, struct sp_problem *p);
/* Appends ,"name":"<cursor>" or ,"name":null. */
void sp_api_next_cursor(struct sp_req *r, struct sp_buf *b, const char *name, const char *kind,
                        long long pos);
void sp_api_etag(struct sp_req *r, long long version);
struct sp_buf *sp_api_buf(struct sp_req *r);

/* The request body as a JSON object validated against specs: NULL with p
 * filled (400/415/422) when it is not. */
struct json_object *sp_api_read_body(struct sp_req *r, const struct sp_field_spec *specs,
                                     size_t n, struct sp_field_value *v, struct sp_problem *p);

/* Sanitizes untrusted HTML for storage (API.md §4). The cap is on what
 * would be stored: escaping makes the output longer than the input ("<"
 * becomes "&lt;"), so a body within its input limit can still grow past
 * max_chars code points. NULL with *why = "empty" (no text once unsafe
 * markup is removed) or "too_long" (over max_chars once sanitized). */
const char *sp_api_sanitize(struct sp_req *r, const char *html, size_t len, size_t max_chars,
                            const char **why);
/* sp_api_sanitize() of a body field: NULL with a field error `empty` or
 * `too_long` (API.md §1). */
const char *sp_api_body_html(struct sp_req *r, const char *field, const struct sp_field_value *v,
                             size_t max_chars, struct sp_problem *p);
/* Attachments arrive with their own capability (API.md §10): until then
 * no id can be a clean upload of the caller's, so a non-empty list is a
 * field error `unknown_attachment`. */
void sp_api_refuse_attachments(const struct sp_field_value *attachments, struct sp_problem *p);

/* Splits a comma list into arena strings; returns the count. */
size_t sp_api_split(struct sp_req *r, const char *list, const char ***out);
/* ?name=a,b as a set over an enum of n values: returns false when absent;
 * unknown values add a field error with message `allowed`. */
bool sp_api_query_set(struct sp_req *r, const char *name, bool *set, int n,
                      bool (*parse)(const char *, int *), const char *allowed,
                      struct sp_problem *p);
bool sp_api_parse_status(const char *s, int *out);

/* Counts a request in `bucket`'s windows (API.md §1), sets the
 * RateLimit-* headers, and fails with 429 rate_limited + Retry-After when
 * a window is exhausted. */
enum sp_rc sp_api_rate_limit(struct sp_req *r, const char *bucket,
                             const struct sp_rate_window *windows, int nwindows,
                             struct sp_rate_result *out, struct sp_problem *p);

/* The ticket-creation limits of a customer (API.md §1: per minute and per
 * day, bucket ticket_create:<sub>): every way a customer makes a ticket
 * counts against them (POST /support/tickets, a chat transfer to a
 * ticket). */
enum sp_rc sp_api_ticket_rate_limit(struct sp_req *r, struct sp_problem *p);

/* Builds the resource: writes its JSON into body and may set *location.
 * Runs inside the create transaction. */
typedef enum sp_rc (*sp_api_create_fn)(struct sp_req *r, void *input, struct sp_buf *body,
                                       const char **location, struct sp_problem *p);
/* Runs fn in a transaction with Idempotency-Key handling and answers
 * 201 (or the replayed first response). */
enum sp_rc sp_api_create(struct sp_req *r, sp_api_create_fn fn, void *input,
                         struct sp_problem *p);

/* Rebuilds the answer of a replayed create from its stored Location, in
 * the replay's transaction. */
typedef enum sp_rc (*sp_api_replay_fn)(struct sp_req *r, void *input, const char *location,
                                       struct sp_buf *body, struct sp_problem *p);
/* sp_api_create() for answers that carry a secret shown once: only the
 * status and Location are stored with the key, and a replay answers what
 * replay builds (e.g. the same resource with a fresh secret). */
enum sp_rc sp_api_create_secret(struct sp_req *r, sp_api_create_fn fn, sp_api_replay_fn replay,
                                void *input, struct sp_problem *p);

#endif
