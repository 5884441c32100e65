/*
 * query: table-driven query-string validation. See query.h.
 */
#include "http/query.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/cursor.h"
#include "core/names.h"
#include "core/rfc3339.h"
#include "core/utf8.h"
#include "http/http.h"

size_t
sp_query_split(struct sp_req *r, const char *list, const char ***out)
{
    size_t cap = 1;
    for (const char *c = list; *c; c++)
        cap += *c == ',';
    const char **items = sp_arena_calloc(r->arena, cap, sizeof(*items));
    size_t n = 0;
    for (const char *s = list;;) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len > 0)
            items[n++] = sp_arena_strndup(r->arena, s, len);
        if (e == NULL)
            break;
        s = e + 1;
    }
    *out = items;
    return n;
}

static bool
enum_index(const struct sp_query_spec *s, const char *v, int *index)
{
    if (s->parse != NULL)
        return s->parse(v, index);
    *index = s->values != NULL ? sp_name_index(s->values, v) : -1;
    return *index >= 0;
}

/* Lengths count code points, as every length of API.md §1 does (the
 * queue's q of 167 × '退' was refused as over 500); v is UTF-8, as
 * sp_url_decode made sure. The charset is of bytes. */
static bool
string_ok(const struct sp_query_spec *s, const char *v)
{
    size_t bytes = strlen(v);
    long long len = (long long)sp_utf8_count(v, bytes);
    if (len < s->min || (s->max > 0 && len > s->max))
        return false;
    return s->charset == NULL || strspn(v, s->charset) == bytes;
}

/* A decimal written one way (QA: "01", "+5" and " 5" were taken): an
 * optional '-', then digits without a leading zero. */
static bool
read_int(const struct sp_query_spec *s, const char *v, struct sp_query_value *out)
{
    const char *d = v + (v[0] == '-');
    size_t digits = strspn(d, "0123456789");
    if (digits == 0 || d[digits] != '\0' || (d[0] == '0' && digits > 1))
        return false;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < s->min || n > s->max)
        return false;
    out->i = n;
    return true;
}

static bool
read_set(struct sp_req *r, const struct sp_query_spec *s, const char *v,
         struct sp_query_value *out)
{
    const char **items;
    size_t n = sp_query_split(r, v, &items);
    for (size_t k = 0; k < n; k++) {
        int index;
        if (!enum_index(s, items[k], &index) || index < 0 || index >= 64)
            return false;
        out->set |= (uint64_t)1 << index;
    }
    return n > 0;
}

static bool
read_list(struct sp_req *r, const struct sp_query_spec *s, const char *v,
          struct sp_query_value *out)
{
    out->nitems = sp_query_split(r, v, &out->items);
    for (size_t k = 0; k < out->nitems; k++)
        if (!string_ok(s, out->items[k]))
            return false;
    return true;   /* an empty list filters nothing */
}

const char *
sp_query_scope(struct sp_req *r, const struct sp_query_spec *specs, size_t n)
{
    struct sp_buf b;
    sp_buf_init(&b, r->arena, 128);
    sp_buf_puts(&b, sp_req_scope(r));
    for (size_t k = 0; k < n; k++) {
        const struct sp_query_spec *s = &specs[k];
        size_t len;
        const char *raw = s->type == SP_QUERY_CURSOR || s->pages
                              ? NULL
                              : sp_req_query_raw(r, s->name, true, &len);
        if (raw == NULL)
            continue;
        const char *v = sp_url_decode(r->arena, raw, len);
        v = v != NULL ? v : sp_arena_strndup(r->arena, raw, len);
        if (*v == '\0')
            continue;   /* absent, as sp_query_read takes it */
        sp_buf_printf(&b, "?%zu:%s=%zu:%s", strlen(s->name), s->name, strlen(v), v);
    }
    return b.data;
}

/* One parameter: true when v is valid for s (out filled); scope: the
 * list's cursors' (sp_query_scope). */
static bool
read_one(struct sp_req *r, const struct sp_query_spec *s, const char *v, const char *scope,
         struct sp_query_value *out)
{
    int index;
    switch (s->type) {
    case SP_QUERY_INT:
        return read_int(s, v, out);
    case SP_QUERY_STRING:
        return string_ok(s, v);
    case SP_QUERY_ENUM:
        if (!enum_index(s, v, &index))
            return false;
        out->i = index;
        return true;
    case SP_QUERY_SET:
        return read_set(r, s, v, out);
    case SP_QUERY_LIST:
        return read_list(r, s, v, out);
    case SP_QUERY_TIMESTAMP:
        return sp_rfc3339_parse(v, &out->ms);
    case SP_QUERY_CURSOR:
        return sp_cursor_decode(v, scope, s->kind, &out->i);
    }
    return false;
}

enum sp_rc
sp_query_read(struct sp_req *r, const struct sp_query_spec *specs, size_t n,
              struct sp_query_value *out, struct sp_problem *p)
{
    const char *scope = NULL;
    for (size_t k = 0; k < n; k++) {
        const struct sp_query_spec *s = &specs[k];
        struct sp_query_value *v = &out[k];
        memset(v, 0, sizeof(*v));
        size_t len;
        /* "%73tatus" is status (QA: matching the name as written dropped
         * that filter); a repeated name, in any spelling, takes its first
         * value (API.md §1). */
        const char *raw = sp_req_query_raw(r, s->name, true, &len);
        v->str = raw != NULL ? sp_url_decode(r->arena, raw, len) : NULL;
        if (v->str == NULL && raw != NULL) {
            /* Not taken as absent: a dropped filter would widen the answer. */
            sp_problem_query_field(p, s->name, "invalid",
                                   "has a bad percent-escape, %00 or bytes that are not UTF-8");
            continue;
        }
        /* An empty value is the parameter absent, in every list (as
         * Zendesk's and GitHub's APIs read it): clients that always send
         * each parameter (QA: cursor= on the first page, q= from an empty
         * search box) got 422 for it. Not a bad escape: "" is no value. */
        if (v->str != NULL && v->str[0] == '\0')
            v->str = NULL;
        if (v->str == NULL) {
            v->i = s->type == SP_QUERY_INT || s->type == SP_QUERY_ENUM ? s->def : 0;
            continue;
        }
        /* present: given and valid. A refused value is reported here
         * once; the handler's own checks of it (a cursor's decoding, an
         * agent id) must not report it again (QA: listed twice). */
        if (s->type == SP_QUERY_CURSOR && scope == NULL)
            scope = sp_query_scope(r, specs, n);
        v->present = read_one(r, s, v->str, scope, v);
        if (!v->present)
            sp_problem_query_field(p, s->name, "invalid", s->message);
    }
    return p->rc;
}
