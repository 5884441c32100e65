/*
 * http: the request/response pair of one FastCGI request, as handlers see
 * it. A request owns an arena; everything hanging off it dies after the
 * reply. Handlers read params/headers/body here and answer with
 * sp_resp_json() or return a problem that the dispatcher renders
 * (http/dispatch.c is the only place that turns problems into
 * problem+json). Must not: know any domain concept or SQL.
 */
#ifndef SP_HTTP_H
#define SP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/ids.h"
#include "core/problem.h"
#include "http/auth.h"

struct sp_arena;
struct sp_db;
typedef struct FCGX_Request FCGX_Request;

enum sp_method {
    SP_GET = 0, SP_HEAD, SP_POST, SP_PUT, SP_PATCH, SP_DELETE, SP_OPTIONS, SP_METHOD_OTHER,
    SP_METHOD_MAX
};
const char *sp_method_name(enum sp_method m);
enum sp_method sp_method_parse(const char *s);

#define SP_MAX_PATH_PARAMS 4

struct sp_req;
struct sp_route;

/* What a worker shares with every request it serves. */
struct sp_http_env {
    const struct sp_auth_keys *keys;
    struct sp_db *db;
    /* The replica for read-mostly endpoints; NULL when none is set
     * (domain/store.h, sp_store_reader). */
    struct sp_db *read_db;
    long max_body_bytes;
    void *app;              /* the program's own state (api/app.h) */
    /* Called after a request authenticated, before its handler (e.g. to
     * provision the caller's records); may be NULL. */
    enum sp_rc (*on_authenticated)(struct sp_req *r, struct sp_problem *p);
    /* Answers a problem its own way (a browser's HTML page) and says true,
     * or false to leave it to problem+json; called for every unanswered
     * problem, the router's 404 and 405 and the body's 413 included. The
     * headers set so far (a 405's Allow) stay. May be NULL. */
    bool (*problem_page)(struct sp_req *r, const struct sp_problem *p);
    /* Whether route may be answered on the operators' listener (the
     * metrics pages): there every other route is an unknown path, as
     * nginx passes what it matched on a decoded path (QA:
     * /support/tickets/..%2Fmetrics reached a public handler). NULL:
     * none may. */
    bool (*operators_route)(const struct sp_route *route);
};

struct sp_req {
    struct sp_arena *arena;
    const struct sp_http_env *env;
    FCGX_Request *fcgx;     /* NULL when a test drives the dispatcher */
    char **envp;            /* CGI-style params: HTTP_*, CONTENT_TYPE, ... */
    enum sp_method method;
    const char *path;       /* without the query string */
    const char *query;      /* raw, without '?'; "" when absent */
    const char *body;
    size_t body_len;
    /* A body nginx kept in a file (client_body_in_file_only, passed as
     * REQUEST_BODY_FILE): its path; the worker reads none of it. */
    const char *body_file;
    /* A body nginx refused unread (an attachment upload announcing
     * another size than its URL's, nginx/public.conf.in): the length it
     * announced (digits, passed as UPLOAD_REFUSED_LENGTH); none of it
     * comes. NULL otherwise. */
    const char *body_refused;
    /* nginx's auth subrequest before it reads an attachment upload
     * (nginx/public.conf.in): the upload's Content-Length as announced
     * ("" when none), passed as UPLOAD_CHECK_LENGTH; no body comes. NULL
     * for every other request. */
    const char *upload_check;
    const char *form;       /* the body as a string, once sp_req_form read it */
    const char *request_id;
    const char *route;      /* matched pattern, for logs */
    const char *params[SP_MAX_PATH_PARAMS];
    size_t nparams;
    struct sp_principal principal; /* role SP_ROLE_NONE when anonymous */
    long now_ms;            /* request start, wall clock */
    long long start_us;     /* request start, monotonic (latency metrics) */
    uint64_t db_round_trips_at_start;  /* sp_metrics_db_round_trips() then */
    int route_index;        /* index of the matched route; -1 when none */
    /* What the application read of the caller once this request (api/:
     * the staff caller's agent row), for its later lookups; NULL. */
    const void *caller_data;

