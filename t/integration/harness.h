/*
 * harness: the one client library of the integration tests. Talks HTTP to
 * the real stack (nginx -> support-api -> PostgreSQL) that t/integration/run
 * started, mints and forges JWTs, arranges and inspects rows through libpq,
 * and asserts the shapes API.md promises (problem+json, ticket views).
 *
 * Environment (set by t/integration/run):
 *   SP_TEST_BASE_URL      e.g. http://127.0.0.1:18080 (no trailing slash)
 *   SP_TEST_JWT_KEYS      "kid:secret,kid2:secret2", as the server's
 *                         SUPPORT_JWT_KEYS; the first key is the default
 *   SP_TEST_DATABASE_URL  libpq conninfo of the stack's database
 *   SP_FIXTURES_DIR       t/fixtures (unused so far)
 *
 * Memory: every string the harness returns (tokens, SQL values, unique
 * names, formatted bodies) lives in a per-test arena released by the
 * fixture's teardown, so tests never free them. Responses are the one
 * exception: they are heap objects the test frees with sp_t_resp_free(),
 * because a test may make hundreds of them.
 *
 * Assertions: helpers that check something are macros passing the caller's
 * __FILE__/__LINE__, so a failure names the line of the test, not of the
 * harness. Every request asserts that the response carries exactly one
 * X-Request-Id (API.md §1).
 *
 * Must not: know the server's internals beyond the schema names written in
 * the "database" section below, or hide a failed precondition (a helper
 * that cannot do its job fails the test).
 */
#ifndef SP_T_HARNESS_H
#define SP_T_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <check.h>
#include <json-c/json.h>
#include <libpq-fe.h>

#include "http/auth.h"

/* ---- running ---------------------------------------------------------- */

/* main() of a test program: checks the environment (exit 99 when the
 * runner did not set it), runs the suite, returns EXIT_SUCCESS/FAILURE. */
int sp_t_run(Suite *s);
/* A test case added to s, with the harness fixture (per-test arena, lazy
 * database connection) and a timeout fit for a sanitizer build. */
TCase *sp_t_tcase(Suite *s, const char *name);

/* ---- HTTP --------------------------------------------------------------- */

struct sp_t_header {
    char *name;
    char *value;    /* surrounding whitespace trimmed */
};

struct sp_t_resp {
    long status;
    char *body;                 /* NUL-terminated, body_len bytes */
    size_t body_len;
    struct json_object *json;   /* parsed body; NULL when not JSON */
    struct sp_t_header *headers;/* of the final response only */
    size_t nheaders;
};

/* Sends one request to SP_TEST_BASE_URL + path (path includes the query,
 * already encoded). token: bearer token or NULL. content_type: NULL sends
 * no Content-Type at all. body: NULL sends none (POST sends an empty one).
 * extra_headers: NULL-terminated "Name: value" lines, or NULL.
 * Asserts transport success and exactly one X-Request-Id. Returns a heap
 * response, freed with sp_t_resp_free(). */
#define sp_t_request(method, path, token, content_type, body, extra_headers)                    \
    sp_t_request_at(__FILE__, __LINE__, (method), (path), (token), (content_type), (body),   \
                    (extra_headers))
#define sp_t_get(path, token) \
    sp_t_request_at(__FILE__, __LINE__, "GET", (path), (token), NULL, NULL, NULL)
#define sp_t_post_json(path, token, json)                                                      \
    sp_t_request_at(__FILE__, __LINE__, "POST", (path), (token), SP_T_JSON, (json), NULL)
#define sp_t_patch_json(path, token, json)                                                     \
    sp_t_request_at(__FILE__, __LINE__, "PATCH", (path), (token), SP_T_JSON, (json), NULL)

#define SP_T_JSON "application/json"

struct sp_t_resp *sp_t_request_at(const char *file, int line, const char *method,
                                  const char *path, const char *token,
                                  const char *content_type, const char *body,
                                  const char *const extra_headers[]);
