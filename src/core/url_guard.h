/*
 * url_guard: the SSRF guard of outbound requests to URLs that users give
 * (webhooks, API.md §11). A URL passes when it is https:// and every
 * address its host resolves to is a public unicast address; the one
 * exception, for development stacks (SUPPORT_WEBHOOK_ALLOW_LOOPBACK=1), is
 * the literal host 127.0.0.1 (http or https, any port). Loopback, private
 * (RFC 1918, CGNAT 100.64/10, ULA fc00::/7), link-local, unspecified,
 * multicast, broadcast, documentation/benchmark/reserved ranges, and the
 * IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64,
 * 6to4) of any of those are refused.
 *
 * The check runs twice: when the URL is stored, and before each request
 * against the address the request will then use (sp_url_guard() returns
 * it, so the caller pins its connection to it: a DNS answer that changes
 * in between, "DNS rebinding", cannot send the request elsewhere).
 * Must not: know SQL, HTTP servers or any domain concept; send anything.
 */
#ifndef SP_URL_GUARD_H
#define SP_URL_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SP_URL_MAX 2048
#define SP_URL_HOST_MAX 253

struct sockaddr;

/* An absolute http(s) URL, split: scheme://host[:port][/path][?query].
 * No user info, no fragment, no whitespace or control characters, host a
 * DNS name (letters, digits, '-', '.', '_'), a dotted IPv4 address or a
 * bracketed IPv6 address. */
struct sp_url {
    bool https;
    char host[SP_URL_HOST_MAX + 1];   /* lower-cased; IPv6 without brackets */
    bool host_is_ipv6;
    int port;                         /* explicit or the scheme's default */
};

/* Why a text is no such URL: the first fault found, for the caller to
 * word (an admin typing a webhook URL is told which part is wrong). */
enum sp_url_syntax {
    SP_URL_SYNTAX_OK = 0,
    SP_URL_SYNTAX_TOO_LONG,   /* more than SP_URL_MAX bytes */
    SP_URL_SYNTAX_SPACE,      /* a space, tab or line break */
    SP_URL_SYNTAX_CHARACTER,  /* another control character or a byte outside ASCII */
    SP_URL_SYNTAX_BACKSLASH,  /* '\\', which WHATWG parsers read as '/' and others keep */
    SP_URL_SYNTAX_FRAGMENT,   /* '#' */
    SP_URL_SYNTAX_SCHEME,     /* neither http:// nor https:// */
    SP_URL_SYNTAX_USERINFO,   /* '@' before the path */
    SP_URL_SYNTAX_HOST,       /* none, or no DNS name or IP address ('%' too) */
    SP_URL_SYNTAX_PORT,       /* not a number from 1 to 65535 */
};
/* url split into *out, or the reason it cannot be. */
enum sp_url_syntax sp_url_read(const char *url, struct sp_url *out);
/* sp_url_read() found no fault. */
bool sp_url_parse(const char *url, struct sp_url *out);

enum sp_addr_class {
    SP_ADDR_PUBLIC = 0,
    SP_ADDR_LOOPBACK,
    SP_ADDR_PRIVATE,      /* RFC 1918, CGNAT, ULA, site-local */
    SP_ADDR_LINK_LOCAL,
    SP_ADDR_UNSPECIFIED,  /* 0.0.0.0/8, :: */
    SP_ADDR_MULTICAST,    /* and 255.255.255.255 */
    SP_ADDR_RESERVED,     /* documentation, benchmarking, 240/4, … */
};
const char *sp_addr_class_name(enum sp_addr_class c);
/* An IPv4 address in network byte order (as in struct in_addr). */
enum sp_addr_class sp_addr_classify_v4(const uint8_t a[4]);
/* An IPv6 address; forms that embed an IPv4 address are classified by it. */
enum sp_addr_class sp_addr_classify_v6(const uint8_t a[16]);
/* AF_INET / AF_INET6; anything else is SP_ADDR_RESERVED. */
enum sp_addr_class sp_addr_classify(const struct sockaddr *sa);
/* Text form of an address (inet_pton syntax) classified; false when s is
 * not an address. */
bool sp_addr_classify_text(const char *s, enum sp_addr_class *out);

enum sp_url_verdict {
    SP_URL_OK = 0,
    SP_URL_MALFORMED,   /* not an absolute http(s) URL */
    SP_URL_SCHEME,      /* not https (and not the loopback exception) */
    SP_URL_UNRESOLVED,  /* the host has no address */
    SP_URL_ADDRESS,     /* an address is not public */
};

/* Where a request to a guarded URL goes: its parts and the address to pin
 * the connection to (text, no brackets). */
struct sp_url_target {
    struct sp_url url;
    char addr[64];
    bool addr_is_ipv6;
};

/* The decision for url: resolves the host (getaddrinfo; a literal address
 * is its own answer) and checks every address. why (may be NULL): a short
 * reason for logs and field errors, never more than the URL's host. */
enum sp_url_verdict sp_url_guard(const char *url, bool allow_loopback, struct sp_url_target *out,
                                 char *why, size_t whylen);
/* The rule applied to one address of url's host: public, or the loopback
 * exception (host literally 127.0.0.1, address 127.0.0.1). Pure. */
bool sp_url_address_allowed(const struct sp_url *url, const struct sockaddr *sa,
                            bool allow_loopback);

#endif