    /* response */
    int status;
    size_t bytes_out;
    struct sp_buf headers;  /* extra "Name: value\r\n" lines */
    bool no_store;          /* caller-specific: Cache-Control: no-store unless
                             * the handler set a Cache-Control of its own */
    struct sp_buf out;      /* whole response when fcgx is NULL (tests) */
    bool responded;
};

/* Where a token this request hands out is valid (a pagination cursor's
 * scope, core/cursor.h): the matched route and its path parameters, each
 * length-prefixed, a public id in its canonical form (/tickets/abc… and
 * /tickets/ABC… name one ticket). Arena-owned. */
const char *sp_req_scope(struct sp_req *r);
/* Path parameter i as it names its resource: a public id in its
 * canonical form (in id), anything else as given. What sp_req_scope and
 * an idempotency key's request hash read, so both call one request the
 * same whatever the id's letter case. */
const char *sp_req_param_canonical(const struct sp_req *r, size_t i,
                                   char id[SP_PUBLIC_ID_LEN + 1]);

/* A FastCGI parameter ("REQUEST_URI", "HTTP_X_REQUEST_ID") of envp. */
const char *sp_req_param(char **envp, const char *name);
/* Whether r came through the operators' listener: nginx's operators
 * server sets SUPPORT_LISTENER=operators, which no client can send
 * (clients reach only HTTP_* parameters). */
bool sp_req_operators(const struct sp_req *r);
/* Request header by its HTTP name ("Idempotency-Key"); NULL when absent. */
const char *sp_req_header(const struct sp_req *r, const char *name);
/* The first header deciding what the request does (Authorization,
 * Content-Type, Idempotency-Key, If-Match, If-None-Match) that it carries
 * more than once, or NULL. nginx passes each line as its own parameter and
 * sp_req_header reads the first, where another reader may take the last:
 * such a request is refused (400 duplicate_header), not guessed at. */
const char *sp_req_repeated_header(const struct sp_req *r);
/* Query parameter, percent-decoded into the arena; NULL when absent or
 * badly escaped: a bad %XX, %00 or bytes that are not UTF-8
 * (sp_req_query_raw tells the two apart). Names are compared
 * percent-decoded as values are ("%71" is q), as sp_query_read reads
 * them: a filter spelt with escapes is still the filter. */
const char *sp_req_query(const struct sp_req *r, const char *name);
/* The same with the name as written: the chat connect URL must read what
 * nginx's $arg_ reads (API.md §7). */
const char *sp_req_query_as_written(const struct sp_req *r, const char *name);
/* The raw value (after '=', "" for a bare name; length in *len) of the
 * first parameter named name, whatever its value's escapes; NULL when
 * there is none. decode_names: names compared percent-decoded as values
 * are ("%73tatus" is status: sp_query_read, where a dropped filter would
 * widen the answer); else as written. */
const char *sp_req_query_raw(const struct sp_req *r, const char *name, bool decode_names,
                             size_t *len);
/* Percent-decodes [s, s+n) as a form does ('+' is a space) into a; NULL on
 * a bad escape, %00 or bytes that are not UTF-8. Names and values alike. */
char *sp_url_decode(struct sp_arena *a, const char *s, size_t n);
/* The first parameter name of an application/x-www-form-urlencoded text,
 * percent-decoded ('+' is a space) into a; NULL when absent or badly
 * escaped (a %00 or bytes that are not UTF-8 included). */
const char *sp_urlencoded_get(struct sp_arena *a, const char *text, const char *name);
/* A field of a form body (HTML forms): NULL when absent, or when the body
 * is not application/x-www-form-urlencoded. */
const char *sp_req_form(struct sp_req *r, const char *name);
/* Whether the body is sent as application/x-www-form-urlencoded, with no
 * charset other than utf-8 (sp_req_form reads nothing else). */
bool sp_req_is_form(struct sp_req *r);
/* How a form field reads (sp_req_form_field). */
enum sp_form_read {
    SP_FORM_ABSENT,      /* not in the form (or the body is no form) */
    SP_FORM_OK,
    SP_FORM_BAD_ESCAPE,  /* a '%' without two hex digits after it */
    SP_FORM_NUL,         /* a %00 */
    SP_FORM_NOT_UTF8,    /* bytes that are not UTF-8 */
};
/* A field of a form body told apart from one that cannot be read, which
 * sp_req_form calls absent: a page shows it again beside its error rather
 * than drop it. *value: the value (SP_FORM_OK); for an unreadable one what
 * can be shown of it (a bad escape as written, NULs dropped, bytes that
 * are not UTF-8 as U+FFFD, CR LF as LF); NULL when absent. */
