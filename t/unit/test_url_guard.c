/*
 * test_url_guard: the SSRF guard of webhook URLs (src/core/url_guard.c,
 * API.md §11): what the parser accepts, how every special-purpose address
 * range is classified (IPv4, IPv6 and the IPv6 forms that carry an IPv4
 * address), and the decision — https only, public addresses only, the
 * literal http://127.0.0.1:<port>/ only when loopback is allowed, and a
 * name that resolves to loopback (localhost, from /etc/hosts) refused.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <string.h>

#include "core/url_guard.h"
#include "unit.h"

static enum sp_addr_class
cls(const char *addr)
{
    enum sp_addr_class c;
    ck_assert_msg(sp_addr_classify_text(addr, &c), "%s is not an address", addr);
    return c;
}

#define ASSERT_CLASS(addr, want)                                                             \
    ck_assert_msg(cls(addr) == (want), "%s: %s, expected %s", (addr),                        \
                  sp_addr_class_name(cls(addr)), sp_addr_class_name(want))

START_TEST(ipv4_ranges_are_classified)
{
    ASSERT_CLASS("8.8.8.8", SP_ADDR_PUBLIC);
    ASSERT_CLASS("93.184.216.34", SP_ADDR_PUBLIC);
    ASSERT_CLASS("127.0.0.1", SP_ADDR_LOOPBACK);
    ASSERT_CLASS("127.255.255.254", SP_ADDR_LOOPBACK);
    ASSERT_CLASS("10.0.0.1", SP_ADDR_PRIVATE);
    ASSERT_CLASS("172.16.0.1", SP_ADDR_PRIVATE);
    ASSERT_CLASS("172.31.255.255", SP_ADDR_PRIVATE);
    ASSERT_CLASS("172.32.0.1", SP_ADDR_PUBLIC);
    ASSERT_CLASS("192.168.1.1", SP_ADDR_PRIVATE);
    ASSERT_CLASS("100.64.0.1", SP_ADDR_PRIVATE);
    ASSERT_CLASS("100.127.255.255", SP_ADDR_PRIVATE);
    ASSERT_CLASS("100.128.0.1", SP_ADDR_PUBLIC);
    ASSERT_CLASS("169.254.169.254", SP_ADDR_LINK_LOCAL);
    ASSERT_CLASS("0.0.0.0", SP_ADDR_UNSPECIFIED);
    ASSERT_CLASS("0.1.2.3", SP_ADDR_UNSPECIFIED);
    ASSERT_CLASS("224.0.0.1", SP_ADDR_MULTICAST);
    ASSERT_CLASS("239.255.255.250", SP_ADDR_MULTICAST);
    ASSERT_CLASS("255.255.255.255", SP_ADDR_MULTICAST);
    ASSERT_CLASS("240.0.0.1", SP_ADDR_RESERVED);
    ASSERT_CLASS("192.0.2.1", SP_ADDR_RESERVED);
    ASSERT_CLASS("198.18.0.1", SP_ADDR_RESERVED);
}
END_TEST

START_TEST(ipv6_ranges_are_classified)
{
    ASSERT_CLASS("2606:4700:4700::1111", SP_ADDR_PUBLIC);
    ASSERT_CLASS("::1", SP_ADDR_LOOPBACK);
    ASSERT_CLASS("::", SP_ADDR_UNSPECIFIED);
    ASSERT_CLASS("fc00::1", SP_ADDR_PRIVATE);
    ASSERT_CLASS("fd12:3456::1", SP_ADDR_PRIVATE);
    ASSERT_CLASS("fec0::1", SP_ADDR_PRIVATE);
    ASSERT_CLASS("fe80::1", SP_ADDR_LINK_LOCAL);
    ASSERT_CLASS("febf::1", SP_ADDR_LINK_LOCAL);
    ASSERT_CLASS("ff02::1", SP_ADDR_MULTICAST);
    ASSERT_CLASS("2001:db8::1", SP_ADDR_RESERVED);
    ASSERT_CLASS("100::1", SP_ADDR_RESERVED);
    /* The IANA special-purpose registry: benchmarking 2001:2::/48,
     * documentation 3fff::/20 (RFC 9637), the rest of the IETF's
     * 2001::/23 (Teredo, ORCHIDv2, anycast), SRv6 SIDs 5f00::/16. */
    ASSERT_CLASS("2001:2::1", SP_ADDR_RESERVED);
    ASSERT_CLASS("2001:2:0:ffff::1", SP_ADDR_RESERVED);
    ASSERT_CLASS("3fff::1", SP_ADDR_RESERVED);
    ASSERT_CLASS("3fff:fff:ffff::1", SP_ADDR_RESERVED);
    ASSERT_CLASS("2001::1", SP_ADDR_RESERVED);
    ASSERT_CLASS("2001:20::1", SP_ADDR_RESERVED);
    ASSERT_CLASS("2001:1ff:ffff::1", SP_ADDR_RESERVED);
    ASSERT_CLASS("5f00::1", SP_ADDR_RESERVED);
    /* Their neighbours are public. */
    ASSERT_CLASS("2001:200::1", SP_ADDR_PUBLIC);
    ASSERT_CLASS("3fff:1000::1", SP_ADDR_PUBLIC);
}
END_TEST

