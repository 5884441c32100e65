/*
 * common: shared handler plumbing. See common.h.
 */
#include "api/common.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "core/arena.h"
#include "core/ascii.h"
#include "core/hex.h"
#include "core/sanitize.h"
#include "core/utf8.h"
#include "core/ids.h"
#include "domain/agents.h"
#include "domain/attachments.h"
#include "domain/chat_access.h"
#include "domain/chat_sessions.h"
#include "domain/lifecycle.h"
#include "domain/idempotency.h"
#include "domain/store.h"
#include "domain/ticket_subject.h"
#include "core/cursor.h"

#define SP_IDEM_KEY_MAX 255

struct sp_ctx
sp_api_ctx(struct sp_req *r)
{
    const struct sp_app *app = r->env->app;
    struct sp_ctx ctx = {
        .arena = r->arena,
        .db = r->env->db,
        .rules = app ? app->rules : NULL,
        .agent_max_open = app ? app->cfg.agent_max_open_tickets : 50,
        .customer_channels = app ? app->cfg.customer_channels : 1u << SP_CUSTOMER_EMAIL,
        .mail_from_name = app ? app->cfg.mail_from_name : NULL,
    };
    return ctx;
}

struct sp_ctx
sp_api_read_ctx(struct sp_req *r)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    ctx.db = sp_store_reader(r->env->db, r->env->read_db);
    return ctx;
}

struct sp_buf *
sp_api_buf(struct sp_req *r)
{
    struct sp_buf *b = sp_arena_alloc(r->arena, sizeof(*b));
    sp_buf_init(b, r->arena, 4096);
    return b;
}

struct sp_jw *
sp_api_json(struct sp_req *r)
{
    struct sp_jw *w = sp_arena_alloc(r->arena, sizeof(*w));
    sp_jw_init(w, sp_api_buf(r));
    return w;
}

struct sp_jw *
sp_api_object(struct sp_req *r)
{
    struct sp_jw *w = sp_api_json(r);
    sp_jw_object(w);
    return w;
}

enum sp_rc
sp_api_send(struct sp_req *r, int status, struct sp_jw *w)
{
    while (w->depth > 0)
        sp_jw_end(w);
    sp_resp_json(r, status, w->b);
    return SP_OK;
}

const struct sp_query_spec sp_api_messages_query[SP_API_MESSAGES_COUNT] = {
    [SP_API_MESSAGES_LIMIT] = SP_API_LIMIT("messages_limit", 100),
    [SP_API_MESSAGES_CURSOR] = SP_API_CURSOR("messages_cursor", "m"),
};

const struct sp_query_spec sp_api_agent_messages_query[SP_API_MESSAGES_COUNT] = {
    [SP_API_MESSAGES_LIMIT] = SP_API_LIMIT("messages_limit", 100),
    [SP_API_MESSAGES_CURSOR] = SP_API_TICKET_CURSOR("messages_cursor"),
};

/* The scope every ticket cursor is sealed in: the agent's routes of a
 * ticket, whichever path, command or spelling answered it (a PATCH's
 * answer pages on as its GET does); the ticket is in the cursor. */
#define TICKET_CURSOR_SCOPE "agent-ticket"

static enum sp_rc
foreign_cursor(const char *name, struct sp_problem *p)
{
    sp_problem_query_field(p, name, "invalid", "is not a cursor returned by this list");
    return p->rc;
}

enum sp_rc
sp_api_ticket_cursor_read(const char *name, const char *kind, const struct sp_query_value *q,
                          struct sp_api_ticket_cursor *out, struct sp_problem *p)
{
    *out = (struct sp_api_ticket_cursor){0, 0};
    if (!q->present)
        return SP_OK;
    struct sp_cursor_key k;
    if (!sp_cursor_decode_key(q->str, TICKET_CURSOR_SCOPE, kind, &k) || !k.has_value ||
        k.value <= 0)
        return foreign_cursor(name, p);
    *out = (struct sp_api_ticket_cursor){k.value, k.id};
    return SP_OK;
}

enum sp_rc
sp_api_ticket_cursor_check(const char *name, const struct sp_api_ticket_cursor *c,
                           long long ticket, struct sp_problem *p)
{
    return c->ticket == 0 || c->ticket == ticket ? SP_OK : foreign_cursor(name, p);
}

const char *
sp_api_ticket_next_cursor(struct sp_req *r, const char *kind, long long ticket, long long next)
{
    struct sp_cursor_key k = {true, ticket, next};
    return next > 0 ? sp_cursor_encode_key(r->arena, TICKET_CURSOR_SCOPE, kind, &k) : NULL;
}

enum sp_rc
sp_api_page_query(struct sp_req *r, const struct sp_api_list *list,
                  const struct sp_query_spec *filters, size_t nfilters, struct sp_query_value *q,
                  struct sp_api_page *page, struct sp_problem *p)
{
    struct sp_query_spec *specs = sp_arena_calloc(r->arena, nfilters + 2, sizeof(*specs));
    struct sp_query_value *all = sp_arena_calloc(r->arena, nfilters + 2, sizeof(*all));
    if (nfilters > 0)
        memcpy(specs, filters, nfilters * sizeof(*specs));
    specs[nfilters] = (struct sp_query_spec)SP_API_LIMIT("limit", list->def_limit);
    specs[nfilters + 1] = (struct sp_query_spec)SP_API_CURSOR("cursor", list->kind);
    if (sp_query_read(r, specs, nfilters + 2, all, p) != SP_OK)
        return p->rc;
    if (nfilters > 0)
        memcpy(q, all, nfilters * sizeof(*q));
    *page = (struct sp_api_page){(int)all[nfilters].i, all[nfilters + 1].i, 0, 0,
                                 sp_query_scope(r, specs, nfilters + 2)};
    return SP_OK;
}

