/*
 * fuzz_login_token: libFuzzer target for the admin sign-in form's CSRF
 * token reader (domain/admin_sessions.c, sp_admin_login_token_ok): the
 * token comes back from whatever a browser, or a forger, posts. Input:
 * the token text (up to its first NUL), in an exact-size copy so ASan
 * catches a read past its NUL. Aborts unless a text taken is
 * "<expiry>.<32 hex>.<64 hex>" (expiry digits without a leading zero,
 * after now); unless one changed character of a taken text is refused;
 * and unless a token made from the input's first bytes as the time is
 * taken before its expiry and refused at it, and under another key.
 * Build: scripts/dev fuzz login_token (replayed by `make check`).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "domain/admin_sessions.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static const unsigned char key[SP_ADMIN_LOGIN_KEY_LEN] = "fuzz-login-token-key-0123456789";
static const unsigned char other[SP_ADMIN_LOGIN_KEY_LEN] = "fuzz-login-token-key-9876543210";

static bool
hex_run(const char *s, size_t n)
{
    return strspn(s, "0123456789abcdef") >= n;
}

/* The shape of a token sp_admin_login_token makes, written from the
 * header, not from the reader. */
static void
check_taken(char *text, long long now)
{
    size_t digits = strspn(text, "0123456789"), n = strlen(text);
    CHECK(digits >= 1 && digits <= 19 && text[0] != '0' && text[digits] == '.');
    CHECK(n == digits + 1 + 32 + 1 + 64 && hex_run(text + digits + 1, 32) &&
          text[digits + 33] == '.' && hex_run(text + digits + 34, 64));
    CHECK(strtoll(text, NULL, 10) > now);
    char saved = text[n - 1];
    text[n - 1] = saved == '0' ? '1' : '0';
    CHECK(!sp_admin_login_token_ok(key, text, now));
    text[n - 1] = saved;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n = strnlen((const char *)data, size);
    char *text = malloc(n + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, n);
    text[n] = '\0';
    long long now = 1700000000;
    if (sp_admin_login_token_ok(key, text, now))
        check_taken(text, now);
    free(text);

    /* A token made at an instant taken from the input. */
    uint32_t at = 0;
    memcpy(&at, data, size < sizeof(at) ? size : sizeof(at));
    struct sp_arena a;
    sp_arena_init(&a, 1024);
    const char *t = sp_admin_login_token(&a, key, (long long)at);
    char *copy = sp_arena_strdup(&a, t);
    CHECK(sp_admin_login_token_ok(key, t, (long long)at));
    check_taken(copy, (long long)at);
    CHECK(!sp_admin_login_token_ok(key, t, (long long)at + SP_ADMIN_LOGIN_TTL));
    CHECK(!sp_admin_login_token_ok(other, t, (long long)at));
    sp_arena_destroy(&a);
    return 0;
}