START_TEST(ipv6_forms_of_ipv4_take_the_ipv4_class)
{
    ASSERT_CLASS("::ffff:127.0.0.1", SP_ADDR_LOOPBACK);
    ASSERT_CLASS("::ffff:10.1.2.3", SP_ADDR_PRIVATE);
    ASSERT_CLASS("::ffff:169.254.169.254", SP_ADDR_LINK_LOCAL);
    ASSERT_CLASS("::ffff:0.0.0.0", SP_ADDR_UNSPECIFIED);
    ASSERT_CLASS("::ffff:8.8.8.8", SP_ADDR_PUBLIC);
    ASSERT_CLASS("::127.0.0.1", SP_ADDR_LOOPBACK);          /* IPv4-compatible */
    ASSERT_CLASS("64:ff9b::a00:1", SP_ADDR_PRIVATE);        /* NAT64 of 10.0.0.1 */
    ASSERT_CLASS("64:ff9b::808:808", SP_ADDR_PUBLIC);
    ASSERT_CLASS("2002:7f00:1::1", SP_ADDR_LOOPBACK);       /* 6to4 of 127.0.0.1 */
    ASSERT_CLASS("2002:c0a8:101::1", SP_ADDR_PRIVATE);
}
END_TEST

START_TEST(parser_accepts_plain_http_urls)
{
    struct sp_url u;
    ck_assert(sp_url_parse("https://Hooks.Example.com/a/b?c=d", &u));
    ck_assert(u.https);
    ck_assert_str_eq(u.host, "hooks.example.com");
    ck_assert_int_eq(u.port, 443);
    ck_assert(sp_url_parse("http://127.0.0.1:8080", &u));
    ck_assert(!u.https);
    ck_assert_str_eq(u.host, "127.0.0.1");
    ck_assert_int_eq(u.port, 8080);
    ck_assert(sp_url_parse("https://[2001:db8::1]:8443/x", &u));
    ck_assert(u.host_is_ipv6);
    ck_assert_str_eq(u.host, "2001:db8::1");
    ck_assert_int_eq(u.port, 8443);
}
END_TEST

START_TEST(parser_refuses_what_clients_might_read_otherwise)
{
    static const char *const bad[] = {
        "", "example.com", "ftp://example.com/", "https://", "https:///x", "https://:443/",
        "https://user:pw@example.com/", "https://example.com@evil.test/",
        "https://example.com#frag", "https://exa mple.com/", "https://example.com/\x01",
        "https://ex%61mple.com/", "https://example.com\\@evil.test/", "https://a..b/",
        "https://.example.com/", "https://-example.com/", "https://example.com:0/",
        "https://example.com:65536/", "https://example.com:80a/", "https://[::1/",
        "https://[nothex]/", "https://[::1]x/", "https://example.com:/",
        "javascript:alert(1)", "https://exämple.com/", "https://example.com:0443/",
        "https://[2001:db8::1]:08443/",
    };
    struct sp_url u;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!sp_url_parse(bad[i], &u), "accepted %s", bad[i]);
    char longurl[SP_URL_MAX + 32] = "https://example.com/";
    memset(longurl + 20, 'a', SP_URL_MAX);
    longurl[SP_URL_MAX + 1] = '\0';
    ck_assert(!sp_url_parse(longurl, &u));
}
END_TEST