enum sp_rc
sp_api_page_params(struct sp_req *r, const struct sp_api_list *list, struct sp_api_page *page,
                   struct sp_problem *p)
{
    return sp_api_page_query(r, list, NULL, 0, NULL, page, p);
}

void
sp_api_set_flags(uint64_t set, bool *flags, int n)
{
    for (int i = 0; i < n; i++)
        flags[i] = (set >> i) & 1;
}

void
sp_api_list_begin(struct sp_buf *b)
{
    sp_buf_puts(b, "{\"data\":[");
}

void
sp_api_list_item(struct sp_buf *b, size_t index)
{
    if (index > 0)
        sp_buf_putc(b, ',');
}

void
sp_api_list_end_cursor(struct sp_buf *b, const char *cursor)
{
    sp_buf_puts(b, "],\"next_cursor\":");
    sp_buf_json_cstr(b, cursor);
    sp_buf_putc(b, '}');
}

const char *
sp_api_next_cursor(struct sp_req *r, const char *scope, const char *kind, long long next)
{
    return next > 0 ? sp_cursor_encode(r->arena, scope, kind, next) : NULL;
}

struct sp_buf *
sp_api_list_render(struct sp_req *r, const void *items, size_t n, size_t size,
                   sp_api_item_writer *write, const char *next_cursor)
{
    struct sp_buf *b = sp_api_buf(r);
    struct sp_jw w;
    sp_api_list_begin(b);
    for (size_t i = 0; i < n; i++) {
        sp_api_list_item(b, i);
        sp_jw_init(&w, b);
        write(&w, (const char *)items + i * size);
    }
    sp_api_list_end_cursor(b, next_cursor);
    return b;
}

enum sp_rc
sp_api_answer_list(struct sp_req *r, const void *items, size_t n, size_t size,
                   sp_api_item_writer *write, const char *next_cursor)
{
    sp_resp_json(r, 200, sp_api_list_render(r, items, n, size, write, next_cursor));
    return SP_OK;
}

enum sp_rc
sp_api_answer_page(struct sp_req *r, const struct sp_api_list *list,
                   const struct sp_api_page *page, const void *items)
{
    return sp_api_answer_list(r, items, page->n, list->item_size, list->write,
                              sp_api_next_cursor(r, page->scope, list->kind, page->next));
}

/* Our ETags: "<id>-v<version>" for a row (an article: its slug, the
 * public URL, can name a new article after a delete or a rename, whose
 * version starts at 1 again), "v<version>-<digest>" for a ticket's
 * representation (ticket_etag_text). */
static const char *
etag_text(struct sp_req *r, long long id, long long version)
{
    return sp_arena_sprintf(r->arena, "\"%lld-v%lld\"", id, version);
}

/* A ticket's ETag: its version, the part If-Match checks (ids are never
 * reused, so it names one state of one ticket), and the first 64 bits of
 * the SHA-256 of the body, the part that makes it name the bytes sent: a
 * view shows what the version does not count (the category's slug, a
 * priority rule's name, the contact, an SLA breach that only time made),
 * so "v<version>" alone let a 304 keep a renamed category (QA). */
#define TICKET_DIGEST_HEX 16

/* hex: the first TICKET_DIGEST_HEX hex digits of the SHA-256 of body. */
static void
body_digest(char hex[TICKET_DIGEST_HEX + 1], const char *body, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(body, len, md, &mdlen, EVP_sha256(), NULL) != 1)
        abort();   /* as sp_api_request_hash: no answer can be named without it */
    sp_hex_encode(hex, md, TICKET_DIGEST_HEX / 2);
}

static const char *
ticket_etag_text(struct sp_req *r, long long version, const char *body, size_t len)
{
    char hex[TICKET_DIGEST_HEX + 1];
    body_digest(hex, body, len);
    return sp_arena_sprintf(r->arena, "\"v%lld-%s\"", version, hex);
}

const char *
sp_api_etag(struct sp_req *r, long long id, long long version)
{
    const char *etag = etag_text(r, id, version);
    sp_resp_header(r, "ETag", etag);
    return etag;
}

const char *
sp_api_body_etag(struct sp_req *r, const struct sp_buf *body)
{
    char hex[TICKET_DIGEST_HEX + 1];
    body_digest(hex, body->data, body->len);
    const char *etag = sp_arena_sprintf(r->arena, "\"d-%s\"", hex);
    sp_resp_header(r, "ETag", etag);
    return etag;
}

const char *
sp_api_ticket_etag(struct sp_req *r, long long version, const char *body, size_t len)
{
    const char *etag = ticket_etag_text(r, version, body, len);
    sp_resp_header(r, "ETag", etag);
    return etag;
}

/* The positive decimal number at s[*i] (at most 12 digits), moving *i
 * past it; 0 when there is none, or it is not written as we write it
 * (a leading zero: "v01" is no tag we sent). */
static long long
etag_number(const char *s, size_t n, size_t *i)
{
    long long v = 0;
    size_t start = *i;
    if (*i < n && s[*i] == '0')
        return 0;
    for (; *i < n && s[*i] >= '0' && s[*i] <= '9'; (*i)++) {
        if (*i - start >= 12)
            return 0;
        v = v * 10 + (s[*i] - '0');
    }
    return v;
}

