/*
 * url_guard: URL parsing and the address classifier. See url_guard.h.
 *
 * The ranges are those of the IANA special-purpose registries (RFC 6890
 * and successors) that must never be reached from a public service.
 * Anything the parser is unsure of is refused: a URL that some HTTP
 * client might read differently (user info, backslashes, percent-encoded
 * hosts, whitespace) is not a URL an admin needs for a webhook.
 */
#include "core/url_guard.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static const char *const class_names[] = {
    [SP_ADDR_PUBLIC] = "public",           [SP_ADDR_LOOPBACK] = "loopback",
    [SP_ADDR_PRIVATE] = "private",         [SP_ADDR_LINK_LOCAL] = "link-local",
    [SP_ADDR_UNSPECIFIED] = "unspecified", [SP_ADDR_MULTICAST] = "multicast",
    [SP_ADDR_RESERVED] = "reserved",
};

const char *
sp_addr_class_name(enum sp_addr_class c)
{
    return (size_t)c < sizeof(class_names) / sizeof(class_names[0]) ? class_names[c] : "?";
}

/* --- parsing ---------------------------------------------------------------- */

/* A port as written by anyone who means it: 1-65535 in decimal without
 * leading zeros. "0443" is 443 to curl and to us, but a spelling no
 * client needs is one more a differing parser could read otherwise:
 * refused, not normalised. */
static bool
port_parse(const char *s, size_t n, int *port)
{
    if (n == 0 || n > 5 || strspn(s, "0123456789") < n || s[0] == '0')
        return false;
    long v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    *port = (int)v;
    return v >= 1 && v <= 65535;
}

/* A DNS name or dotted IPv4 address: labels of [a-z0-9_-], no empty
 * label but an optional final dot. */