/* The first fault found names what is wrong (an admin is told which
 * part of a webhook URL to fix). */
START_TEST(parser_names_the_fault)
{
    static const struct {
        const char *url;
        enum sp_url_syntax fault;
    } cases[] = {
        {"https://example.com/a?b=c", SP_URL_SYNTAX_OK},
        {"https://exa mple.com/", SP_URL_SYNTAX_SPACE},
        {"https://example.com/\tx", SP_URL_SYNTAX_SPACE},
        {"https://example.com/\x01", SP_URL_SYNTAX_CHARACTER},
        {"https://ex\xc3\xa4mple.com/", SP_URL_SYNTAX_CHARACTER},
        {"https://example.com\\@evil.test/", SP_URL_SYNTAX_BACKSLASH},
        {"https://1.1.1.1/a\\b", SP_URL_SYNTAX_BACKSLASH},
        {"https://example.com/\x7f", SP_URL_SYNTAX_CHARACTER},
        {"https://example.com#frag", SP_URL_SYNTAX_FRAGMENT},
        {"ftp://example.com/", SP_URL_SYNTAX_SCHEME},
        {"example.com", SP_URL_SYNTAX_SCHEME},
        {"https://user:pw@example.com/", SP_URL_SYNTAX_USERINFO},
        {"https://ex%61mple.com/", SP_URL_SYNTAX_HOST},
        {"https:///x", SP_URL_SYNTAX_HOST},
        {"https://a..b/", SP_URL_SYNTAX_HOST},
        {"https://[::1]x/", SP_URL_SYNTAX_HOST},
        {"https://example.com:0/", SP_URL_SYNTAX_PORT},
        {"https://example.com:65536/", SP_URL_SYNTAX_PORT},
        {"https://example.com:/", SP_URL_SYNTAX_PORT},
        /* a percent is a fault of the part it is in */
        {"https://example.com:%34%34/", SP_URL_SYNTAX_PORT},
        {"https://[fe80::1%25eth0]/", SP_URL_SYNTAX_HOST},
        {"https://example.com/a%20b", SP_URL_SYNTAX_OK},
        {"https://[::1]:x/", SP_URL_SYNTAX_PORT},
    };
    struct sp_url u;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(sp_url_read(cases[i].url, &u) == cases[i].fault, "%s: %d", cases[i].url,
                      (int)sp_url_read(cases[i].url, &u));
    char longurl[SP_URL_MAX + 32] = "https://example.com/";
    memset(longurl + 20, 'a', SP_URL_MAX);
    longurl[SP_URL_MAX + 1] = '\0';
    ck_assert_int_eq(sp_url_read(longurl, &u), SP_URL_SYNTAX_TOO_LONG);
}
END_TEST

static enum sp_url_verdict
guard(const char *url, bool allow_loopback)
{
    struct sp_url_target t;
    char why[96];
    return sp_url_guard(url, allow_loopback, &t, why, sizeof(why));
}