/* Whether s[i..n) is a ticket ETag's "-<digest>" (lower-case hex). */
static bool
etag_digest(const char *s, size_t n, size_t i)
{
    if (n - i != 1 + TICKET_DIGEST_HEX || s[i] != '-')
        return false;
    for (i++; i < n; i++)
        if (sp_hex_value((unsigned char)s[i]) < 0 || (s[i] >= 'A' && s[i] <= 'F'))
            return false;
    return true;
}

/* An ETag we sent ("12-v3", a ticket's "v3-<digest>"; W/ or not) into
 * *id (0 for a ticket's) and *version; false for anything else. A
 * ticket's bare "v3", the form its ETags had before the digest, still
 * names version 3 (a client may build it from the body's version). */
static bool
etag_parse(const char *s, size_t n, long long *id, long long *version)
{
    if (n >= 2 && strncmp(s, "W/", 2) == 0) {
        s += 2;
        n -= 2;
    }
    if (n < 4 || s[0] != '"' || s[n - 1] != '"')
        return false;
    size_t i = 1;
    *id = 0;
    if (s[i] != 'v') {
        *id = etag_number(s, n - 1, &i);
        if (*id <= 0 || s[i] != '-')
            return false;
        i++;
    }
    if (s[i++] != 'v')
        return false;
    *version = etag_number(s, n - 1, &i);
    return *version > 0 && (i == n - 1 || (*id == 0 && etag_digest(s, n - 1, i)));
}

/* The next member of an entity-tag list (RFC 9110 §8.8.3) at *h: its
 * start, its length in *n with blanks trimmed, *h moved past it; NULL at
 * the end. A comma inside a quoted tag splits it, which only ever splits
 * a tag we did not send. */
