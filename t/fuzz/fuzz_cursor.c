/*
 * fuzz_cursor: libFuzzer target for pagination cursors (query parameters,
 * so untrusted): sp_cursor_decode and sp_cursor_decode_key for the kinds
 * the API uses. Input: byte 0 picks the kind, the rest is the cursor (up
 * to its first NUL). Aborts unless a decoded cursor is one we could have
 * made: position/id > 0, and encoding what was decoded decodes to the
 * same again; also encode -> decode round trips for positions taken from
 * the input.
 * Build: scripts/dev fuzz cursor (replayed by `make check` as t/fuzz/fuzz_cursor).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/cursor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static const char *const kinds[] = {
    "t", "m", "a", "c", "e", "s", "tickets", "sla_due_at", "-priority", "created_at",
    "-created_at", "updated_at", "-updated_at",
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct sp_arena a;
    sp_arena_init(&a, 1024);
    const char *kind = kinds[data[0] % NKINDS];
    const char *cursor = sp_arena_strndup(&a, (const char *)data + 1, size - 1);

    long long pos = -1, again = -1;
    if (sp_cursor_decode(cursor, kind, &pos)) {
        CHECK(pos > 0);
        const char *enc = sp_cursor_encode(&a, kind, pos);
        CHECK(sp_cursor_decode(enc, kind, &again) && again == pos);
        /* A plain cursor is never a key cursor, nor one of another kind. */
        struct sp_cursor_key k;
        CHECK(!sp_cursor_decode_key(cursor, kind, &k));
        CHECK(!sp_cursor_decode(cursor, kinds[(data[0] + 1) % NKINDS], &again));
    }
    struct sp_cursor_key k, k2;
    if (sp_cursor_decode_key(cursor, kind, &k)) {
        CHECK(k.id > 0 && (k.has_value || k.value == 0));
        const char *enc = sp_cursor_encode_key(&a, kind, &k);
        CHECK(sp_cursor_decode_key(enc, kind, &k2));
        CHECK(k2.has_value == k.has_value && k2.value == k.value && k2.id == k.id);
    }
    /* Encode -> decode for positions made of the input's bytes. */
    if (size >= 17) {
        long long v, id;
        memcpy(&v, data + 1, sizeof(v));
        memcpy(&id, data + 9, sizeof(id));
        const char *enc = sp_cursor_encode(&a, kind, v);
        bool ok = sp_cursor_decode(enc, kind, &again);
        CHECK(ok == (v > 0) && (!ok || again == v));
        struct sp_cursor_key in = {(data[0] & 0x80) != 0, (data[0] & 0x80) ? v : 0, id};
        ok = sp_cursor_decode_key(sp_cursor_encode_key(&a, kind, &in), kind, &k2);
        CHECK(ok == (id > 0));
        CHECK(!ok || (k2.has_value == in.has_value && k2.value == in.value && k2.id == id));
    }
    sp_arena_destroy(&a);
    return 0;
}