/* Sends raw bytes (a request curl would not send: a malformed request
 * line, TRACE, an HTTP/9.9 version) to SP_TEST_BASE_URL's host and port on
 * a fresh connection and reads one response: until the server closes, or
 * the headers and Content-Length bytes have arrived. Asserts that a status
 * line came back. Not recorded for the contract check. */
#define sp_t_raw(bytes, len) sp_t_raw_at(__FILE__, __LINE__, (bytes), (len))
struct sp_t_resp *sp_t_raw_at(const char *file, int line, const char *bytes, size_t len);
/* The same request; everything the server sends until it closes, as it
 * came (an HTTP/0.9 answer has no status line to parse). NUL-terminated,
 * in the test's arena. Send "Connection: close" with an HTTP/1.x request. */
#define sp_t_raw_all(bytes, len) sp_t_raw_all_at(__FILE__, __LINE__, (bytes), (len))
const char *sp_t_raw_all_at(const char *file, int line, const char *bytes, size_t len);
void sp_t_resp_free(struct sp_t_resp *r);
/* First header of that name (case-insensitive), or NULL. Owned by r. */
const char *sp_t_header(const struct sp_t_resp *r, const char *name);
size_t sp_t_header_count(const struct sp_t_resp *r, const char *name);

/* ---- tokens ------------------------------------------------------------- */

struct sp_t_user {
    const char *sub;    /* numeric user id as text, unique per test run */
    const char *token;  /* valid for 15 min, default key */
    enum sp_role role;
};

/* A new user nobody else in this run uses (its own tickets, keys, limits). */
struct sp_t_user sp_t_user_new(enum sp_role role);
/* Token for (role, sub) signed with the default key (first of
 * SP_TEST_JWT_KEYS), valid for 15 minutes. Arena-owned. */
const char *sp_t_token(enum sp_role role, const char *sub);
/* Token via sp_auth_mint_hs256 with any kid/secret/time (forging expired,
 * wrong-secret or unknown-kid tokens). Arena-owned; fails the test on a
 * mint error. */
const char *sp_t_token_raw(const char *kid, const char *secret, const char *sub,
                           enum sp_role role, time_t now, long ttl_seconds);
/* A compact JWT built by hand from the exact header and payload texts:
 * base64url(header).base64url(payload).sig, where sig is HMAC-SHA256 with
 * hs256_secret, or empty when hs256_secret is NULL (alg none). Lets tests
 * forge what a well-behaved minter refuses to. Arena-owned. */
const char *sp_t_jwt_forge(const char *header_json, const char *payload_json,
                           const char *hs256_secret);
/* Secret of kid in SP_TEST_JWT_KEYS (NULL when absent); the default kid. */
const char *sp_t_jwt_secret(const char *kid);
const char *sp_t_jwt_default_kid(void);

/* ---- database --------------------------------------------------------------
 * Schema names these helpers assume (sql/001_*): support_tickets(id,
 * public_id, status, closed_at, assigned_agent_id, subject),
 * support_ticket_events(ticket_id, event_type), support_categories(slug,
 * name, is_active), support_agents(id, user_id, team, status,
 * max_concurrent_chats); other columns must have defaults. */

/* Runs one SQL statement (printf-style; tests only pass their own values)
 * against SP_TEST_DATABASE_URL; fails the test on any error. Returns the
 * first column of the first row as arena-owned text, or NULL when there
 * is no row or the value is SQL NULL. */
/* Runs "$SP_TEST_STACKCTL <args>" (scripts/lib/stackctl on this test's
 * stack) and asserts it succeeded. The next sp_t_sql uses a new
 * connection (the command may have restarted the database). */
void sp_t_stackctl(const char *args);
/* The master of a stack program ("support-api", "support-chat") from its
 * pid file; asserts it runs. */
pid_t sp_t_master_pid(const char *program);
/* The master's children (its workers, retiring ones included), up to max. */
size_t sp_t_children(pid_t master, pid_t *out, size_t max);
/* SIGHUP to support-api's master, then waits (up to 10 s) until every
 * worker it had is gone and as many new ones serve: each was forked after
 * the master re-read its settings and keys. false when that never
 * happened. Usable from unchecked fixtures (no test arena). */
