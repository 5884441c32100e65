/*
 * auth_results: the Authentication-Results header field (RFC 8601), in
 * which the receiving MTA records what it checked of a mail (SPF, DKIM,
 * DMARC, ...), and whether that vouches for the mail's From domain.
 *   - The value is read as support-mail-in gets it from core/mail_parse:
 *     unfolded, controls made spaces. Comments (nested, quoted-pairs) and
 *     white space may stand between any two tokens (CFWS); the
 *     authserv-id and values may be quoted strings; an optional version
 *     after the authserv-id and after a method ("dkim/1") is skipped.
 *   - Each resinfo after a ';' is "method=result", an optional
 *     "reason=value", then properties "ptype.property=value" (a value may
 *     be "local@domain", "@domain" or base64 with '/' and '='; a
 *     property written without its ptype, as some MTAs write
 *     "action=none", is kept with ptype ""). "; none" is no result, and
 *     stands alone. A ';' at the very end is allowed.
 *   - Anything else (an unterminated comment or quoted string, a token
 *     where none may be, a method without '=') makes the value
 *     unreadable: it is never half trusted.
 * Which header counts (sp_auth_results_verdict): only the topmost one
 * whose authserv-id is ours, because our MTA adds its own at the top and
 * anything below it came with the mail, possibly forged by its sender
 * (RFC 8601 §5); headers of other authserv-ids are passed over.
 * Must not: know SQL, tickets or the network; trust any byte of the
 * value; allocate outside the arena.
 */
#ifndef SP_AUTH_RESULTS_H
#define SP_AUTH_RESULTS_H

#include <stdbool.h>
#include <stddef.h>

struct sp_arena;

/* "ptype.property=value": ptype and property lower case, the value as
 * written (a quoted string unquoted). */
struct sp_auth_prop {
    const char *ptype, *property, *value;
};

/* One "method=result ..." (method and result lower case). */
struct sp_auth_result {
    const char *method, *result;
    const char *reason;            /* reason=..., unquoted; NULL when none */
    struct sp_auth_prop *props;
    size_t nprops;
};

struct sp_auth_results {
    const char *authserv_id;       /* unquoted, as written; NULL when unreadable */
    struct sp_auth_result *v;      /* in header order; none for "; none" */
    size_t n;
};

/* Reads one header value into *out (arena-owned). false when it is not
 * a readable Authentication-Results value; out->authserv_id is then set
 * when at least that was read. */
bool sp_auth_results_parse(struct sp_arena *a, const char *value, struct sp_auth_results *out);

/* The value of property ptype.property of r (the first such), NULL when
 * it has none. */
const char *sp_auth_result_prop(const struct sp_auth_result *r, const char *ptype,
                                const char *property);

/* What our header says of the From domain. */
enum sp_auth_verdict {
    SP_AUTH_DMARC_PASS,      /* dmarc=pass header.from=<this From domain> */
    SP_AUTH_DKIM_PASS,       /* no dmarc verdict; an aligned dkim=pass */
    SP_AUTH_SPF_PASS,        /* no dmarc verdict; an aligned spf=pass */
    SP_AUTH_NO_HEADER,       /* no Authentication-Results of our authserv-id */
    SP_AUTH_UNREADABLE,      /* ours, but not readable */
    SP_AUTH_DMARC_NOT_PASS,  /* a dmarc result other than pass, or a pass for another domain */
    SP_AUTH_NOT_ALIGNED,     /* no dmarc verdict, and no aligned dkim or spf pass */
};

/* The verdict of the topmost of headers[0..n) (values in header order,
 * top first) whose authserv-id is authserv_id (in any case), for a mail
 * whose From is from_addr (an addr-spec). DMARC decides when it gave a
 * verdict: every dmarc result must be pass and, where it names
 * header.from, name the From domain; a pass is one that names it.
 * dmarc=none (the domain publishes no DMARC policy) is no verdict, nor
 * is a pass without header.from (we cannot tell which domain passed);
 * then a dkim=pass whose header.d (else
 * header.i's domain) is aligned, or an spf=pass whose smtp.mailfrom's
 * domain is aligned, vouches for From. Aligned (relaxed, without a
 * public suffix list): the From domain itself or a parent domain of it
 * of two labels or more (mail.example.com is vouched for by a signature
 * of example.com, whose owner controls its subdomains' DNS anyway; never
 * by one of com, nor the other way round by a subdomain, which may be
 * delegated to someone else). Domains compare without case or a
 * trailing root dot, an internationalized one in its U-label and its
 * A-label ("xn--") form alike (core/mail_idn: both as the A-label). */
enum sp_auth_verdict sp_auth_results_verdict(struct sp_arena *a, const char *const *headers,
                                             size_t n, const char *authserv_id,
                                             const char *from_addr);

/* Whether v vouches for From. */
bool sp_auth_verdict_trusted(enum sp_auth_verdict v);

/* v's name for logs ("dmarc_pass", "no_header", ...). */
const char *sp_auth_verdict_name(enum sp_auth_verdict v);

#endif