START_TEST(guard_wants_https_and_public_addresses)
{
    ck_assert_int_eq(guard("http://8.8.8.8/", false), SP_URL_SCHEME);
    ck_assert_int_eq(guard("https://8.8.8.8/hook", false), SP_URL_OK);
    ck_assert_int_eq(guard("https://10.0.0.1/", false), SP_URL_ADDRESS);
    ck_assert_int_eq(guard("https://192.168.0.10:8443/", false), SP_URL_ADDRESS);
    ck_assert_int_eq(guard("https://169.254.169.254/latest/meta-data", false), SP_URL_ADDRESS);
    ck_assert_int_eq(guard("https://[::1]/", false), SP_URL_ADDRESS);
    ck_assert_int_eq(guard("https://[::ffff:127.0.0.1]/", false), SP_URL_ADDRESS);
    ck_assert_int_eq(guard("https://[fd00::1]/", false), SP_URL_ADDRESS);
    ck_assert_int_eq(guard("https://0.0.0.0/", false), SP_URL_ADDRESS);
    ck_assert_int_eq(guard("https://127.0.0.1/", false), SP_URL_ADDRESS);
    /* inet_aton forms getaddrinfo accepts: judged by the address. */
    ck_assert_int_eq(guard("https://2130706433/", false), SP_URL_ADDRESS);
    ck_assert_int_eq(guard("not a url", false), SP_URL_MALFORMED);
}
END_TEST

START_TEST(a_name_resolving_to_loopback_is_refused)
{
    ck_assert_int_eq(guard("https://localhost/", false), SP_URL_ADDRESS);
    ck_assert_int_eq(guard("https://localhost:8443/hook", true), SP_URL_ADDRESS);
    ck_assert_int_eq(guard("http://localhost:8080/", true), SP_URL_SCHEME);
}
END_TEST

START_TEST(loopback_exception_is_the_literal_127_0_0_1_only)
{
    struct sp_url_target t;
    ck_assert_int_eq(sp_url_guard("http://127.0.0.1:8080/hook", true, &t, NULL, 0), SP_URL_OK);
    ck_assert_str_eq(t.addr, "127.0.0.1");
    ck_assert_int_eq(t.url.port, 8080);
    ck_assert_int_eq(guard("https://127.0.0.1:8443/", true), SP_URL_OK);
    ck_assert_int_eq(guard("http://127.0.0.1:8080/hook", false), SP_URL_SCHEME);
    ck_assert_int_eq(guard("http://127.0.0.2:8080/", true), SP_URL_SCHEME);
    ck_assert_int_eq(guard("https://127.0.0.2/", true), SP_URL_ADDRESS);
    ck_assert_int_eq(guard("http://[::1]:8080/", true), SP_URL_SCHEME);
    ck_assert_int_eq(guard("https://10.0.0.1/", true), SP_URL_ADDRESS);
}
END_TEST

START_TEST(address_rule_at_connect_time)
{
    struct sp_url u;
    ck_assert(sp_url_parse("https://hooks.example.com/", &u));
    struct sockaddr_in in = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
    ck_assert(!sp_url_address_allowed(&u, (struct sockaddr *)&in, true));
    inet_pton(AF_INET, "93.184.216.34", &in.sin_addr);
    ck_assert(sp_url_address_allowed(&u, (struct sockaddr *)&in, false));
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "::ffff:192.168.0.1", &in6.sin6_addr);
    ck_assert(!sp_url_address_allowed(&u, (struct sockaddr *)&in6, false));
    ck_assert(sp_url_parse("http://127.0.0.1:9/", &u));
    inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
    ck_assert(sp_url_address_allowed(&u, (struct sockaddr *)&in, true));
    ck_assert(!sp_url_address_allowed(&u, (struct sockaddr *)&in, false));
}
END_TEST

static Suite *
suite(void)
{
    Suite *s = suite_create("url_guard");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, ipv4_ranges_are_classified);
    tcase_add_test(tc, parser_names_the_fault);
    tcase_add_test(tc, ipv6_ranges_are_classified);
    tcase_add_test(tc, ipv6_forms_of_ipv4_take_the_ipv4_class);
    tcase_add_test(tc, parser_accepts_plain_http_urls);
    tcase_add_test(tc, parser_refuses_what_clients_might_read_otherwise);
    tcase_add_test(tc, guard_wants_https_and_public_addresses);
    tcase_add_test(tc, a_name_resolving_to_loopback_is_refused);
    tcase_add_test(tc, loopback_exception_is_the_literal_127_0_0_1_only);
    tcase_add_test(tc, address_rule_at_connect_time);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(suite());
}