static const char *
etag_list_next(const char **h, size_t *n)
{
    const char *s = *h + strspn(*h, " \t,");
    if (*s == '\0')
        return NULL;
    *n = strcspn(s, ",");
    *h = s + *n;
    while (*n > 0 && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
        (*n)--;
    return s;
}

/* If-None-Match compares weakly (RFC 9110 §13.1.2, §8.8.3.2): a listed
 * tag, W/ or not, whose opaque-tag is etag's (ours are strong), or *. */
static bool
none_match(struct sp_req *r, const char *etag)
{
    const char *h = sp_req_header(r, "If-None-Match"), *tag;
    size_t n, len = strlen(etag);
    while (h != NULL && (tag = etag_list_next(&h, &n)) != NULL) {
        if (n >= 2 && strncmp(tag, "W/", 2) == 0) {
            tag += 2;
            n -= 2;
        }
        if ((n == 1 && tag[0] == '*') || (n == len && memcmp(tag, etag, n) == 0))
            return true;
    }
    return false;
}

bool
sp_api_not_modified(struct sp_req *r, const char *etag)
{
    if ((r->method != SP_GET && r->method != SP_HEAD) || !none_match(r, etag))
        return false;
    sp_resp_send(r, 304, NULL, "", 0);
    return true;
}

enum sp_rc
sp_api_if_match(struct sp_req *r, long long id, struct sp_versions *versions,
                struct sp_problem *p)
{
    *versions = SP_VERSIONS_ANY;
    const char *h = sp_req_header(r, "If-Match"), *tag;
    if (h == NULL)
        return SP_OK;
    /* RFC 9110 §13.1.1: a list matches when any one of its tags is
     * current — all of this resource's are kept, and the write checks
     * its version against them where it locks the row (the newest alone
     * refused "v1", "v5" on a ticket at version 1: QA). * matches any
     * current representation: the write's own 404 says when there is
     * none. */
    size_t n;
    long long tid, tversion;
    while ((tag = etag_list_next(&h, &n)) != NULL) {
        if (n == 1 && tag[0] == '*') {
            *versions = SP_VERSIONS_ANY;
            return SP_OK;
        }
        if (etag_parse(tag, n, &tid, &tversion) && tid == id)
            *versions = sp_versions_add(r->arena, *versions, tversion);
    }
    if (versions->n > 0)
        return SP_OK;
    /* No example: one made up (of version 3) read as the version to
     * send; the resource's answers carry its current ETag. */
    return sp_problem_set(p, SP_PRECONDITION, "precondition_failed",
                          "If-Match must be the ETag of this resource (as its answers carry"
                          " it) or *");
}

/* The elements of array a as an arena array of *n strings (owned by a),
 * then NULL; NULL, *n untouched, when one is not a string. A string with
 * a NUL in it is a NULL item (sp_problem_check_items refuses it): only a
 * list's (SP_FIELD_LIST) has one here, json.c refuses it in any other
 * array. */
static const char **
array_strings(struct sp_req *r, struct json_object *a, size_t *n)
{
    size_t len = json_object_array_length(a);
    const char **items = sp_arena_calloc(r->arena, len + 1, sizeof(*items));
    for (size_t i = 0; i < len; i++) {
        struct json_object *e = json_object_array_get_idx(a, i);
        if (!json_object_is_type(e, json_type_string))
            return NULL;
        if (!sp_json_has_nul(e))
            items[i] = json_object_get_string(e);
    }
    *n = len;
    return items;
}

/* array_strings(), with the field error of an item that is no string:
 * one `wrong_type` on the list's name, as every list field says it
 * (API.md §1). */
static const char **
array_strings_of(struct sp_req *r, const char *field, struct json_object *a, size_t *n,
                 struct sp_problem *p)
{
    const char **items = array_strings(r, a, n);
    if (items == NULL)
        sp_problem_field(p, field, "wrong_type", "must be an array of strings");
    return items;
}

enum sp_rc
sp_api_string_array(struct sp_req *r, const char *field, const struct sp_field_value *v,
                    const char *const **out, size_t *n, bool *set, struct sp_problem *p)
{
    if (!v->present)
        return SP_OK;
    const char **items = array_strings_of(r, field, v->obj, n, p);
    if (items == NULL)
        return sp_problem_set(p, SP_INVALID, "validation_failed", SP_PROBLEM_BODY_DETAIL);
    *out = items;
    *set = true;
    return SP_OK;
}

enum sp_rc
sp_api_id_param(struct sp_req *r, long long *id, struct sp_problem *p)
{
    return sp_api_id_param_at(r, 0, id, p);
}

enum sp_rc
sp_api_id_param_at(struct sp_req *r, int i, long long *id, struct sp_problem *p)
{
    *id = sp_row_id_read(r->params[i]);
    return *id > 0 ? SP_OK : sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such resource");
}

enum sp_rc
sp_api_delete_by_id_of(struct sp_req *r, sp_api_delete_fn del, const void *arg,
                       struct sp_problem *p)
{
    long long id;
    struct sp_versions if_match;
    if (sp_api_id_param(r, &id, p) != SP_OK || sp_api_if_match(r, id, &if_match, p) != SP_OK)
        return p->rc;
    struct sp_ctx ctx = sp_api_ctx(r);
    if (del(&ctx, arg, id, if_match, p) != SP_OK)
        return p->rc;
    sp_resp_send(r, 204, NULL, NULL, 0);
    return SP_OK;
}

/* A command of the plain kind, carried as sp_api_delete_by_id_of's arg
 * (a function pointer does not convert to void *). */
struct plain_delete {
    enum sp_rc (*del)(struct sp_ctx *ctx, long long id, struct sp_versions if_match,
                      struct sp_problem *p);
};

static enum sp_rc
plain_delete(struct sp_ctx *ctx, const void *arg, long long id, struct sp_versions if_match,
             struct sp_problem *p)
{
    return ((const struct plain_delete *)arg)->del(ctx, id, if_match, p);
}

enum sp_rc
sp_api_delete_by_id(struct sp_req *r,
                    enum sp_rc (*del)(struct sp_ctx *ctx, long long id, struct sp_versions if_match,
                                      struct sp_problem *p),
                    struct sp_problem *p)
{
    const struct plain_delete d = {del};
    return sp_api_delete_by_id_of(r, plain_delete, &d, p);
}

const char *
sp_api_public_id(struct sp_req *r, const char *s)
{
    char id[SP_PUBLIC_ID_LEN + 1];
    return sp_public_id_read(s, id) ? sp_arena_strdup(r->arena, id) : NULL;
}

/* SHA-256 over method, route, parameters and body: what "the same
 * request" means. The route and each parameter as the handler reads
 * them, a public id in its canonical form: /tickets/abc… names the same
 * ticket as /tickets/ABC… (API.md §1), so its replay is one (QA: 422
 * idempotency_key_reused). */
void
sp_api_request_hash(const struct sp_req *r, unsigned char out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    const char *m = sp_method_name(r->method);
    const char *route = r->route != NULL ? r->route : r->path;
    unsigned int len = 0;
    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(md, m, strlen(m) + 1) != 1 ||
        EVP_DigestUpdate(md, route, strlen(route) + 1) != 1)
        abort(); /* OpenSSL cannot hash: nothing sane to continue with */
    for (size_t i = 0; i < r->nparams; i++) {
        char id[SP_PUBLIC_ID_LEN + 1];
        const char *param = sp_req_param_canonical(r, i, id);
        if (EVP_DigestUpdate(md, param, strlen(param) + 1) != 1)
            abort();
    }
    if (EVP_DigestUpdate(md, r->body ? r->body : "", r->body_len) != 1 ||
        EVP_DigestFinal_ex(md, out, &len) != 1)
        abort();
    EVP_MD_CTX_free(md);
}

/* What the domain's idempotency wrapper calls back: the handler's create
 * and replay steps, which render into the request's buffer. */
struct create_call {
    struct sp_req *r;
    sp_api_create_fn fn;
    sp_api_replay_fn replay_fn;
    void *input;
    bool found;             /* the create step found its resource made */
};

static enum sp_rc
call_create(struct sp_ctx *ctx, void *arg, struct sp_idem_record *answer, struct sp_problem *p)
{
    (void)ctx;
    struct create_call *c = arg;
    struct sp_buf *body = sp_api_buf(c->r);
    struct sp_api_created out = {NULL, 0, 0, false, 0};
    if (c->fn(c->r, c->input, body, &out, p) != SP_OK)
        return p->rc;
    c->found = out.found;
    answer->status = out.found ? 200 : out.status > 0 ? out.status : 201;
    answer->location = out.location;
    answer->etag = out.version <= 0   ? NULL
                   : out.etag_id == 0 ? ticket_etag_text(c->r, out.version, body->data, body->len)
                                      : etag_text(c->r, out.etag_id, out.version);
    answer->body = body->data;
    return SP_OK;
}

