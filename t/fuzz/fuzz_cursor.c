/*
 * fuzz_cursor: libFuzzer target for pagination cursors (query parameters,
 * so untrusted): sp_cursor_decode and sp_cursor_decode_key for the kinds
 * the API uses. Input: byte 0 picks the kind, the rest is read twice:
 * as a cursor as a client sends it (up to its first NUL), which must be
 * refused unless the fuzzer forged a seal, and as a position text sealed
 * as the server seals (so the parser inside the seal is reached). Aborts
 * unless a decoded cursor is one we could have made: position/id > 0,
 * and encoding what was decoded decodes to the same again, in its scope
 * only; also encode -> decode round trips for positions taken from the
 * input.
 * Build: scripts/dev fuzz cursor (replayed by `make check` as t/fuzz/fuzz_cursor).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/base64.h"
#include "core/crypto.h"
#include "core/cursor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

#define SCOPE "/support/tickets/:id|12:ABCDEFGHJKMN"
#define OTHER_SCOPE "/support/tickets/:id|12:ABCDEFGHJKMP"

static const unsigned char secret[32] = "fuzz_cursor's cursor key.......";

static const char *const kinds[] = {
    "t", "m", "a", "c", "e", "s", "tickets", "sla_due_at", "-priority", "created_at",
    "-created_at", "updated_at", "-updated_at",
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* The invariants of one cursor text: what decodes is a position we
 * could have made, re-encodes to itself, and is good in SCOPE only. */
static void
check_cursor(struct sp_arena *a, const char *cursor, size_t k)
{
    const char *kind = kinds[k % NKINDS];
    long long pos = -1, again = -1;
    if (sp_cursor_decode(cursor, SCOPE, kind, &pos)) {
        CHECK(pos > 0);
        const char *enc = sp_cursor_encode(a, SCOPE, kind, pos);
        CHECK(sp_cursor_decode(enc, SCOPE, kind, &again) && again == pos);
        /* A plain cursor is never a key cursor, nor one of another kind
         * or scope. */
        struct sp_cursor_key key;
        CHECK(!sp_cursor_decode_key(cursor, SCOPE, kind, &key));
        CHECK(!sp_cursor_decode(cursor, SCOPE, kinds[(k + 1) % NKINDS], &again));
        CHECK(!sp_cursor_decode(cursor, OTHER_SCOPE, kind, &again));
    }
    struct sp_cursor_key key, back;
    if (sp_cursor_decode_key(cursor, SCOPE, kind, &key)) {
        CHECK(key.id > 0 && (key.has_value || key.value == 0));
        const char *enc = sp_cursor_encode_key(a, SCOPE, kind, &key);
        CHECK(sp_cursor_decode_key(enc, SCOPE, kind, &back));
        CHECK(back.has_value == key.has_value && back.value == key.value && back.id == key.id);
        CHECK(!sp_cursor_decode_key(cursor, OTHER_SCOPE, kind, &back));
    }
}

/* Encode -> decode for positions made of the input's bytes. */
static void
check_round_trip(struct sp_arena *a, const uint8_t *data)
{
    const char *kind = kinds[data[0] % NKINDS];
    long long v, id, again;
    memcpy(&v, data + 1, sizeof(v));
    memcpy(&id, data + 9, sizeof(id));
    const char *enc = sp_cursor_encode(a, SCOPE, kind, v);
    bool ok = sp_cursor_decode(enc, SCOPE, kind, &again);
    CHECK(ok == (v > 0) && (!ok || again == v));
    struct sp_cursor_key in = {(data[0] & 0x80) != 0, (data[0] & 0x80) ? v : 0, id}, k2;
    ok = sp_cursor_decode_key(sp_cursor_encode_key(a, SCOPE, kind, &in), SCOPE, kind, &k2);
    CHECK(ok == (id > 0));
    CHECK(!ok || (k2.has_value == in.has_value && k2.value == in.value && k2.id == id));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool keyed;
    if (!keyed)
        CHECK(keyed = sp_cursor_set_key(secret));
    if (size < 1)
        return 0;
    struct sp_arena a;
    sp_arena_init(&a, 1024);
    check_cursor(&a, sp_arena_strndup(&a, (const char *)data + 1, size - 1), data[0]);
    /* The same bytes as the text inside a seal, as the server makes one. */
    if (size - 1 <= 128) {
        struct sp_token_key tk;
        CHECK(sp_crypto_token_key(secret, &tk));
        unsigned char *sealed = sp_arena_alloc(&a, size - 1 + SP_CRYPTO_TOKEN_OVERHEAD);
        sp_crypto_token_seal(&tk, SCOPE, strlen(SCOPE), data + 1, size - 1, sealed);
        check_cursor(&a, sp_b64url_encode(&a, sealed, size - 1 + SP_CRYPTO_TOKEN_OVERHEAD), data[0]);
    }
    if (size >= 17)
        check_round_trip(&a, data);
    sp_arena_destroy(&a);
    return 0;
}
