/*
 * cursor: opaque keyset-pagination tokens (API.md §1: stable under
 * concurrent inserts, no OFFSET). A cursor is the position text
 * "c1.<kind>.<id>" (or "c2.<kind>.<value>.<id>") sealed under the
 * process's cursor key (core/crypto sp_crypto_token_seal), base64url:
 * its holder can neither read the internal id in it (a customer's
 * ticket-list cursor told how many tickets the platform holds) nor make
 * one up, and the scope it was sealed with (the caller's route and path
 * parameters, http sp_req_scope) binds it to that list: a ticket's
 * messages cursor is refused on another ticket, the kind to one list of
 * a route. The same position in the same scope seals alike, so a page
 * stays cacheable.
 * Must not: know HTTP or SQL (lists of every layer page with it).
 */
#ifndef SP_CURSOR_H
#define SP_CURSOR_H

#include <stdbool.h>

struct sp_arena;

/* The secret every cursor of this process is sealed with (a worker's
 * master sets it before forking, so its workers agree; every host of a
 * deployment derives the same one). Encoding or decoding before it is
 * set aborts: an unsealed cursor must never go out. false if OpenSSL
 * cannot derive the keys. */
bool sp_cursor_set_key(const unsigned char secret[32]);   /* false: the old key stays */

const char *sp_cursor_encode(struct sp_arena *a, const char *scope, const char *kind,
                             long long position);
/* False for anything that is not a cursor of this scope and kind with
 * position > 0. */
bool sp_cursor_decode(const char *cursor, const char *scope, const char *kind,
                      long long *position);

/* A position in a list sorted by (value, id), where value may be NULL
 * (sorted last): "c2.<kind>.<value|n>.<id>", sealed. */
struct sp_cursor_key {
    bool has_value;
    long long value;
    long long id;
};
const char *sp_cursor_encode_key(struct sp_arena *a, const char *scope, const char *kind,
                                 const struct sp_cursor_key *k);
bool sp_cursor_decode_key(const char *cursor, const char *scope, const char *kind,
                          struct sp_cursor_key *k);

#endif