static enum sp_rc
call_replay(struct sp_ctx *ctx, void *arg, const char *location, struct sp_idem_record *answer,
            struct sp_problem *p)
{
    (void)ctx;
    struct create_call *c = arg;
    struct sp_buf *body = sp_api_buf(c->r);
    const char *slash = strrchr(location, '/');
    struct sp_api_created out = {NULL, 0, 0, false, 0};
    if (c->replay_fn(c->r, c->input, slash != NULL ? slash + 1 : "", body, &out, p) != SP_OK)
        return p->rc;
    if (out.version > 0)
        answer->etag = etag_text(c->r, out.etag_id, out.version);
    answer->location = location;
    answer->body = body->data;
    return SP_OK;
}

/* A key is text to PostgreSQL (a column of 1 to 255 characters, which
 * refuses bytes that are not UTF-8: a vague 422 and a db_error once) and
 * to logs: UTF-8 without control characters, its length in code points
 * like every length of API.md (so at most 4 × 255 bytes). */
static bool
idempotency_key_ok(const char *key)
{
    size_t len = strlen(key);
    if (len == 0 || len > 4 * SP_IDEM_KEY_MAX || !sp_utf8_valid(key, len))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)key[i];
        /* C0, DEL, and C1 (U+0080..U+009F: 0xC2 0x80..0x9F in UTF-8) */
        if (sp_ascii_control((char)c) || (c == 0xc2 && (unsigned char)key[i + 1] <= 0x9f))
            return false;
    }
    return sp_utf8_count(key, len) <= SP_IDEM_KEY_MAX;
}

enum sp_rc
sp_api_idempotency_key(struct sp_req *r, const char **key, struct sp_problem *p)
{
    *key = sp_req_header(r, "Idempotency-Key");
    if (*key != NULL && !idempotency_key_ok(*key)) {
        sp_problem_header_field(p, "Idempotency-Key", "invalid",
                                "must be 1 to 255 characters of UTF-8 without control characters");
        return SP_INVALID;
    }
    return SP_OK;
}

/* The create protocol (API.md §1): the header is checked here, the
 * transaction and the key belong to the domain (sp_idem_run). */
static enum sp_rc
create(struct sp_req *r, sp_api_create_fn fn, sp_api_replay_fn replay_fn, void *input,
       struct sp_problem *p)
{
    const char *key;
    if (sp_api_idempotency_key(r, &key, p) != SP_OK)
        return p->rc;
    unsigned char hash[32];
    if (key != NULL)
        sp_api_request_hash(r, hash);
    struct create_call call = {r, fn, replay_fn, input, false};
    struct sp_idem_command cmd = {call_create, replay_fn != NULL ? call_replay : NULL, &call};
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_idem_record answer = {0, NULL, NULL, NULL};
    bool replayed;
    if (sp_idem_run(&ctx, sp_api_party(r), key, hash, &cmd, &answer, &replayed, p) != SP_OK)
        return p->rc;
    if (replayed || call.found)
        sp_resp_header(r, "Idempotent-Replayed", "true");
    if (answer.location != NULL)
        sp_resp_header(r, "Location", answer.location);
    if (answer.etag != NULL)
        sp_resp_header(r, "ETag", answer.etag);
    const char *body = answer.body != NULL ? answer.body : "";
    sp_resp_send(r, answer.status, "application/json; charset=utf-8", body, strlen(body));
    return SP_OK;
}

enum sp_rc
sp_api_create(struct sp_req *r, sp_api_create_fn fn, void *input, struct sp_problem *p)
{
    return create(r, fn, NULL, input, p);
}

enum sp_rc
sp_api_create_secret(struct sp_req *r, sp_api_create_fn fn, sp_api_replay_fn replay, void *input,
                     struct sp_problem *p)
{
    return create(r, fn, replay, input, p);
}

static void
rate_headers(struct sp_req *r, const struct sp_rate_result *rate)
{
    sp_resp_header(r, "RateLimit-Limit", sp_arena_sprintf(r->arena, "%ld", rate->limit));
    sp_resp_header(r, "RateLimit-Remaining", sp_arena_sprintf(r->arena, "%ld", rate->remaining));
    sp_resp_header(r, "RateLimit-Reset", sp_arena_sprintf(r->arena, "%ld", rate->reset_seconds));
}

/* The window a limit counts in, as the 429's detail names it: "20
 * allowed" alone did not say per what (QA), and a wait of 10 s reads as
 * a minute's limit though it may be the day's. */
static const char *
window_name(struct sp_req *r, long seconds)
{
    switch (seconds) {
    case 1:
        return "second";
    case 60:
        return "minute";
    case 3600:
        return "hour";
    case 86400:
        return "day";
    }
    return sp_arena_sprintf(r->arena, "%ld s", seconds);
}

/* The 429 of a refused request (its RateLimit-* headers already set). */
static enum sp_rc
refuse(struct sp_req *r, const struct sp_rate_result *rate, struct sp_problem *p)
{
    sp_resp_header(r, "Retry-After", sp_arena_sprintf(r->arena, "%ld", rate->reset_seconds));
    return sp_problem_set(p, SP_RATE_LIMITED, "rate_limited",
                          "too many requests: %ld allowed per %s; try again in %ld s",
                          rate->limit, window_name(r, rate->window_seconds),
                          rate->reset_seconds);
}

enum sp_rc
sp_api_rate_answer(struct sp_req *r, const struct sp_rate_result *rate, struct sp_problem *p)
{
    rate_headers(r, rate);
    return rate->allowed ? SP_OK : refuse(r, rate, p);
}

