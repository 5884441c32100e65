/*
 * auth_results: Authentication-Results (RFC 8601) read, and what ours
 * says of From (see the header). One forward pass over the value;
 * comment nesting is a counter, not recursion.
 */
#include "core/auth_results.h"

#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/ascii.h"
#include "core/buf.h"
#include "core/mail_address.h"
#include "core/mail_idn.h"

/* The reader: where it is, and whether the value is still well formed. */
struct rd {
    struct sp_arena *a;
    const char *p;
    bool bad;
};

/* White space and comments (RFC 5322 CFWS); an unterminated comment
 * makes the value bad. */
static void
cfws(struct rd *r)
{
    size_t depth = 0;
    for (; *r->p != '\0'; r->p++) {
        if (depth > 0 && *r->p == '\\' && r->p[1] != '\0')
            r->p++;
        else if (*r->p == '(')
            depth++;
        else if (depth > 0)
            depth -= *r->p == ')';
        else if (!sp_ascii_space(*r->p))
            return;
    }
    r->bad |= depth > 0;
}

/* RFC 8601 §2.2 Keyword (an ldh-str; '_' too, as some MTAs write it),
 * lower case; NULL (and bad) when there is none. */
static const char *
keyword(struct rd *r)
{
    const char *s = r->p;
    while ((*r->p >= 'a' && *r->p <= 'z') || (*r->p >= 'A' && *r->p <= 'Z') ||
           (*r->p >= '0' && *r->p <= '9') || *r->p == '-' || *r->p == '_')
        r->p++;
    if (r->p == s) {
        r->bad = true;
        return NULL;
    }
    char *k = sp_arena_strndup(r->a, s, (size_t)(r->p - s));
    for (char *c = k; *c != '\0'; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    return k;
}

/* r->p just past a '"': the quoted string's text into b, past its close;
 * unterminated: bad. */
static void
quoted(struct rd *r, struct sp_buf *b)
{
    for (; *r->p != '\0' && *r->p != '"'; r->p++) {
        if (*r->p == '\\' && r->p[1] != '\0')
            r->p++;
        sp_buf_putc(b, *r->p);
    }
    if (*r->p == '"')
        r->p++;
    else
        r->bad = true;
}

/* A value: quoted strings and any other bytes up to white space, ';' or
 * a comment, so "local@domain", "@domain", a token and base64 ('/', '=')
 * are all read whole, and a quoted local part keeps its ';' inside. */
static const char *
value(struct rd *r)
{
    struct sp_buf b;
    sp_buf_init(&b, r->a, 32);
    while (*r->p != '\0' && *r->p != ';' && *r->p != '(' && !sp_ascii_space(*r->p)) {
        if (*r->p == '"') {
            r->p++;
            quoted(r, &b);
        } else {
            sp_buf_putc(&b, *r->p++);
        }
    }
    return b.data;
}

/* An optional version ("1*DIGIT") after the authserv-id or a method. */
static void
version(struct rd *r)
{
    while (*r->p >= '0' && *r->p <= '9')
        r->p++;
    cfws(r);
}

static bool
take(struct rd *r, char c)
{
    cfws(r);
    if (*r->p != c)
        return false;
    r->p++;
    cfws(r);
    return true;
}

/* After the method and result: "reason=value" and the properties, up to
 * the next ';' or the end. */
static void
props(struct rd *r, struct sp_auth_result *res)
{
    size_t cap = 0;
    for (cfws(r); !r->bad && *r->p != '\0' && *r->p != ';'; cfws(r)) {
        const char *k = keyword(r), *ptype = "";
        if (k != NULL && take(r, '.')) {
            ptype = k;
            k = keyword(r);
        }
        if (r->bad || !take(r, '=')) {
            r->bad = true;
            return;
        }
        const char *v = value(r);
        if (*ptype == '\0' && strcmp(k, "reason") == 0 && res->reason == NULL) {
            res->reason = v;
            continue;
        }
        res->props = sp_arena_grow(r->a, res->props, res->nprops, &cap, sizeof(*res->props), 4);
        res->props[res->nprops++] = (struct sp_auth_prop){ptype, k, v};
    }
}

/* One resinfo, just after its ';'; false (not bad) for "none". */
static bool
resinfo(struct rd *r, struct sp_auth_result *res)
{
    *res = (struct sp_auth_result){0};
    res->method = keyword(r);
    if (r->bad)
        return false;
    cfws(r);
    if (*r->p == '/') {
        r->p++;
        cfws(r);
        version(r);
    }
    if (!take(r, '=')) {
        /* "; none", and nothing after it */
        r->bad = strcmp(res->method, "none") != 0 || *r->p != '\0';
        return false;
    }
    res->result = keyword(r);
    props(r, res);
    return !r->bad;
}

bool
sp_auth_results_parse(struct sp_arena *a, const char *v, struct sp_auth_results *out)
{
    *out = (struct sp_auth_results){0};
    struct rd r = {a, v != NULL ? v : "", false};
    cfws(&r);
    const char *id = value(&r);
    if (r.bad || *id == '\0')
        return false;
    out->authserv_id = id;
    cfws(&r);
    version(&r);
    size_t cap = 0;
    bool any = false;
    while (!r.bad && *r.p == ';') {
        r.p++;
        cfws(&r);
        if (*r.p == '\0')
            break;   /* a ';' at the end */
        struct sp_auth_result res;
        any = true;
        if (!resinfo(&r, &res)) {
            r.bad |= out->n > 0;   /* "none" only alone */
            continue;
        }
        out->v = sp_arena_grow(a, out->v, out->n, &cap, sizeof(*out->v), 4);
        out->v[out->n++] = res;
    }
    return !r.bad && any && *r.p == '\0';
}

const char *
sp_auth_result_prop(const struct sp_auth_result *r, const char *ptype, const char *property)
{
    for (size_t i = 0; i < r->nprops; i++)
        if (strcmp(r->props[i].ptype, ptype) == 0 && strcmp(r->props[i].property, property) == 0)
            return r->props[i].value;
    return NULL;
}

/* ---- the verdict ---------------------------------------------------------- */

/* The domain of "local@domain", "@domain" or "domain" (NULL: none). */
static const char *
domain_of(const char *s)
{
    const char *at = s != NULL ? strrchr(s, '@') : NULL;
    s = at != NULL ? at + 1 : s;
    return s != NULL && *s != '\0' ? s : NULL;
}

/* The domain of s (domain_of) in the form domains compare in
 * (core/mail_idn): an internationalized one as its A-label, since From,
 * header.from, d= and smtp.mailfrom may each name it as its U-label or
 * its "xn--" form (RFC 8616), and an MTA may write either. NULL: none. */
static const char *
domain_in(struct sp_arena *a, const char *s)
{
    return sp_mail_domain_canonical(a, domain_of(s));
}

/* Whether d vouches for the From domain: it, or a parent of two labels
 * or more (the header's comment says why). */
static bool
aligned(const char *d, const char *from)
{
    if (d == NULL || from == NULL)
        return false;
    size_t n = strlen(d);
    n -= n > 0 && d[n - 1] == '.';
    const char *dot = memchr(d, '.', n);
    return sp_mail_domain_same(d, from) ||
           (dot != NULL && dot > d && dot < d + n - 1 && sp_mail_domain_within(from, d));
}

/* DMARC's verdict: a pass that names the From domain (never for no
 * domain), a non-pass (or a pass for another domain), or no verdict:
 * NOT_ALIGNED, for dkim and spf to try. No verdict is none, no dmarc
 * result, and a pass that names no header.from: which From it evaluated
 * is not said, and a mail may hold a From its checker read and another
 * that we would (QA: a bare CR or a NUL inside From). */
static enum sp_auth_verdict
dmarc(struct sp_arena *a, const struct sp_auth_results *h, const char *from)
{
    enum sp_auth_verdict v = SP_AUTH_NOT_ALIGNED;
    for (size_t i = 0; i < h->n; i++) {
        const struct sp_auth_result *r = &h->v[i];
        if (strcmp(r->method, "dmarc") != 0 || strcmp(r->result, "none") == 0)
            continue;
        const char *hf = domain_in(a, sp_auth_result_prop(r, "header", "from"));
        if (strcmp(r->result, "pass") != 0 || *from == '\0' ||
            (hf != NULL && !sp_mail_domain_same(hf, from)))
            return SP_AUTH_DMARC_NOT_PASS;
        if (hf != NULL)
            v = SP_AUTH_DMARC_PASS;
    }
    return v;
}

/* An aligned dkim or spf pass, else NOT_ALIGNED. */
static enum sp_auth_verdict
dkim_or_spf(struct sp_arena *a, const struct sp_auth_results *h, const char *from)
{
    for (size_t i = 0; i < h->n; i++) {
        const struct sp_auth_result *r = &h->v[i];
        if (strcmp(r->result, "pass") != 0)
            continue;
        const char *d = sp_auth_result_prop(r, "header", "d");
        d = d != NULL ? sp_mail_domain_canonical(a, d)
                      : domain_in(a, sp_auth_result_prop(r, "header", "i"));
        if (strcmp(r->method, "dkim") == 0 && aligned(d, from))
            return SP_AUTH_DKIM_PASS;
        if (strcmp(r->method, "spf") == 0 &&
            aligned(domain_in(a, sp_auth_result_prop(r, "smtp", "mailfrom")), from))
            return SP_AUTH_SPF_PASS;
    }
    return SP_AUTH_NOT_ALIGNED;
}

enum sp_auth_verdict
sp_auth_results_verdict(struct sp_arena *a, const char *const *headers, size_t n,
                        const char *authserv_id, const char *from_addr)
{
    const char *from = domain_in(a, from_addr);
    if (from == NULL)
        from = "";   /* no domain: nothing vouches for it */
    for (size_t i = 0; i < n; i++) {
        struct sp_auth_results h;
        bool ok = sp_auth_results_parse(a, headers[i], &h);
        if (h.authserv_id == NULL || strcasecmp(h.authserv_id, authserv_id) != 0)
            continue;
        if (!ok)
            return SP_AUTH_UNREADABLE;
        enum sp_auth_verdict v = dmarc(a, &h, from);
        return v != SP_AUTH_NOT_ALIGNED ? v : dkim_or_spf(a, &h, from);
    }
    return SP_AUTH_NO_HEADER;
}

bool
sp_auth_verdict_trusted(enum sp_auth_verdict v)
{
    return v == SP_AUTH_DMARC_PASS || v == SP_AUTH_DKIM_PASS || v == SP_AUTH_SPF_PASS;
}

const char *
sp_auth_verdict_name(enum sp_auth_verdict v)
{
    static const char *const names[] = {"dmarc_pass", "dkim_pass", "spf_pass", "no_header",
                                        "unreadable", "dmarc_not_pass", "not_aligned"};
    return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "unknown";
}
