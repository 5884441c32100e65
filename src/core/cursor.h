/*
 * cursor: opaque keyset-pagination tokens (API.md §1: stable under
 * concurrent inserts, no OFFSET). A cursor is base64url("c1.<kind>.<id>"):
 * the kind keeps a cursor of one list from being replayed on another.
 * Opaque is not secret: a tampered cursor only pages through data the
 * caller may already see, so no MAC is needed.
 * Must not: know HTTP or SQL (lists of every layer page with it).
 */
#ifndef SP_CURSOR_H
#define SP_CURSOR_H

#include <stdbool.h>

struct sp_arena;

const char *sp_cursor_encode(struct sp_arena *a, const char *kind, long long position);
/* False for anything that is not a cursor of this kind with position > 0. */
bool sp_cursor_decode(const char *cursor, const char *kind, long long *position);

/* A position in a list sorted by (value, id), where value may be NULL
 * (sorted last): base64url("c2.<kind>.<value|n>.<id>"). */
struct sp_cursor_key {
    bool has_value;
    long long value;
    long long id;
};
const char *sp_cursor_encode_key(struct sp_arena *a, const char *kind,
                                 const struct sp_cursor_key *k);
bool sp_cursor_decode_key(const char *cursor, const char *kind, struct sp_cursor_key *k);

#endif