/* The create step of a request the limit refused: nothing is made, so a
 * new key's claim rolls back with it. */
static enum sp_rc
refused_create(struct sp_req *r, void *input, struct sp_buf *body, struct sp_api_created *out,
               struct sp_problem *p)
{
    (void)r;
    (void)input;
    (void)body;
    (void)out;
    return sp_problem_set(p, SP_RATE_LIMITED, "rate_limited", "refused by its rate limit");
}

/* A refused request with an Idempotency-Key goes through the create
 * protocol with the refusal as its create step: the protocol's own claim
 * (the same user and request fingerprint) and replay answer a key that
 * holds this request's answer, refuse it with another request's (422
 * idempotency_key_reused: waiting would not make it right), and wait for
 * one still in flight, then replay (as a duplicate under the limit does);
 * the 429 only when nothing is stored under the key (API.md §1 "Rate
 * limits"). A client that lost the first answer gets it back (QA). */
static enum sp_rc
refused(struct sp_req *r, const struct sp_rate_result *rate, const struct sp_api_replay *replay,
        struct sp_problem *p)
{
    const char *key = sp_req_header(r, "Idempotency-Key");
    rate_headers(r, rate);
    if (replay == NULL || key == NULL || !idempotency_key_ok(key))
        return refuse(r, rate, p);   /* nothing can be stored under it */
    if (create(r, refused_create, replay->fn, replay->input, p) == SP_OK)
        /* answered by the replay: the handler goes no further */
        return sp_problem_set(p, SP_RATE_LIMITED, "rate_limited", "answered by a replay");
    if (p->rc != SP_RATE_LIMITED)   /* only the refused create step says so */
        return p->rc;
    sp_problem_init(p);
    return refuse(r, rate, p);
}

/* Counts a request in bucket's windows and answers for it (see
 * sp_api_create_rate_limit). */
static enum sp_rc
limit(struct sp_req *r, const char *bucket, const struct sp_rate_window *windows, int nwindows,
      const struct sp_api_replay *replay, struct sp_rate_result *out, struct sp_problem *p)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    if (sp_rate_hit(&ctx, bucket, windows, nwindows, out, p) != SP_OK)
        return p->rc;
    return out->allowed ? sp_api_rate_answer(r, out, p) : refused(r, out, replay, p);
}

enum sp_rc
sp_api_rate_limit(struct sp_req *r, const char *bucket, const struct sp_rate_window *windows,
                  int nwindows, struct sp_rate_result *out, struct sp_problem *p)
{
    return limit(r, bucket, windows, nwindows, NULL, out, p);
}

enum sp_rc
sp_api_create_rate_limit(struct sp_req *r, const char *bucket,
                         const struct sp_rate_window *windows, int nwindows,
                         const struct sp_api_replay *replay, struct sp_problem *p)
{
    struct sp_rate_result rate;
    return limit(r, bucket, windows, nwindows, replay, &rate, p);
}

/* The caller's attempts at one kind of create, counted in the bucket
 * <kind>:<sub> in two windows. */
static enum sp_rc
creates_limit(struct sp_req *r, const char *kind, struct sp_rate_window short_window,
              struct sp_rate_window long_window, const struct sp_api_replay *replay,
              struct sp_problem *p)
{
    const struct sp_rate_window windows[2] = {short_window, long_window};
    return sp_api_create_rate_limit(r, sp_arena_sprintf(r->arena, "%s:%s", kind, r->principal.sub),
                                    windows, 2, replay, p);
}

struct sp_party
sp_api_party(const struct sp_req *r)
{
    return (struct sp_party){r->principal.sub,
                             sp_principal_has_role(&r->principal, SP_ROLE_AGENT)};
}

/* The caller's attempts counted in the bucket <kind>:<who> in one
 * minute window of per_minute. */
static enum sp_rc
minute_limit(struct sp_req *r, const char *kind, const char *who, long per_minute,
             const struct sp_api_replay *replay, struct sp_problem *p)
{
    const struct sp_rate_window window = {60, per_minute};
    return sp_api_create_rate_limit(r, sp_arena_sprintf(r->arena, "%s:%s", kind, who), &window,
                                    1, replay, p);
}

enum sp_rc
sp_api_attachment_rate_limit(struct sp_req *r, const struct sp_api_replay *replay,
                             struct sp_problem *p)
{
    const struct sp_app *app = r->env->app;
    return minute_limit(r, "attachment_create", sp_party_key(r->arena, sp_api_party(r)),
                        app->cfg.attachment_rate_per_minute, replay, p);
}

enum sp_rc
sp_api_ticket_rate_limit(struct sp_req *r, const struct sp_api_replay *replay,
                         struct sp_problem *p)
{
    const struct sp_app *app = r->env->app;
    const struct sp_config *cfg = &app->cfg;
    return creates_limit(r, "ticket_create",
                         (struct sp_rate_window){60, cfg->ticket_rate_per_minute},
                         (struct sp_rate_window){86400, cfg->ticket_rate_per_day}, replay, p);
}

enum sp_rc
sp_api_ticket_reply_rate_limit(struct sp_req *r, const struct sp_api_replay *replay,
                               struct sp_problem *p)
{
    const struct sp_app *app = r->env->app;
    return minute_limit(r, "ticket_reply", r->principal.sub,
                        app->cfg.ticket_reply_rate_per_minute, replay, p);
}