bool sp_t_api_reload(void);
/* Whether pid is one of set[0..n). */
bool sp_t_pid_in(pid_t pid, const pid_t *set, size_t n);
/* Response header as a non-negative integer; asserts exactly one. */
#define sp_t_header_num(r, name) sp_t_header_num_at(__FILE__, __LINE__, (r), (name))
long sp_t_header_num_at(const char *file, int line, const struct sp_t_resp *r, const char *name);
/* Asserts one ETag header in r that is a ticket's, "v<version>-<16 hex
 * digits>" (docs/API.md: the version and the body's digest), of version
 * when version > 0; returns it (for an If-Match or If-None-Match). */
#define sp_t_ticket_etag(r, version) sp_t_ticket_etag_at(__FILE__, __LINE__, (r), (version))
const char *sp_t_ticket_etag_at(const char *file, int line, const struct sp_t_resp *r,
                                long long version);
/* GET path with If-None-Match: tags, as token. */
struct sp_t_resp *sp_t_get_if_none_match(const char *path, const char *token, const char *tags);
/* Asserts that a ticket view's GET at path answers 304 with etag and no
 * body to If-None-Match naming etag in each way RFC 9110 §13.1.2 allows
 * (as sent, W/, in a list, *). Each asks for a message page size
 * (?messages_limit=50…) no earlier request did, so no worker answers
 * from its view cache; callers keep the ticket's messages fewer than 50. */
#define sp_t_assert_ticket_revalidates(path, token, etag) \
    sp_t_assert_ticket_revalidates_at(__FILE__, __LINE__, (path), (token), (etag))
void sp_t_assert_ticket_revalidates_at(const char *file, int line, const char *path,
                                       const char *token, const char *etag);
/* Sleeps past the end of the current minute, and of the current
 * long_window (seconds: 3600, 86400), when it ends within margin seconds,
 * so a burst of requests stays in one rate-limit window. */
void sp_t_away_from_window_edges(int margin, long long_window);

/* A transaction held open on a connection of its own, playing a request
 * in flight for a race test: BEGIN, then sql (which must succeed, e.g. a
 * row write or an advisory lock). sp_t_tx_release commits it and closes
 * the connection. */
PGconn *sp_t_tx_hold(const char *sql);
void sp_t_tx_release(PGconn *db);
/* A TCP listener that never accepts: the kernel completes each client's
 * handshake (the backlog), and nothing ever answers its startup packet,
 * as a stopped postmaster's socket does. Its conninfo; *fd to close. */
const char *sp_t_silent_database(int *fd);
/* Whether some backend waits for routing's pick lock `key` (a hashtext;
 * pg_advisory_xact_lock(7311947, key): its classid and objid). */
bool sp_t_pick_lock_awaited(long long key);
#define sp_t_sql(...) sp_t_sql_at(__FILE__, __LINE__, __VA_ARGS__)
const char *sp_t_sql_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A fresh row in support_categories; returns its slug. */
const char *sp_t_db_category_new(bool active);
/* A fresh active row in support_agents (team general); returns its id. */
const char *sp_t_db_agent_new(void);
/* Moves a ticket by public id behind the API's back: sets status (and
 * closed_at for closed), bumping nothing else. */
void sp_t_db_ticket_set_status(const char *public_id, const char *status);
void sp_t_db_ticket_assign(const char *public_id, const char *agent_id);
/* Rows of support_ticket_events of that type for the ticket. */
long sp_t_db_event_count(const char *public_id, const char *event_type);
/* The ticket's assignee (by public id), 0 when nobody; asserts it exists. */
int64_t sp_t_db_assignee(const char *public_id);
/* n open filler tickets assigned to agent agent_id straight in the
 * database (reaching routing's open-ticket cap through the API would take
 * minutes), their customer_id tag; sp_t_db_fillers_close closes them. */
void sp_t_db_fillers_add(int64_t agent_id, int n, const char *tag);
void sp_t_db_fillers_close(const char *tag);
/* Makes the customer's contact row (claims: name and email, no phone or
 * tier) what it was when stored before email indexes were over the
 * canonical form (docs/API.md §2): email_index over the address only
 * ASCII-lower-cased, and the claims' fingerprint as computed then, under
 * the stack's keys (SP_TEST_ENCRYPTION_KEYS_FILE). */
