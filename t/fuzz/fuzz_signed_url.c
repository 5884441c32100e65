/*
 * fuzz_signed_url: libFuzzer target for the signed attachment URLs'
 * query parser and the download filename encoder (http/signed_url.c):
 * both read what a client sent. Input: byte 0 picks the function, the
 * rest is the query (up to its first NUL) or the filename. Aborts unless
 * a parsed query holds exactly what its fields allow, a URL made from
 * parsed values parses back to them, and the Content-Disposition value
 * is printable ASCII with its quoted part free of quotes and backslashes.
 * Build: scripts/dev fuzz signed_url (replayed by `make check`).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "http/signed_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static void
check_query(struct sp_arena *a, const char *q)
{
    static struct sp_keyring_keys *keys;
    if (keys == NULL) {
        char err[128];
        keys = sp_url_keys_load("k:0123456789abcdef0123456789abcdef", err, sizeof(err));
        CHECK(keys != NULL);
    }
    struct sp_signed s;
    if (!sp_signed_parse(q, &s))
        return;
    CHECK(s.expires >= 0 && s.size >= 0 && strlen(s.sig) == SP_SIGNED_SIG_LEN);
    CHECK(strlen(s.kid) >= 1 && strlen(s.kid) <= SP_SIGNED_KID_MAX);
    sp_signed_verify(keys, "GET", "ABCDEFGHJKMN", &s, 0);
    const char *url = sp_signed_url(a, keys, "GET", "/p", "ABCDEFGHJKMN", s.size, s.expires);
    struct sp_signed back;
    CHECK(sp_signed_parse(strchr(url, '?') + 1, &back));
    CHECK(back.size == s.size && back.expires == s.expires);
    CHECK(sp_signed_verify(keys, "GET", "ABCDEFGHJKMN", &back, 0) == SP_SIGNED_OK);
}

static void
check_disposition(struct sp_arena *a, const char *name)
{
    const char *v = sp_content_disposition(a, name);
    /* The last separator: a name may start with its text after the opening
     * quote ("; filename*=UTF-8''x"), the encoded name holds no '"'. */
    const char *star = NULL;
    for (const char *s = v; (s = strstr(s, "\"; filename*=UTF-8''")) != NULL; s++)
        star = s;
    CHECK(strncmp(v, "attachment; filename=\"", 22) == 0 && star != NULL);
    for (const char *c = v; *c; c++)
        CHECK(*c >= 0x20 && *c < 0x7f);
    for (const char *c = v + 22; c < star; c++)
        CHECK(*c != '"' && *c != '\\');
    CHECK(strchr(star + 20, '"') == NULL && strchr(star + 20, ' ') == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct sp_arena a;
    sp_arena_init(&a, 1024);
    const char *text = sp_arena_strndup(&a, (const char *)data + 1, size - 1);
    if (data[0] & 1)
        check_disposition(&a, text);
    else
        check_query(&a, text);
    sp_arena_destroy(&a);
    return 0;
}