enum sp_rc
sp_api_chat_session_rate_limit(struct sp_req *r, const struct sp_api_replay *replay,
                               struct sp_problem *p)
{
    const struct sp_app *app = r->env->app;
    const struct sp_config *cfg = &app->cfg;
    return creates_limit(r, "chat_session",
                         (struct sp_rate_window){60, cfg->chat_session_rate_per_minute},
                         (struct sp_rate_window){3600, cfg->chat_session_rate_per_hour}, replay,
                         p);
}

const char *
sp_api_chat_message_limit(struct sp_req *r, const char *session_id, struct sp_rate_window *window)
{
    const struct sp_app *app = r->env->app;
    *window = (struct sp_rate_window){60, app->cfg.chat_rate_per_minute};
    /* The customer's messages and the staff's count apart: a customer
     * flooding the session must not silence the agent's answers (QA). */
    return sp_arena_sprintf(r->arena, "chat_message:%s:%s", session_id,
                            sp_api_party(r).staff ? "staff" : "customer");
}

const char *
sp_api_body_html(struct sp_req *r, const char *field, const struct sp_field_value *v,
                 size_t max_chars, struct sp_problem *p)
{
    const char *why;
    const char *clean = sp_sanitize_body(r->arena, v->str, v->len, max_chars, &why);
    if (clean != NULL)
        return clean;
    if (strcmp(why, "empty") == 0)
        sp_problem_field(p, field, "empty", sp_sanitize_empty_reason(v->str, v->len));
    else
        sp_problem_field(p, field, "too_long",
                         sp_arena_sprintf(r->arena,
                                          "is longer than %zu characters once sanitized"
                                          " (escaped characters such as < and & count as"
                                          " several)",
                                          max_chars));
    return NULL;
}

struct sp_api_attachments
sp_api_attachment_ids(struct sp_req *r, const struct sp_field_value *attachments,
                      struct sp_problem *p)
{
    struct sp_api_attachments out = {NULL, 0};
    if (!attachments->present)
        return out;
    /* A number is no id of ours, but it is the body's shape that is
     * wrong, not the upload it names (QA: [5] was unknown_attachment). */
    const char **ids = array_strings_of(r, "attachments", attachments->obj, &out.n, p);
    if (ids == NULL)
        return out;
    for (size_t i = 0; i < out.n; i++) {
        const char *id = sp_api_public_id(r, ids[i]);
        if (id != NULL)
            ids[i] = id;
    }
    out.ids = ids;
    return out;
}

/* Whether p is a 422 of field errors: the lookups below join only such. */
static bool
field_errors(const struct sp_problem *p)
{
    return p->rc == SP_INVALID && p->nerrors > 0;
}

void
sp_api_attachments_with_errors(struct sp_req *r, const struct sp_api_attachments *a,
                               struct sp_problem *p)
{
    if (a->n == 0 || !field_errors(p) || sp_problem_refuses(p, "attachments"))
        return;
    struct sp_ctx ctx = sp_api_ctx(r);
    sp_attachments_check(&ctx, sp_api_party(r), a->ids, a->n, p);
}

void
sp_api_agent_with_errors(struct sp_req *r, const char *field, long long agent_id,
                         struct sp_problem *p)
{
    if (!field_errors(p))
        return;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_agent agent;
    struct sp_problem miss;   /* a failed lookup leaves the 422 as it is */
    sp_problem_init(&miss);
    if (sp_agent_get(&ctx, agent_id, &agent, &miss) == SP_NOT_FOUND)
        sp_problem_field(p, field, "unknown_agent", "is not an agent");
}

void
sp_api_category_with_errors(struct sp_req *r, const struct sp_field_value *category,
                            enum sp_category_scope scope, struct sp_problem *p)
{
    if (!category->present || !field_errors(p))
        return;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_category cat;
    (void)sp_category_by_slug(&ctx, category->str, scope, &cat, p);
}

bool
sp_api_parse_status(const char *s, int *out)
{
    enum sp_status st;
    if (!sp_status_parse(s, &st))
        return false;
    *out = (int)st;
    return true;
}

/* The body validated against specs; with field errors it is returned
 * only when the caller reads on (sp_api_read_fields). */
static struct json_object *
read_validated(struct sp_req *r, const struct sp_field_spec *specs, size_t n,
               struct sp_field_value *v, bool read_on, struct sp_problem *p)
{
    struct json_object *json = sp_req_json(r, p);
    if (json == NULL ||
        (sp_json_validate(json, specs, n, v, p) != SP_OK && !(read_on && p->nerrors > 0)))
        return NULL;
    return json;
}

struct json_object *
sp_api_read_body(struct sp_req *r, const struct sp_field_spec *specs, size_t n,
                 struct sp_field_value *v, struct sp_problem *p)
{
    return read_validated(r, specs, n, v, false, p);
}

struct json_object *
sp_api_read_fields(struct sp_req *r, const struct sp_field_spec *specs, size_t n,
                   struct sp_field_value *v, struct sp_problem *p)
{
    return read_validated(r, specs, n, v, true, p);
}

const struct sp_field_spec *
sp_api_fields_for(struct sp_req *r, bool create, const struct sp_field_spec *specs, size_t n)
{
    struct sp_field_spec *s = sp_arena_calloc(r->arena, n, sizeof(*s));
    memcpy(s, specs, n * sizeof(*s));
    for (size_t i = 0; i < n; i++)
        s[i].required = create && s[i].required;
    return s;
}