void sp_t_db_contact_make_legacy(const char *customer_id, const char *name, const char *email);

/* ---- small builders (all arena-owned) ---------------------------------- */

const char *sp_t_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prefix-<time>-<pid>-<n>": unique across tests, processes and runs. */
const char *sp_t_unique(const char *prefix);
/* A settings file (--env-file) holding text at dir/support.env; returns its path. */
const char *sp_t_env_file(const char *dir, const char *text);
/* A word nobody else uses, of letters only (full-text search tests: the
 * English stemmer leaves it whole): consonants spelling sp_t_unique()'s
 * digits, so two calls never give the same word. Arena-owned. */
const char *sp_t_unique_word(void);
/* unit repeated n times. */
const char *sp_t_repeat(const char *unit, size_t n);
/* The text of sql/<file> in the source tree (a data migration run again
 * on rows written as before it). Arena-owned. */
const char *sp_t_migration_text(const char *file);
/* s as a JSON string literal, quotes included. */
const char *sp_t_jq(const char *s);
/* s percent-encoded for a query string (RFC 3986 unreserved kept). */
const char *sp_t_urlencode(const char *s);
/* POSIX extended regex match. */
bool sp_t_matches(const char *re, const char *s);
/* Whether a comma-separated header list ("GET, POST") holds token. */
bool sp_t_list_has(const char *list, const char *token);

/* ---- JSON access (assert presence and type) ----------------------------- */
/* Values are owned by o. sp_t_jget asserts only presence and returns NULL
 * for a JSON null; the others also assert the type. */

#define sp_t_jget(o, key)  sp_t_jget_at(__FILE__, __LINE__, (o), (key), json_type_null, false)
#define sp_t_jstr(o, key)  sp_t_jstr_at(__FILE__, __LINE__, (o), (key))
#define sp_t_jint(o, key)  sp_t_jint_at(__FILE__, __LINE__, (o), (key))
#define sp_t_jarr(o, key)  sp_t_jget_at(__FILE__, __LINE__, (o), (key), json_type_array, true)
#define sp_t_jobj(o, key)  sp_t_jget_at(__FILE__, __LINE__, (o), (key), json_type_object, true)
/* Present and JSON null. */
#define sp_t_assert_jnull(o, key) \
    sp_t_jget_at(__FILE__, __LINE__, (o), (key), json_type_null, true)
bool sp_t_jhas(struct json_object *o, const char *key);
struct json_object *sp_t_jget_at(const char *file, int line, struct json_object *o,
                                 const char *key, enum json_type type, bool check_type);
/* The string (owned by o) / integer at key. */
const char *sp_t_jstr_at(const char *file, int line, struct json_object *o, const char *key);
int64_t sp_t_jint_at(const char *file, int line, struct json_object *o, const char *key);

/* ---- contract assertions ------------------------------------------------ */

/* HTTP status, showing the body on failure. */
#define sp_t_assert_status(r, status) sp_t_assert_status_at(__FILE__, __LINE__, (r), (status))
/* A JSON success: the HTTP status, Content-Type application/json and a
 * body that parses as one JSON value. */
#define sp_t_assert_json(r, status) sp_t_assert_json_at(__FILE__, __LINE__, (r), (status))
/* RFC 9457 shape of API.md §1: Content-Type application/problem+json, the
 * HTTP status, `status`, `code`, `type` = https://docs.support.example/
 * errors/<code>, a `title`, `request_id` = the X-Request-Id header, and
 * `errors` only for validation_failed. 401 must carry WWW-Authenticate:
 * Bearer, 405 an Allow header. */
#define sp_t_assert_problem(r, status, code) \
    sp_t_assert_problem_at(__FILE__, __LINE__, (r), (status), (code))
/* 422 validation_failed whose errors[] has an entry for field with code
 * (code NULL: any code). Every entry must have field, code and message. */