enum sp_form_read sp_req_form_field(struct sp_req *r, const char *name, const char **value);
/* The value of cookie `name` in a Cookie header value ("a=b; c=d", RFC
 * 6265 §5.4; blanks around names and values are dropped, quotes are kept
 * as a browser keeps them), copied into a. NULL when absent, or when the name is given
 * twice: a cookie tossed in from a sibling host or set for a narrower path
 * is sent first, and which one is meant cannot be told (nothing is
 * guessed, as with repeated headers). Names compare exactly. */
const char *sp_cookie_get(struct sp_arena *a, const char *header, const char *name);
/* Every value of cookie `name`, in the order sent, at most max of them,
 * copied into a; how many. For a choice the caller can prove (the one
 * session a form's CSRF token belongs to), never to pick one blindly. */
size_t sp_cookie_all(struct sp_arena *a, const char *header, const char *name,
                     const char **values, size_t max);
/* Whether every parameter of a query has a name of its own: REPEATED when
 * two share a name once percent-decoded and compared without letter case
 * ("SESSION_ID=..&session%5Fid=.."), TOO_MANY when it has more than
 * SP_QUERY_NAMES_MAX parameters (not judged, so not trusted). Proxies and
 * this code may otherwise read different values for "the" parameter
 * (nginx's $arg_* takes the first match in any case; sp_req_query the
 * first exact one). */
#define SP_QUERY_NAMES_MAX 32
enum sp_query_names { SP_QUERY_NAMES_DISTINCT, SP_QUERY_NAMES_REPEATED, SP_QUERY_NAMES_TOO_MANY };
enum sp_query_names sp_query_names_check(struct sp_arena *a, const char *query);
/* The same of a form body (none: DISTINCT): a page form naming a field
 * twice (slug=a&slug=b) is refused, not read for its first value, as a
 * JSON body's repeated member is; *repeated: the name, lower-cased, when
 * REPEATED. */
enum sp_query_names sp_req_form_names(struct sp_req *r, const char **repeated);
/* Whether a Content-Type value is application/json with well-formed
 * parameters (RFC 9110 §8.3.1) and no charset other than utf-8 (in any
 * letter case, quoted or not); NULL is not. */
bool sp_media_type_is_json_utf8(const char *value);
/* The body as JSON; fills p (400 invalid_json / 415) and returns NULL. */
struct json_object *sp_req_json(struct sp_req *r, struct sp_problem *p);

void sp_resp_header(struct sp_req *r, const char *name, const char *value);
void sp_resp_send(struct sp_req *r, int status, const char *content_type, const char *body,
                  size_t len);
void sp_resp_json(struct sp_req *r, int status, const struct sp_buf *body);
/* Completes the response already sent: the client has it now, while the
 * handler goes on with work the client must not wait for (nchan hooks:
 * a hook still in flight when its subscriber leaves loses the leave). */
void sp_resp_finish(struct sp_req *r);
/* Renders p as RFC 9457 problem+json; the one place that maps outcomes to
 * status codes. */
void sp_resp_problem(struct sp_req *r, const struct sp_problem *p);
/* What every answer to p says whatever its body's format (problem+json,
 * a browser's HTML page): its status, title, public code and the detail a
 * client may see (a 5xx but 503 hides ours). Sets the headers the status
 * carries (WWW-Authenticate, Retry-After) and no-store, and logs p once;
 * the caller then sends the body. */
struct sp_problem_answer {
    int status;
    const char *title, *code, *detail;
};
struct sp_problem_answer sp_resp_problem_head(struct sp_req *r, const struct sp_problem *p);
int  sp_problem_status(const struct sp_problem *p);
/* Its title ("Not found", "Method not allowed"), as problem+json has it. */
const char *sp_problem_title(const struct sp_problem *p);

#endif
