/*
 * request: header/query/body access and response writing for one request.
 */
#include "http/http.h"

#include <ctype.h>
#include <fcgiapp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/arena.h"
#include "core/hex.h"
#include "core/ids.h"
#include "core/json.h"
#include "core/json_writer.h"
#include "core/log.h"
#include "core/media_type.h"
#include "core/utf8.h"

static const char *const method_names[SP_METHOD_MAX] = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER",
};

const char *
sp_method_name(enum sp_method m)
{
    return m < SP_METHOD_MAX ? method_names[m] : "OTHER";
}

enum sp_method
sp_method_parse(const char *s)
{
    for (int i = 0; i < SP_METHOD_OTHER; i++)
        if (strcmp(s, method_names[i]) == 0)
            return (enum sp_method)i;
    return SP_METHOD_OTHER;
}

const char *
sp_req_param(char **envp, const char *name)
{
    size_t n = strlen(name);
    for (char **e = envp; e != NULL && *e != NULL; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

bool
sp_req_operators(const struct sp_req *r)
{
    const char *listener = sp_req_param(r->envp, "SUPPORT_LISTENER");
    return listener != NULL && strcmp(listener, "operators") == 0;
}

/* The CGI parameter of a header: HTTP_ and the name upper-cased, '-' as
 * '_' (without HTTP_ when prefix is false). */
static void
header_key(const char *name, bool prefix, char *key, size_t size)
{
    size_t o = 0;
    if (prefix) {
        memcpy(key, "HTTP_", 5);
        o = 5;
    }
    for (const char *c = name; *c != '\0' && o < size - 1; c++)
        key[o++] = *c == '-' ? '_' : (char)toupper((unsigned char)*c);
    key[o] = '\0';
}

const char *
sp_req_header(const struct sp_req *r, const char *name)
{
    char key[128];
    /* CGI names these two without HTTP_ (RFC 3875 §4.1.2, §4.1.3). */
    bool cgi = strcasecmp(name, "Content-Type") == 0 || strcasecmp(name, "Content-Length") == 0;
    header_key(name, !cgi, key, sizeof(key));
    return sp_req_param(r->envp, key);
}

/* The headers whose one value decides what a request does. */
static const char *const single_headers[] = {
    "Authorization", "Content-Type", "Idempotency-Key", "If-Match", "If-None-Match",
};

const char *
sp_req_repeated_header(const struct sp_req *r)
{
    for (size_t i = 0; i < sizeof(single_headers) / sizeof(single_headers[0]); i++) {
        char key[64];
        header_key(single_headers[i], true, key, sizeof(key));
        size_t n = strlen(key), seen = 0;
        for (char **e = r->envp; e != NULL && *e != NULL; e++)
            if (strncmp(*e, key, n) == 0 && (*e)[n] == '=' && ++seen > 1)
                return single_headers[i];
    }
    return NULL;
}

/* [s, s+n) percent-decoded as a form is ('+' is a space) into *out (an
 * arena string, its length in *len), as far as it can be: a '%' without
 * two hex digits after it stays as written. How it read: SP_FORM_OK, or
 * the first of a bad escape, a %00, bytes that are not UTF-8. */
static enum sp_form_read
url_decode_as_far(struct sp_arena *a, const char *s, size_t n, char **out, size_t *len)
{
    char *o = sp_arena_alloc(a, n + 1);
    size_t k = 0;
    bool bad_escape = false;
    for (size_t i = 0; i < n; i++) {
        int hi = s[i] == '%' && i + 2 < n ? sp_hex_value((unsigned char)s[i + 1]) : -1;
        int lo = hi >= 0 ? sp_hex_value((unsigned char)s[i + 2]) : -1;
        if (lo >= 0) {
            o[k++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            bad_escape = bad_escape || s[i] == '%';
            o[k++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    o[k] = '\0';
    *out = o;
    *len = k;
    if (bad_escape)
        return SP_FORM_BAD_ESCAPE;
    if (memchr(o, '\0', k) != NULL)
        return SP_FORM_NUL;
    return sp_utf8_valid(o, k) ? SP_FORM_OK : SP_FORM_NOT_UTF8;
}

/* Every value read from a query or a form goes to PostgreSQL as text,
 * which refuses %00 and bytes that are not UTF-8 (once it was a vague 422
 * and a db_error for ?q=%ff). */
char *
sp_url_decode(struct sp_arena *a, const char *s, size_t n)
{
    char *out;
    size_t len;
    return url_decode_as_far(a, s, n, &out, &len) == SP_FORM_OK ? out : NULL;
}

/* The raw value of the first piece named name ("" for a bare name), its
 * length in *len; NULL when there is none. Names are compared as written,
 * or, with a (an arena), percent-decoded as values are. */
static const char *
urlencoded_raw(struct sp_arena *a, const char *q, const char *name, size_t *len)
{
    size_t nlen = strlen(name);
    while (q != NULL && *q != '\0') {
        const char *end = strchr(q, '&');
        size_t plen = end ? (size_t)(end - q) : strlen(q);
        const char *eq = memchr(q, '=', plen);
        size_t klen = eq ? (size_t)(eq - q) : plen;
        const char *key = a != NULL ? sp_url_decode(a, q, klen) : NULL;
        if (a != NULL ? key != NULL && strcmp(key, name) == 0
                      : klen == nlen && memcmp(q, name, nlen) == 0) {
            *len = eq ? plen - klen - 1 : 0;
            return eq ? eq + 1 : q + klen;
        }
        q = end ? end + 1 : NULL;
    }
    return NULL;
}

const char *
sp_req_query(const struct sp_req *r, const char *name)
{
    size_t len;
    const char *raw = urlencoded_raw(r->arena, r->query, name, &len);
    return raw != NULL ? sp_url_decode(r->arena, raw, len) : NULL;
}

const char *
sp_req_query_as_written(const struct sp_req *r, const char *name)
{
    return sp_urlencoded_get(r->arena, r->query, name);
}

const char *
sp_req_query_raw(const struct sp_req *r, const char *name, bool decode_names, size_t *len)
{
    return urlencoded_raw(decode_names ? r->arena : NULL, r->query, name, len);
}

/* Whether a Content-Type value is the media type essence with
 * well-formed parameters and no charset other than utf-8; NULL is not. */
static bool
media_type_utf8(const char *value, const char *essence)
{
    if (value == NULL)
        return false;
    const char *s;
    size_t n = sp_media_type_essence(value, &s);
    if (n != strlen(essence) || strncasecmp(s, essence, n) != 0)
        return false;
    /* parameter names and the charset's value without letter case
     * (RFC 9110 §8.3.1, §8.3.2) */
    struct sp_media_param p;
    enum sp_media_next next;
    for (s += n; (next = sp_media_type_param(&s, &p)) == SP_MEDIA_PARAM;)
        if (p.name_len == 7 && strncasecmp(p.name, "charset", 7) == 0 &&
            !sp_media_param_is(&p, "utf-8"))
            return false;
    return next == SP_MEDIA_END;
}

/* The body of a form (application/x-www-form-urlencoded in UTF-8, as a
 * JSON body must be: QA, charset=utf-16 was read as UTF-8),
 * NUL-terminated; NULL for a body of another type or charset. */
static const char *
form_text(struct sp_req *r)
{
    if (!media_type_utf8(sp_req_param(r->envp, "CONTENT_TYPE"),
                         "application/x-www-form-urlencoded"))
        return NULL;
    if (r->form == NULL)  /* the body is not NUL-terminated */
        r->form = sp_arena_strndup(r->arena, r->body ? r->body : "", r->body ? r->body_len : 0);
    return r->form;
}

bool
sp_req_is_form(struct sp_req *r)
{
    return form_text(r) != NULL;
}

const char *
sp_req_form(struct sp_req *r, const char *name)
{
    const char *text = form_text(r);
    return text != NULL ? sp_urlencoded_get(r->arena, text, name) : NULL;
}

enum sp_form_read
sp_req_form_field(struct sp_req *r, const char *name, const char **value)
{
    size_t n;
    const char *raw = urlencoded_raw(NULL, form_text(r), name, &n);
    *value = NULL;
    if (raw == NULL)
        return SP_FORM_ABSENT;
    char *v;
    size_t len;
    enum sp_form_read how = url_decode_as_far(r->arena, raw, n, &v, &len);
    *value = how == SP_FORM_OK ? v : sp_utf8_clean(r->arena, v, len, SP_UTF8_TEXT);
    return how;
}

/* [s, s+len) without blanks (SP, HTAB) at either end, into *len. */
static const char *
cookie_trim(const char *s, size_t *len)
{
    while (*len > 0 && (*s == ' ' || *s == '\t'))
        s++, (*len)--;
    while (*len > 0 && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
        (*len)--;
    return s;
}

size_t
sp_cookie_all(struct sp_arena *a, const char *header, const char *name, const char **values,
              size_t max)
{
    size_t name_len = strlen(name), found = 0;
    for (const char *h = header; h != NULL && *h != '\0' && found < max;) {
        size_t len = strcspn(h, ";");
        const char *eq = memchr(h, '=', len);
        if (eq != NULL) {
            size_t n = (size_t)(eq - h), vlen = len - n - 1;
            const char *k = cookie_trim(h, &n), *v = cookie_trim(eq + 1, &vlen);
            if (n == name_len && memcmp(k, name, n) == 0)
                values[found++] = sp_arena_strndup(a, v, vlen);
        }
        h += len;
        h += *h == ';';
    }
    return found;
}

const char *
sp_cookie_get(struct sp_arena *a, const char *header, const char *name)
{
    const char *values[2];
    return sp_cookie_all(a, header, name, values, 2) == 1 ? values[0] : NULL;  /* not twice */
}

const char *
sp_urlencoded_get(struct sp_arena *a, const char *q, const char *name)
{
    size_t len;
    const char *raw = urlencoded_raw(NULL, q, name, &len);
    return raw != NULL ? sp_url_decode(a, raw, len) : NULL;
}

/* The parameter name of one "name=value" piece, percent-decoded and
 * lower-cased; the raw bytes when the escapes are bad (still compared). */
static char *
query_name_folded(struct sp_arena *a, const char *piece, size_t len)
{
    const char *eq = memchr(piece, '=', len);
    size_t nlen = eq != NULL ? (size_t)(eq - piece) : len;
    char *name = sp_url_decode(a, piece, nlen);
    if (name == NULL)
        name = sp_arena_strndup(a, piece, nlen);
    for (char *c = name; *c != '\0'; c++)
        *c = (char)tolower((unsigned char)*c);
    return name;
}

/* sp_query_names_check, the repeated name (folded) into *repeated. */
static enum sp_query_names
names_check(struct sp_arena *a, const char *query, const char **repeated)
{
    const char *names[SP_QUERY_NAMES_MAX];
    size_t n = 0;
    const char *q = query;
    while (q != NULL && *q != '\0') {
        const char *end = strchr(q, '&');
        size_t len = end ? (size_t)(end - q) : strlen(q);
        if (len > 0) {
            if (n == SP_QUERY_NAMES_MAX)
                return SP_QUERY_NAMES_TOO_MANY;
            const char *name = query_name_folded(a, q, len);
            for (size_t i = 0; i < n; i++)
                if (strcmp(names[i], name) == 0) {
                    *repeated = name;
                    return SP_QUERY_NAMES_REPEATED;
                }
            names[n++] = name;
        }
        q = end ? end + 1 : NULL;
    }
    return SP_QUERY_NAMES_DISTINCT;
}

enum sp_query_names
sp_query_names_check(struct sp_arena *a, const char *query)
{
    const char *repeated;
    return names_check(a, query, &repeated);
}

enum sp_query_names
sp_req_form_names(struct sp_req *r, const char **repeated)
{
    *repeated = NULL;
    return names_check(r->arena, form_text(r), repeated);
}

bool
sp_media_type_is_json_utf8(const char *value)
{
    return media_type_utf8(value, "application/json");
}

struct json_object *
sp_req_json(struct sp_req *r, struct sp_problem *p)
{
    if (!sp_media_type_is_json_utf8(sp_req_header(r, "Content-Type"))) {
        sp_problem_set(p, SP_INVALID, "unsupported_media_type",
                       "send the body as application/json in UTF-8 "
                       "(no charset parameter, or charset=utf-8)");
        return NULL;
    }
    return sp_json_parse_body(r->arena, r->body, r->body_len, p);
}

void
sp_resp_header(struct sp_req *r, const char *name, const char *value)
{
    /* Header values we emit are ours or validated; CR/LF would split them. */
    if (strpbrk(value, "\r\n") != NULL)
        return;
    sp_buf_printf(&r->headers, "%s: %s\r\n", name, value);
}

static const char *
reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default:  return "Status";
    }
}

/* Does one of the handler's extra header lines have this name? */
static bool
has_header(const struct sp_buf *h, const char *name)
{
    size_t n = strlen(name);
    for (size_t at = 0; at < h->len;) {
        const char *line = h->data + at;
        const char *eol = memchr(line, '\n', h->len - at);
        size_t len = eol ? (size_t)(eol - line) + 1 : h->len - at;
        if (len > n && line[n] == ':' && strncasecmp(line, name, n) == 0)
            return true;
        at += len;
    }
    return false;
}

void
sp_resp_send(struct sp_req *r, int status, const char *content_type, const char *body,
             size_t len)
{
    if (r->responded)
        return;
    r->responded = true;
    /* Authenticated answers carry a caller's tickets, contacts or
     * settings: no shared or browser cache may keep them. */
    if (r->no_store && !has_header(&r->headers, "Cache-Control"))
        sp_resp_header(r, "Cache-Control", "no-store");
    r->status = status;
    r->bytes_out = len;
    struct sp_buf head;
    sp_buf_init(&head, r->arena, 512);
    sp_buf_printf(&head, "Status: %d %s\r\n", status, reason_phrase(status));
    if (content_type != NULL)
        sp_buf_printf(&head, "Content-Type: %s\r\n", content_type);
    sp_buf_printf(&head, "X-Request-Id: %s\r\nContent-Length: %zu\r\n", r->request_id, len);
    sp_buf_append(&head, r->headers.data, r->headers.len);
    sp_buf_puts(&head, "\r\n");
    if (r->fcgx != NULL) {
        FCGX_PutStr(head.data, (int)head.len, r->fcgx->out);
        if (len > 0 && r->method != SP_HEAD)
            FCGX_PutStr(body, (int)len, r->fcgx->out);
    } else {
        sp_buf_append(&r->out, head.data, head.len);
        if (len > 0 && r->method != SP_HEAD)
            sp_buf_append(&r->out, body, len);
    }
}

void
sp_resp_finish(struct sp_req *r)
{
    /* Closing both output streams writes FCGI_END_REQUEST, but with
     * fastcgi_keep_conn off nginx completes the response only at EOF
     * (measured: it waited for the handler to return). So the write side
     * is shut down too. The parameters stay valid until the server's
     * FCGX_Finish_r(), which finds the streams closed and only closes. */
    if (r->responded && r->fcgx != NULL) {
        FCGX_FClose(r->fcgx->err);
        FCGX_FClose(r->fcgx->out);
        if (r->fcgx->ipcFd >= 0)
            shutdown(r->fcgx->ipcFd, SHUT_WR);
    }
}

void
sp_resp_json(struct sp_req *r, int status, const struct sp_buf *body)
{
    sp_resp_send(r, status, "application/json; charset=utf-8", body->data, body->len);
}

/* Every problem code the edge knows: its status and title, the code
 * clients see (NULL: the same), the 401 challenge, and for which outcome
 * it is the default (a problem without a code of its own, or with one not
 * listed here, takes its outcome's default row). One table, one answer. */
static const struct problem_kind {
    const char *code;
    int status;
    const char *title;
    enum sp_rc default_for;     /* SP_OK: no outcome's default */
    const char *public_code;
    const char *challenge;      /* WWW-Authenticate of a 401 */
} problem_kinds[] = {
    {"validation_failed", 422, "Validation failed", SP_INVALID, NULL, NULL},
    {"not_found", 404, "Not found", SP_NOT_FOUND, NULL, NULL},
    {"conflict", 409, "Conflict", SP_CONFLICT, NULL, NULL},
    {"forbidden", 403, "Forbidden", SP_FORBIDDEN, NULL, NULL},
    {"unauthorized", 401, "Unauthorized", SP_UNAUTHORIZED, NULL,
     "Bearer realm=\"support\", error=\"invalid_token\""},
    /* RFC 6750 §3.1: a request without credentials gets no error code. */
    {"token_missing", 401, "Unauthorized", SP_OK, "unauthorized", "Bearer realm=\"support\""},
    {"precondition_failed", 412, "Precondition failed", SP_PRECONDITION, NULL, NULL},
    {"payload_too_large", 413, "Payload too large", SP_TOO_LARGE, NULL, NULL},
    {"rate_limited", 429, "Too many requests", SP_RATE_LIMITED, NULL, NULL},
    {"dependency_unavailable", 503, "Dependency unavailable", SP_UNAVAILABLE, NULL, NULL},
    {"internal", 500, "Internal error", SP_ERROR, NULL, NULL},
    {"invalid_json", 400, "Malformed JSON", SP_OK, NULL, NULL},
    {"bad_request", 400, "Bad request", SP_OK, NULL, NULL},
    {"duplicate_header", 400, "Bad request", SP_OK, NULL, NULL},
    {"unsupported_media_type", 415, "Unsupported media type", SP_OK, NULL, NULL},
    {"method_not_allowed", 405, "Method not allowed", SP_OK, NULL, NULL},
    /* a resource that was there and is erased for good (an attachment an
     * agent redacted, docs/API.md §10) */
    {"attachment_redacted", 410, "Gone", SP_OK, NULL, NULL},
};

#define PROBLEM_KINDS (sizeof(problem_kinds) / sizeof(problem_kinds[0]))

/* The row of p: its own code's, else its outcome's default (internal). */
static const struct problem_kind *
problem_kind(const struct sp_problem *p)
{
    for (size_t i = 0; p->code != NULL && i < PROBLEM_KINDS; i++)
        if (strcmp(p->code, problem_kinds[i].code) == 0)
            return &problem_kinds[i];
    enum sp_rc rc = p->rc != SP_OK ? p->rc : SP_ERROR;
    for (size_t i = 0; i < PROBLEM_KINDS; i++)
        if (problem_kinds[i].default_for == rc)
            return &problem_kinds[i];
    for (size_t i = 0; i < PROBLEM_KINDS; i++)
        if (problem_kinds[i].default_for == SP_ERROR)
            return &problem_kinds[i];
    return &problem_kinds[0];   /* not reached: the table has internal */
}

int
sp_problem_status(const struct sp_problem *p)
{
    return problem_kind(p)->status;
}

const char *
sp_problem_title(const struct sp_problem *p)
{
    return problem_kind(p)->title;
}

/* The code clients see: a listed code's public name, an unlisted (domain
 * specific) code as it is, else the outcome's default. */
static const char *
problem_code(const struct sp_problem *p, const struct problem_kind *k)
{
    if (p->code != NULL && strcmp(p->code, k->code) != 0)
        return p->code;
    return k->public_code != NULL ? k->public_code : k->code;
}

struct sp_problem_answer
sp_resp_problem_head(struct sp_req *r, const struct sp_problem *p)
{
    const struct problem_kind *k = problem_kind(p);
    struct sp_problem_answer a = {.status = k->status, .title = k->title};
    a.code = problem_code(p, k);
    /* Our own faults never show their detail to the client (API.md §1). */
    a.detail = a.status >= 500 && a.status != 503 ? "an internal error occurred" : p->detail;
    if (a.detail[0] == '\0')
        a.detail = k->title;
    if (k->challenge != NULL)
        sp_resp_header(r, "WWW-Authenticate", k->challenge);
    /* A 503 is passing (the database restarting, a lock held too long): say
     * when to try again, as nginx's own 502/503/504 pages do. */
    if (a.status == 503)
        sp_resp_header(r, "Retry-After", "1");
    /* A problem is about this one request: never kept by a cache, whatever
     * the route (a 405 or 404 has none whose role could say so). */
    r->no_store = true;
    if (!p->logged) {
        struct sp_log_line *l = sp_log_begin(a.status >= 500 ? SP_LOG_ERROR : SP_LOG_INFO,
                                             "problem");
        sp_log_int(l, "status", a.status);
        sp_log_str(l, "code", a.code);
        sp_log_str(l, "detail", p->detail);
        sp_log_end(l);
    }
    return a;
}

void
sp_resp_problem(struct sp_req *r, const struct sp_problem *p)
{
    struct sp_problem_answer a = sp_resp_problem_head(r, p);
    struct sp_buf b;
    sp_buf_init(&b, r->arena, 512);
    struct sp_jw w;
    sp_jw_begin_object(&w, &b);
    sp_jw_kstr(&w, "type",
               sp_arena_sprintf(r->arena, "https://docs.support.example/errors/%s", a.code));
    sp_jw_kstr(&w, "title", a.title);
    sp_jw_kint(&w, "status", a.status);
    sp_jw_kstr(&w, "code", a.code);
    sp_jw_kstr(&w, "detail", a.detail);
    sp_jw_kstr(&w, "request_id", r->request_id);
    sp_problem_write_errors(&w, p);
    sp_jw_end(&w);
    sp_resp_send(r, a.status, "application/problem+json", b.data, b.len);
}

const char *
sp_req_param_canonical(const struct sp_req *r, size_t i, char id[SP_PUBLIC_ID_LEN + 1])
{
    return sp_public_id_read(r->params[i], id) ? id : r->params[i];
}

const char *
sp_req_scope(struct sp_req *r)
{
    struct sp_buf b;
    sp_buf_init(&b, r->arena, 64);
    sp_buf_puts(&b, r->route != NULL ? r->route : r->path != NULL ? r->path : "");
    for (size_t i = 0; i < r->nparams; i++) {
        char id[SP_PUBLIC_ID_LEN + 1];
        const char *param = sp_req_param_canonical(r, i, id);
        sp_buf_printf(&b, "|%zu:%s", strlen(param), param);
    }
    return b.data;
}