#define sp_t_assert_invalid(r, field, code) \
    sp_t_assert_invalid_at(__FILE__, __LINE__, (r), (field), (code))
/* The message of the 422's errors[] entry for field (the first; the
 * test fails when there is none). */
#define sp_t_invalid_message(r, field) sp_t_invalid_message_at(__FILE__, __LINE__, (r), (field))
/* The number of entries of a 422's errors[]. */
#define sp_t_error_count(r) json_object_array_length(sp_t_jarr((r)->json, "errors"))
/* RFC 3339 UTC with milliseconds: YYYY-MM-DDTHH:MM:SS.mmmZ. */
#define sp_t_assert_timestamp(s) sp_t_assert_timestamp_at(__FILE__, __LINE__, (s))
/* A timestamp (as above) within 10 minutes of the test's clock: catches
 * local time written with a Z. */
#define sp_t_assert_recent(s) sp_t_assert_recent_at(__FILE__, __LINE__, (s))
/* 12 chars of Crockford base32 (upper case), starting with a letter. */
#define sp_t_assert_public_id(s) sp_t_assert_public_id_at(__FILE__, __LINE__, (s))
/* The customer ticket view of API.md §4 (with messages) and nothing of the
 * agent view (§5). */
#define sp_t_assert_ticket_view(t) sp_t_assert_ticket_view_at(__FILE__, __LINE__, (t), true)
/* A list item: the view minus messages plus last_message_at, message_count. */
#define sp_t_assert_ticket_summary(t) sp_t_assert_ticket_view_at(__FILE__, __LINE__, (t), false)
#define sp_t_assert_message_view(m) sp_t_assert_message_view_at(__FILE__, __LINE__, (m))

void sp_t_assert_status_at(const char *file, int line, const struct sp_t_resp *r, long status);
void sp_t_assert_json_at(const char *file, int line, const struct sp_t_resp *r, long status);
void sp_t_assert_problem_at(const char *file, int line, const struct sp_t_resp *r, long status,
                            const char *code);
void sp_t_assert_invalid_at(const char *file, int line, const struct sp_t_resp *r,
                            const char *field, const char *code);
const char *sp_t_invalid_message_at(const char *file, int line, const struct sp_t_resp *r,
                                    const char *field);
void sp_t_assert_timestamp_at(const char *file, int line, const char *s);
void sp_t_assert_recent_at(const char *file, int line, const char *s);
void sp_t_assert_public_id_at(const char *file, int line, const char *s);
void sp_t_assert_ticket_view_at(const char *file, int line, struct json_object *t,
                                bool with_messages);
void sp_t_assert_message_view_at(const char *file, int line, struct json_object *m);

/* ---- customer ticket API shortcuts ------------------------------------- */

/* POST /support/tickets {subject, description "About <subject>"} as u;
 * asserts 201 and returns the public_id (arena-owned). */
#define sp_t_ticket_create(u, subject) sp_t_ticket_create_at(__FILE__, __LINE__, (u), (subject))
/* A ticket of a new customer (for tests about the agent side). */
#define sp_t_ticket_of_new_customer(subject) \
    sp_t_ticket_of_new_customer_at(__FILE__, __LINE__, (subject))
const char *sp_t_ticket_of_new_customer_at(const char *file, int line, const char *subject);
/* POST /support/tickets/:id/messages {body} as u; asserts 201, returns the
 * message id. */
#define sp_t_ticket_reply(u, public_id, body) \
    sp_t_ticket_reply_at(__FILE__, __LINE__, (u), (public_id), (body))
/* GET /support/tickets/:id as u; asserts 200 and returns the response. */
#define sp_t_ticket_get(u, public_id) sp_t_ticket_get_at(__FILE__, __LINE__, (u), (public_id))

const char *sp_t_ticket_create_at(const char *file, int line, const struct sp_t_user *u,
                                  const char *subject);
int64_t sp_t_ticket_reply_at(const char *file, int line, const struct sp_t_user *u,
                             const char *public_id, const char *body);
struct sp_t_resp *sp_t_ticket_get_at(const char *file, int line, const struct sp_t_user *u,
                                     const char *public_id);

