/*
 * fuzz_reply_address: libFuzzer target for the signed reply addresses
 * (domain/reply_address.c): the To of an inbound mail is whatever its
 * sender wrote. Input: an address (up to its first NUL), also taken as
 * a public id to make a reply address for when it is one. Aborts unless an
 * address that names a ticket names a valid, upper-case public id, looks
 * signed, names it again in upper and lower case, and the ticket's own
 * reply address names it too; and unless the reply address made for any
 * valid public id names it (in any case) and stops naming it when one
 * digit of its mac changes.
 * The keys: K2 signs, K1 (the old key) still verifies.
 * Build: scripts/dev fuzz reply_address (replayed by `make check`).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "domain/reply_address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

#define K1 "k1:first-reply-secret-0123456789abcdef"
#define K2 "k2:second-reply-secret-0123456789abcdef"

static const struct sp_keyring_keys *
keys(void)
{
    static struct sp_keyring_keys *k;
    if (k == NULL) {
        char err[128];
        k = sp_reply_keys_load(K2 "," K1, NULL, err, sizeof(err));
        CHECK(k != NULL);
    }
    return k;
}

/* The public id addr names, or "" when it names none. */
static const char *
named(struct sp_arena *a, const char *addr)
{
    char *id = sp_arena_alloc(a, SP_PUBLIC_ID_LEN + 1);
    if (!sp_reply_address_ticket(keys(), addr, id))
        return "";
    return id;
}

static char *
cased(struct sp_arena *a, const char *s, int (*fn)(int))
{
    char *c = sp_arena_strdup(a, s);
    for (char *p = c; *p; p++)
        *p = (char)fn((unsigned char)*p);
    return c;
}

static void
check_address(struct sp_arena *a, const char *addr)
{
    const char *id = named(a, addr);
    if (*id == '\0')
        return;
    CHECK(sp_public_id_valid(id));
    for (const char *c = id; *c; c++)
        CHECK(!islower((unsigned char)*c));
    CHECK(sp_reply_address_looks_signed(addr));
    CHECK(strcmp(named(a, cased(a, addr, toupper)), id) == 0);
    CHECK(strcmp(named(a, cased(a, addr, tolower)), id) == 0);
    CHECK(strcmp(named(a, sp_reply_address(keys(), a, "support@example.com", id)), id) == 0);
}

static void
check_id(struct sp_arena *a, const char *id)
{
    if (!sp_public_id_valid(id))
        return;
    static const char *const froms[] = {"support@example.com", "help", "a.b+c@d.example"};
    for (size_t i = 0; i < sizeof(froms) / sizeof(froms[0]); i++) {
        const char *addr = sp_reply_address(keys(), a, froms[i], id);
        CHECK(sp_reply_address_looks_signed(addr));
        CHECK(strcmp(named(a, addr), id) == 0);
        CHECK(strcmp(named(a, cased(a, addr, tolower)), id) == 0);
        /* The mac's last digit: just before the '@', or the end. */
        char *bad = sp_arena_strdup(a, addr);
        char *at = strrchr(bad, '@');
        char *last = (at != NULL ? at : bad + strlen(bad)) - 1;
        *last = *last == '0' ? '1' : '0';
        CHECK(*named(a, bad) == '\0');
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_arena a;
    sp_arena_init(&a, 1024);
    const char *text = sp_arena_strndup(&a, (const char *)data, size);
    check_address(&a, text);
    check_id(&a, text);
    sp_arena_destroy(&a);
    return 0;
}
