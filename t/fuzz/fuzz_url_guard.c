/*
 * fuzz_url_guard: libFuzzer target for the webhook URL parser
 * (sp_url_parse in core/url_guard.c: admins type these URLs, and
 * support-dispatch reads them back before every delivery). Input: the
 * URL (up to its first NUL). Aborts unless what is accepted is what the
 * guard promises: an http(s) URL of at most SP_URL_MAX bytes, a host of
 * permitted characters (or an IPv6 literal), a port in 1..65535, and no
 * user info, fragment, whitespace, control character, backslash or
 * percent-encoding in the host or port. The address
 * classifier runs on the input's first 16 bytes as well.
 * Build: scripts/dev fuzz url_guard (replayed by `make check` as
 * t/fuzz/fuzz_url_guard). Nothing here resolves names.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/url_guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static void
check_accepted(const char *url, const struct sp_url *u)
{
    size_t len = strlen(url);
    CHECK(len <= SP_URL_MAX);
    CHECK(strncasecmp(url, u->https ? "https://" : "http://", u->https ? 8 : 7) == 0);
    CHECK(u->port >= 1 && u->port <= 65535);
    CHECK(u->host[0] != '\0');
    for (size_t i = 0; i < len; i++)
        CHECK((unsigned char)url[i] > 0x20 && (unsigned char)url[i] < 0x7f && url[i] != '#' &&
              url[i] != '\\');
    const char *auth = url + (u->https ? 8 : 7);
    size_t alen = strcspn(auth, "/?");
    CHECK(memchr(auth, '@', alen) == NULL && memchr(auth, '%', alen) == NULL);
    if (u->host_is_ipv6) {
        struct in6_addr a;
        CHECK(inet_pton(AF_INET6, u->host, &a) == 1);
        return;
    }
    for (const char *c = u->host; *c; c++)
        CHECK(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '-' ||
              *c == '.' || *c == '_');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct sp_url u;
    if (sp_url_parse(s, &u))
        check_accepted(s, &u);
    if (size >= 16) {
        enum sp_addr_class c4 = sp_addr_classify_v4(data), c6 = sp_addr_classify_v6(data);
        CHECK(c4 <= SP_ADDR_RESERVED && c6 <= SP_ADDR_RESERVED);
    }
    enum sp_addr_class c;
    (void)sp_addr_classify_text(s, &c);
    free(s);
    return 0;
}