/* ---- agent API helpers (API.md §5) --------------------------------------- */

/* Token for (role, sub) with the default key, valid 15 min, plus the
 * members of extra_json (a JSON object text such as {"name":"Ann"}).
 * Arena-owned. */
const char *sp_t_token_claims(enum sp_role role, const char *sub, const char *extra_json);
/* Milliseconds since the epoch of an RFC 3339 UTC timestamp with
 * milliseconds (asserts the format). */
#define sp_t_ts_ms(s) sp_t_ts_ms_at(__FILE__, __LINE__, (s))
int64_t sp_t_ts_ms_at(const char *file, int line, const char *s);
/* The ms timestamp at key of o, or 0 when it is JSON null (asserts a
 * string or null). */
#define sp_t_jts_ms(o, key) sp_t_jts_ms_at(__FILE__, __LINE__, (o), (key))
int64_t sp_t_jts_ms_at(const char *file, int line, struct json_object *o, const char *key);
/* The caller's support_agents id (GET /support/agent/me, which creates
 * the row on first use); asserts 200. */
#define sp_t_agent_id(u) sp_t_agent_id_at(__FILE__, __LINE__, (u))
int64_t sp_t_agent_id_at(const char *file, int line, const struct sp_t_user *u);
/* GET /support/agent/tickets/:ref as u (ref: numeric id or public id);
 * asserts 200 JSON and the agent view; returns the response. */
#define sp_t_agent_ticket(u, ref) sp_t_agent_ticket_at(__FILE__, __LINE__, (u), (ref))
struct sp_t_resp *sp_t_agent_ticket_at(const char *file, int line, const struct sp_t_user *u,
                                       const char *ref);
/* The agent ticket view of docs/API.md §5 (with messages carrying
 * sender_id and is_internal) / a queue item (no messages, plus
 * last_message_at and message_count). */
#define sp_t_assert_agent_view(t) sp_t_assert_agent_view_at(__FILE__, __LINE__, (t), true)
#define sp_t_assert_agent_summary(t) sp_t_assert_agent_view_at(__FILE__, __LINE__, (t), false)
void sp_t_assert_agent_view_at(const char *file, int line, struct json_object *t,
                               bool with_messages);
/* GET /support/agent/tickets/:ref/events?limit=100 as u; asserts 200, the
 * list shape and every item's shape; returns the response (data[] is
 * oldest first). */
#define sp_t_agent_events(u, ref) sp_t_agent_events_at(__FILE__, __LINE__, (u), (ref))
struct sp_t_resp *sp_t_agent_events_at(const char *file, int line, const struct sp_t_user *u,
                                       const char *ref);
/* In an events response: how many items have that event_type, and the
 * last such item (NULL when none). Owned by the response. */
size_t sp_t_events_count(const struct sp_t_resp *events, const char *event_type);
struct json_object *sp_t_events_last(const struct sp_t_resp *events, const char *event_type);
/* Rows of support_outbox for the ticket (by public id) of that kind and
 * event_type; channel and recipient are compared only when non-NULL. */
long sp_t_db_outbox_count(const char *public_id, const char *kind, const char *event_type,
                          const char *channel, const char *recipient);
/* POST /support/tickets with this exact JSON body as u; asserts 201 and
 * returns the public id. */
#define sp_t_ticket_create_json(u, json) \
    sp_t_ticket_create_json_at(__FILE__, __LINE__, (u), (json))
const char *sp_t_ticket_create_json_at(const char *file, int line, const struct sp_t_user *u,
                                       const char *json);
/* n requests in flight at once (one connection each, curl multi): method
 * and body shared, paths[i] with tokens[i]. Asserts transport success and
 * one X-Request-Id each; out[i] are heap responses (sp_t_resp_free). */
#define sp_t_parallel(n, method, paths, tokens, content_type, body, out)                       \
    sp_t_parallel_at(__FILE__, __LINE__, (n), (method), (paths), (tokens), (content_type),    \
                     (body), (out))
void sp_t_parallel_at(const char *file, int line, size_t n, const char *method,
                      const char *const paths[], const char *const tokens[],
                      const char *content_type, const char *body, struct sp_t_resp *out[]);