static bool
name_ok(const char *h, size_t n)
{
    if (n == 0 || n > SP_URL_HOST_MAX || h[0] == '.' || h[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c == '.' ? i + 1 < n && h[i + 1] == '.' : !(isalnum(c) || c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* host[:port] or [v6][:port] of an authority. */
static enum sp_url_syntax
authority_parse(const char *a, size_t n, struct sp_url *out)
{
    const char *port = NULL;
    size_t hlen;
    if (n > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (close == NULL)
            return SP_URL_SYNTAX_HOST;
        hlen = (size_t)(close - a) - 1;
        if (hlen == 0 || hlen >= sizeof(out->host))
            return SP_URL_SYNTAX_HOST;
        memcpy(out->host, a + 1, hlen);
        out->host[hlen] = '\0';
        struct in6_addr v6;
        if (inet_pton(AF_INET6, out->host, &v6) != 1)
            return SP_URL_SYNTAX_HOST;
        out->host_is_ipv6 = true;
        size_t rest = n - (size_t)(close + 1 - a);
        if (rest > 0 && close[1] != ':')
            return SP_URL_SYNTAX_HOST;
        port = rest > 0 ? close + 2 : NULL;
    } else {
        const char *colon = memchr(a, ':', n);
        hlen = colon != NULL ? (size_t)(colon - a) : n;
        if (!name_ok(a, hlen))
            return SP_URL_SYNTAX_HOST;
        for (size_t i = 0; i < hlen; i++)
            out->host[i] = (char)tolower((unsigned char)a[i]);
        out->host[hlen] = '\0';
        port = colon != NULL ? colon + 1 : NULL;
    }
    if (port != NULL && !port_parse(port, n - (size_t)(port - a), &out->port))
        return SP_URL_SYNTAX_PORT;
    return SP_URL_SYNTAX_OK;
}

/* The fault of byte c anywhere in a URL, if any. */
static enum sp_url_syntax
char_fault(unsigned char c)
{
    if (c == ' ' || (c >= '\t' && c <= '\r'))
        return SP_URL_SYNTAX_SPACE;
    if (c < 0x20 || c >= 0x7f)
        return SP_URL_SYNTAX_CHARACTER;
    /* Printable, but its own fault: "printable ASCII only" would not tell
     * an admin what to fix in https://host/a\b (QA). */
    if (c == '\\')
        return SP_URL_SYNTAX_BACKSLASH;
    return c == '#' ? SP_URL_SYNTAX_FRAGMENT : SP_URL_SYNTAX_OK;
}

bool
sp_url_parse(const char *url, struct sp_url *out)
{
    return sp_url_read(url, out) == SP_URL_SYNTAX_OK;
}

enum sp_url_syntax
sp_url_read(const char *url, struct sp_url *out)
{
    memset(out, 0, sizeof(*out));
    size_t len = strlen(url);
    if (len > SP_URL_MAX)
        return SP_URL_SYNTAX_TOO_LONG;
    for (size_t i = 0; i < len; i++) {
        enum sp_url_syntax fault = char_fault((unsigned char)url[i]);
        if (fault != SP_URL_SYNTAX_OK)
            return fault;
    }
    size_t skip;
    if (strncasecmp(url, "https://", 8) == 0) {
        out->https = true;
        out->port = 443;
        skip = 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        out->port = 80;
        skip = 7;
    } else {
        return SP_URL_SYNTAX_SCHEME;
    }
    const char *a = url + skip;
    size_t n = strcspn(a, "/?");
    if (memchr(a, '@', n) != NULL)
        return SP_URL_SYNTAX_USERINFO;
    /* A percent-encoded host (or IPv6 zone) fails name_ok or inet_pton,
     * a percent in the port port_parse: each named as the part it is in. */
    return authority_parse(a, n, out);
}

/* --- classifying ------------------------------------------------------------ */

/* a within prefix/bits (network byte order, first 32 bits compared). */
static bool
in4(const uint8_t a[4], uint32_t prefix, int bits)
{
    uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
    uint32_t mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
    return (v & mask) == (prefix & mask);
}

enum sp_addr_class
sp_addr_classify_v4(const uint8_t a[4])
{
    static const struct {
        uint32_t prefix;
        int bits;
        enum sp_addr_class c;
    } ranges[] = {
        {0x00000000, 8, SP_ADDR_UNSPECIFIED},  /* 0/8 "this network" */
        {0x7f000000, 8, SP_ADDR_LOOPBACK},     /* 127/8 */
        {0x0a000000, 8, SP_ADDR_PRIVATE},      /* 10/8 */
        {0xac100000, 12, SP_ADDR_PRIVATE},     /* 172.16/12 */
        {0xc0a80000, 16, SP_ADDR_PRIVATE},     /* 192.168/16 */
        {0x64400000, 10, SP_ADDR_PRIVATE},     /* 100.64/10 CGNAT */
        {0xa9fe0000, 16, SP_ADDR_LINK_LOCAL},  /* 169.254/16 */
        {0xffffffff, 32, SP_ADDR_MULTICAST},   /* broadcast */
        {0xe0000000, 4, SP_ADDR_MULTICAST},    /* 224/4 */
        {0xf0000000, 4, SP_ADDR_RESERVED},     /* 240/4 */
        {0xc0000000, 24, SP_ADDR_RESERVED},    /* 192.0.0/24 IETF */
        {0xc0000200, 24, SP_ADDR_RESERVED},    /* TEST-NET-1 */
        {0xc6336400, 24, SP_ADDR_RESERVED},    /* TEST-NET-2 */
        {0xcb007100, 24, SP_ADDR_RESERVED},    /* TEST-NET-3 */
        {0xc6120000, 15, SP_ADDR_RESERVED},    /* 198.18/15 benchmarking */
        {0xc0586300, 24, SP_ADDR_RESERVED},    /* 192.88.99/24 6to4 relay */
    };
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
        if (in4(a, ranges[i].prefix, ranges[i].bits))
            return ranges[i].c;
    return SP_ADDR_PUBLIC;
}

static bool
zeros(const uint8_t *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != 0)
            return false;
    return true;
}

/* The IPv4 address an IPv6 form carries, or NULL: mapped ::ffff:0:0/96,
 * compatible ::/96 (deprecated, but still routed by some stacks), NAT64
 * 64:ff9b::/96 and 64:ff9b:1::/48, 6to4 2002::/16. */
static const uint8_t *
embedded_v4(const uint8_t a[16])
{
    static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
    static const uint8_t nat64_local[6] = {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01};
    if (zeros(a, 10) && a[10] == 0xff && a[11] == 0xff)
        return a + 12;
    if (zeros(a, 12))
        return a + 12;
    if (memcmp(a, nat64, 12) == 0 || memcmp(a, nat64_local, 6) == 0)
        return a + 12;
    if (a[0] == 0x20 && a[1] == 0x02)
        return a + 2;
    return NULL;
}

enum sp_addr_class
sp_addr_classify_v6(const uint8_t a[16])
{
    if (zeros(a, 16))
        return SP_ADDR_UNSPECIFIED;
    if (zeros(a, 15) && a[15] == 1)
        return SP_ADDR_LOOPBACK;
    const uint8_t *v4 = embedded_v4(a);
    if (v4 != NULL)
        return sp_addr_classify_v4(v4);
    if (a[0] == 0xff)
        return SP_ADDR_MULTICAST;
    if ((a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0))
        return SP_ADDR_PRIVATE;                    /* ULA fc00::/7, site-local fec0::/10 */
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
        return SP_ADDR_LINK_LOCAL;                 /* fe80::/10 */
    /* The IANA IPv6 special-purpose registry: 2001::/23 is the IETF's
     * protocol assignments (Teredo, benchmarking 2001:2::/48, ORCHID, and
     * anycast services: never a webhook receiver), refused whole. */
    if ((a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) ||  /* documentation */
        (a[0] == 0x3f && a[1] == 0xff && (a[2] & 0xf0) == 0) ||  /* documentation 3fff::/20 */
        (a[0] == 0x20 && a[1] == 0x01 && (a[2] & 0xfe) == 0) ||  /* IETF 2001::/23 */
        (a[0] == 0x01 && zeros(a + 1, 7)) ||                     /* discard 100::/64 */
        (a[0] & 0xe0) != 0x20)                                   /* not global unicast */
        return SP_ADDR_RESERVED;
    return SP_ADDR_PUBLIC;
}

enum sp_addr_class
sp_addr_classify(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return sp_addr_classify_v4((const uint8_t *)&in->sin_addr);
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        return sp_addr_classify_v6(in6->sin6_addr.s6_addr);
    }
    return SP_ADDR_RESERVED;
}

bool
sp_addr_classify_text(const char *s, enum sp_addr_class *out)
{
    uint8_t a[16];
    if (inet_pton(AF_INET, s, a) == 1)
        *out = sp_addr_classify_v4(a);
    else if (inet_pton(AF_INET6, s, a) == 1)
        *out = sp_addr_classify_v6(a);
    else
        return false;
    return true;
}

/* --- the decision ----------------------------------------------------------- */

static bool
loopback_exception(const struct sp_url *url, bool allow_loopback)
{
    return allow_loopback && strcmp(url->host, "127.0.0.1") == 0;
}

bool
sp_url_address_allowed(const struct sp_url *url, const struct sockaddr *sa, bool allow_loopback)
{
    enum sp_addr_class c = sp_addr_classify(sa);
    if (c == SP_ADDR_PUBLIC)
        return true;
    if (!loopback_exception(url, allow_loopback) || sa->sa_family != AF_INET)
        return false;
    const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
    return ntohl(in->sin_addr.s_addr) == INADDR_LOOPBACK;
}

static enum sp_url_verdict
refuse(enum sp_url_verdict v, char *why, size_t whylen, const char *what, const char *arg)
{
    if (why != NULL && whylen > 0)
        snprintf(why, whylen, "%s%s%s", what, arg != NULL ? " " : "", arg != NULL ? arg : "");
    return v;
}

/* Every address of the host must pass; the first is the one to pin. */
static enum sp_url_verdict
check_addresses(const struct addrinfo *ai, bool allow_loopback, struct sp_url_target *out,
                char *why, size_t whylen)
{
    bool first = true;
    for (; ai != NULL; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        if (!sp_url_address_allowed(&out->url, ai->ai_addr, allow_loopback))
            return refuse(SP_URL_ADDRESS, why, whylen, "the host resolves to an address that is",
                          sp_addr_class_name(sp_addr_classify(ai->ai_addr)));
        if (!first)
            continue;
        const void *bytes =
            ai->ai_family == AF_INET
                ? (const void *)&((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_addr
                : (const void *)&((const struct sockaddr_in6 *)(const void *)ai->ai_addr)
                      ->sin6_addr;
        if (inet_ntop(ai->ai_family, bytes, out->addr, sizeof(out->addr)) == NULL)
            return refuse(SP_URL_UNRESOLVED, why, whylen, "unusable address", NULL);
        out->addr_is_ipv6 = ai->ai_family == AF_INET6;
        first = false;
    }
    if (first)
        return refuse(SP_URL_UNRESOLVED, why, whylen, "the host has no address", NULL);
    return SP_URL_OK;
}

enum sp_url_verdict
sp_url_guard(const char *url, bool allow_loopback, struct sp_url_target *out, char *why,
             size_t whylen)
{
    memset(out, 0, sizeof(*out));
    if (!sp_url_parse(url, &out->url))
        return refuse(SP_URL_MALFORMED, why, whylen, "not an absolute http(s) URL", NULL);
    if (!out->url.https && !loopback_exception(&out->url, allow_loopback))
        return refuse(SP_URL_SCHEME, why, whylen, "must be https://", NULL);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(out->url.host, NULL, &hints, &res) != 0 || res == NULL)
        return refuse(SP_URL_UNRESOLVED, why, whylen, "the host does not resolve", NULL);
    enum sp_url_verdict v = check_addresses(res, allow_loopback, out, why, whylen);
    freeaddrinfo(res);
    return v;
}