struct json_object *
sp_api_read_body_for(struct sp_req *r, bool create, const struct sp_field_spec *specs, size_t n,
                     struct sp_field_value *v, struct sp_problem *p)
{
    return sp_api_read_body(r, sp_api_fields_for(r, create, specs, n), n, v, p);
}

/* A byte below space or DEL in s. */
static bool
has_control(const char *s)
{
    for (; *s != '\0'; s++)
        if (sp_ascii_control(*s))
            return true;
    return false;
}

/* The claim s without the blanks around it when it is an address a mail
 * can go to: at most 254 bytes (RFC 5321's path), one '@' between a local
 * part and a domain, no blank or control character; else NULL. It is
 * kept as claimed, UTF-8 too: a mail goes to an internationalized
 * domain's A-label, a non-ASCII local part is skipped as bad_address
 * (domain/channels.c, core/mail_idn). */
static const char *
plausible_email(struct sp_arena *a, const char *s)
{
    if (s == NULL)
        return NULL;
    const char *b = s, *e = s + strlen(s);
    sp_ascii_trim(&b, &e);
    size_t n = (size_t)(e - b);
    const char *at = memchr(b, '@', n);
    if (n < 3 || n > 254 || at == NULL || at == b || at + 1 == e ||
        memchr(at + 1, '@', (size_t)(e - at - 1)) != NULL || memchr(b, ' ', n) != NULL)
        return NULL;
    const char *out = sp_arena_strndup(a, b, n);
    return has_control(out) ? NULL : out;
}

const struct sp_contact_sealed *
sp_api_caller_contact(struct sp_req *r)
{
    const struct sp_app *app = r->env->app;
    /* The token's contact claims are an identity provider's, nobody's
     * typing to refuse; what cannot be a contact is no claim, as an
     * unknown tier is (QA: a CRLF or a 5,000-byte "email" was stored and
     * shown to agents). The name is made one line of at most 200
     * characters, as an agent's is (sp_agent_ensure). */
    const char *name = r->principal.name != NULL &&
                               sp_utf8_valid(r->principal.name, strlen(r->principal.name))
                           ? sp_ticket_subject_of_text(r->arena, r->principal.name, 200)
                           : NULL;
    const char *email = plausible_email(r->arena, r->principal.email);
    /* the phone is kept as claimed: notifications send it as E.164 or
     * skip it as bad_address (domain/channels.c) */
    struct sp_contact contact = {name, email, r->principal.phone,
                                 r->principal.tier_claimed ? sp_tier_name(r->principal.tier)
                                                           : NULL};
    struct sp_contact_sealed *sealed = sp_arena_alloc(r->arena, sizeof(*sealed));
    sp_contact_seal(app->crypto, r->arena, r->principal.sub, &contact, sealed);
    return sealed;
}

enum sp_rc
sp_api_current_agent(struct sp_req *r, struct sp_agent *out, struct sp_problem *p)
{
    /* Read once a request: provisioning (api/app.c) reads it for every
     * staff request, and the handler's own lookup is then that row. */
    if (r->caller_data != NULL) {
        *out = *(const struct sp_agent *)r->caller_data;
        return SP_OK;
    }
    struct sp_ctx ctx = sp_api_ctx(r);
    /* An admin's row starts away: reading the admin API is no offer to
     * take tickets (QA: every admin joined round-robin routing for good);
     * the admin sets itself active to take work. */
    const char *status = r->principal.role == SP_ROLE_ADMIN ? "away" : "active";
    if (sp_agent_ensure(&ctx, r->principal.sub, r->principal.name, status, out, p) != SP_OK)
        return p->rc;
    struct sp_agent *kept = sp_arena_alloc(r->arena, sizeof(*kept));
    *kept = *out;
    r->caller_data = kept;
    return SP_OK;
}

enum sp_rc
sp_api_chat_id(struct sp_req *r, const char *s, const char **id, struct sp_problem *p)
{
    *id = sp_api_public_id(r, s);
    if (*id == NULL)
        return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such chat session");
    return SP_OK;
}

enum sp_rc
sp_api_chat_for_caller(struct sp_req *r, const char *public_id, struct sp_chat_session *s,
                       struct sp_problem *p)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    const struct sp_principal *me = &r->principal;
    bool customer = me->role == SP_ROLE_CUSTOMER;
    if (sp_api_chat_id(r, public_id, &public_id, p) != SP_OK)
        return p->rc;
    if (sp_chat_get(&ctx, public_id, customer ? me->sub : NULL, s, p) != SP_OK)
        return p->rc;
    if (customer || me->role == SP_ROLE_ADMIN)
        return SP_OK;
    struct sp_agent agent;
    if (sp_api_current_agent(r, &agent, p) != SP_OK)
        return p->rc;
    if (s->assigned_agent_id != agent.id)
        return sp_problem_set(p, SP_FORBIDDEN, "forbidden",
                              "only the assigned agent may use this chat");
    return SP_OK;
}

void
sp_api_chat_became_ticket(struct sp_req *r, const char *session_id, const char *ticket_public_id,
                          const struct sp_chat_joins *joins)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    sp_chat_access_publish_system(&ctx, session_id, "ticket_created",
                                  &(struct sp_chat_system_extra){.ticket_id = ticket_public_id});
    sp_chat_access_publish_system(&ctx, session_id, "closed", NULL);
    sp_chat_access_revoke_session(session_id);
    sp_chat_access_publish_joins(&ctx, joins);
}