/* sp_t_parallel with headers (NULL-terminated "Name: value" lines) on
 * each request: the same Idempotency-Key from n clients at once. */
#define sp_t_parallel_with(n, method, paths, tokens, content_type, body, headers, out)         \
    sp_t_parallel_with_at(__FILE__, __LINE__, (n), (method), (paths), (tokens),               \
                          (content_type), (body), (headers), (out))
void sp_t_parallel_with_at(const char *file, int line, size_t n, const char *method,
                           const char *const paths[], const char *const tokens[],
                           const char *content_type, const char *body,
                           const char *const headers[], struct sp_t_resp *out[]);
/* One request of sp_t_calls: its own method, path, token (NULL: none)
 * and JSON body (NULL: none). */
struct sp_t_call {
    const char *method, *path, *token, *json;
};
/* n requests in flight at once, each its own (as sp_t_parallel);
 * finished[i] is the place out[i] finished in (0 for the first), for
 * tests that assert which answers came before which. */
#define sp_t_calls(n, calls, out, finished) \
    sp_t_calls_at(__FILE__, __LINE__, (n), (calls), (out), (finished))
void sp_t_calls_at(const char *file, int line, size_t n, const struct sp_t_call calls[],
                   struct sp_t_resp *out[], size_t finished[]);

/* support-api's log (SP_TEST_LOG_DIR/support-api.log): its size now, and
 * the first line past offset that holds needle, waited for up to 10 s
 * (a worker writes it after its answer); "" when none came. Arena-owned. */
long sp_t_api_log_size(void);
const char *sp_t_api_log_line(long offset, const char *needle);
/* The same for the stack's log name (SP_TEST_LOG_DIR/name, e.g.
 * "nginx-access.log": nginx writes its line after the answer too). */
const char *sp_t_log_line(const char *name, long offset, const char *needle);

/* A new chat session of customer u (POST /support/chat/session, 201);
 * its public id. Arena-owned. */
const char *sp_t_chat_session_new(const struct sp_t_user *u);

/* ---- admin API helpers (API.md §6) ---------------------------------------- */

/* A token of a fresh support_admin user. Arena-owned. */
const char *sp_t_admin_token(void);
/* method path as a fresh support_admin, with json as the body (NULL:
 * none, and no Content-Type). Heap response (sp_t_resp_free). */
#define sp_t_admin(method, path, json)                                                         \
    sp_t_request((method), (path), sp_t_admin_token(), (json) != NULL ? SP_T_JSON : NULL,      \
                 (json), NULL)
/* POST path with json as a fresh support_admin; asserts 201 JSON and
 * returns the response (sp_t_resp_free). */
#define sp_t_admin_post(path, json) sp_t_admin_post_at(__FILE__, __LINE__, (path), (json))
struct sp_t_resp *sp_t_admin_post_at(const char *file, int line, const char *path,
                                     const char *json);
/* method on path as a fresh support_admin with If-Match: etag and json
 * as the body (NULL: none). Heap response (sp_t_resp_free). */
struct sp_t_resp *sp_t_with_if_match(const char *method, const char *path, const char *json,
                                     const char *etag);
/* A PATCH of the admin row at path (its GET answers "id" and "version")
 * with If-Match (RFC 9110 §13.1.1): anything but the current ETag
 * "<id>-v<version>" or * is 412 and changes nothing; the ETag of each
 * answer is the next one to send. field: a string field to change. */
void sp_t_assert_if_match(const char *path, const char *field);
/* DELETE of row id of table at path, at version: with an older ETag 412
 * and the row stays; with its own 204; then 404. */
void sp_t_assert_delete_if_match(const char *path, const char *table, long long id,
                                 long long version);
/* POST /support/admin/priority-rules {members} (object members text,
 * e.g. "\"name\":\"r\",\"priority\":\"high\",…"); asserts 201 and
 * returns the rule's id. */
