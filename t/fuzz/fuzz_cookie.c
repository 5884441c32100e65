/*
 * fuzz_cookie: libFuzzer target for the Cookie header reader
 * (http/request.c, sp_cookie_get): the admin pages' session and login
 * cookies come from whatever a browser, or an attacker, sends. Input: a
 * Cookie header value (up to its first NUL). Aborts unless a value found
 * is a part of the header with no ';' and no blank at either end; unless
 * a name found once is found again, with the same value, after another
 * cookie is put in front of the header; and unless the name sent a second
 * time is found no more.
 * Build: scripts/dev fuzz cookie (replayed by `make check`).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static const char *const names[] = {"s", "support_admin_session", "support_admin_login", "a b"};

static void
check_name(struct sp_arena *a, const char *header, const char *name)
{
    const char *v = sp_cookie_get(a, header, name);
    if (v == NULL)
        return;
    size_t n = strlen(v);
    CHECK(strchr(v, ';') == NULL && strstr(header, v) != NULL);
    CHECK(n == 0 || (v[0] != ' ' && v[0] != '\t' && v[n - 1] != ' ' && v[n - 1] != '\t'));
    const char *front = sp_arena_sprintf(a, "other=1; %s", header);
    const char *again = sp_cookie_get(a, front, name);
    CHECK(again != NULL && strcmp(again, v) == 0);
    const char *twice = sp_arena_sprintf(a, "%s=x; %s", name, header);
    CHECK(sp_cookie_get(a, twice, name) == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_arena a;
    sp_arena_init(&a, 4096);
    const char *header = sp_arena_strndup(&a, (const char *)data, size);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        check_name(&a, header, names[i]);
    sp_arena_destroy(&a);
    return 0;
}