#define sp_t_admin_rule_new(members) sp_t_admin_rule_new_at(__FILE__, __LINE__, (members))
int64_t sp_t_admin_rule_new_at(const char *file, int line, const char *members);
/* POST /support/admin/categories {"slug":<fresh>,"name":"…"[,members]}
 * where members is NULL or JSON object members text such as
 * "\"routing\":\"round_robin\",\"team\":\"t1\"". Returns the slug. */
#define sp_t_admin_category_new(members) \
    sp_t_admin_category_new_at(__FILE__, __LINE__, (members))
const char *sp_t_admin_category_new_at(const char *file, int line, const char *members);
/* POST /support/admin/agents {"user_id":<fresh numeric sub>[,members]};
 * returns the agent id and, when user_out is not NULL, a support_agent
 * user with that sub (whose requests use this agent row). */
#define sp_t_admin_agent_new(members, user_out) \
    sp_t_admin_agent_new_at(__FILE__, __LINE__, (members), (user_out))
int64_t sp_t_admin_agent_new_at(const char *file, int line, const char *members,
                                struct sp_t_user *user_out);

/* ---- batch jobs (cron/ programs) ----------------------------------------- */

#define SP_T_JOB_MAX_ARGS 16
struct sp_t_job {
    pid_t pid;
    char out_path[256];
    int in_fd;        /* the program's standard input; -1: the test's */
};
/* Starts $SP_TEST_TOP_BUILDDIR/<program> with args (NULL-terminated) and
 * env ("NAME=value", NULL-terminated, may be NULL) on top of
 * SUPPORT_DATABASE_URL = SP_TEST_DATABASE_URL; stdout and stderr go to one
 * file. */
void sp_t_job_start(struct sp_t_job *j, const char *program, const char *const env[],
                    const char *const args[]);
/* Waits; returns the exit code and (arena-owned) output; a sanitizer
 * report in the output fails the test. */
int sp_t_job_wait(struct sp_t_job *j, const char **output);
int sp_t_job_run(const char *program, const char *const env[], const char *const args[],
                 const char **output);
/* sp_t_job_start with input (len bytes) on the program's standard input
 * (the job's is otherwise the test's). */
void sp_t_job_start_input(struct sp_t_job *j, const char *program, const char *const env[],
                          const char *const args[], const char *input, size_t len);
/* sp_t_job_run with input, as sp_t_job_start_input. */
int sp_t_job_run_input(const char *program, const char *const env[], const char *const args[],
                       const char *input, size_t len, const char **output);
/* Waits up to 20 s for a running job's output to say needle (a line
 * holding it) times times; fails the test otherwise. */
#define sp_t_job_says(j, needle, times) \
    sp_t_job_says_at(__FILE__, __LINE__, (j), (needle), (times))
void sp_t_job_says_at(const char *file, int line, const struct sp_t_job *j, const char *needle,
                      int times);


/* ---- fixture servers ------------------------------------------------------
 * Small local servers that speak the real protocol of a service outside
 * (t/integration/NAME.py): each prints {"event":"listening","port","pid"}
 * first, then one JSON line per request it saw. */
struct sp_t_fixture {
    FILE *out;
    pid_t pid;
    int port;
};
/* Starts "python3 t/integration/<script_and_args>" and waits for its
 * listening line; fails the test when it does not come. Usable in an
 * unchecked fixture (one server for all of a test case's tests, which
 * read its lines in their forked processes), like sp_t_stackctl. */
#define sp_t_fixture_start(f, script_and_args) \
    sp_t_fixture_start_at(__FILE__, __LINE__, (f), (script_and_args))
void sp_t_fixture_start_at(const char *file, int line, struct sp_t_fixture *f,
                           const char *script_and_args);
/* The next line the fixture printed, parsed (caller puts), or NULL when
 * none comes within ms. */
struct json_object *sp_t_fixture_next(struct sp_t_fixture *f, int ms);
/* SIGTERM, and reaps it. */
void sp_t_fixture_stop(struct sp_t_fixture *f);
/* POSTs json to the fixture's path (e.g. "/_control": what it answers
 * next) through core/service_client; asserts a 200. */
void sp_t_fixture_post(const struct sp_t_fixture *f, const char *path, const char *json);

#endif
