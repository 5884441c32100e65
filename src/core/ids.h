/*
 * ids: identifiers from the CSPRNG (OpenSSL RAND_bytes): ticket/session
 * public ids (API.md §1: 12 chars of Crockford base32, first a letter) and
 * request ids. Must not: use rand()/random() for anything a user sees.
 */
#ifndef SP_IDS_H
#define SP_IDS_H

#include <stdbool.h>
#include <stddef.h>

#define SP_PUBLIC_ID_LEN 12

/* Fills buf with n random bytes; aborts if the CSPRNG fails (never
 * continue with predictable ids). */
void sp_random_bytes(void *buf, size_t n);
void sp_public_id(char out[SP_PUBLIC_ID_LEN + 1]);
/* The canonical form: upper case, as ids are made and stored. */
bool sp_public_id_valid(const char *s);
/* A public id as a client may write it: Crockford base32 does not care
 * about case, so "pe7r39pznp64" names PE7R39PZNP64 (as reply addresses
 * already did), and reads O as 0 and I and L as 1 after the first
 * character (ids never hold those letters; a person copying one may). Writes the canonical form to out; false (out undefined)
 * when s is no public id in any case. Every public id taken from a path,
 * a query or a body is read with this, so answers show the stored form. */
bool sp_public_id_read(const char *s, char out[SP_PUBLIC_ID_LEN + 1]);
/* 20 lowercase base32 chars: 100 bits, enough to never collide in logs. */
void sp_request_id(char out[21]);
/* A request id taken from a client: 1..128 of [A-Za-z0-9._-]. */
bool sp_request_id_sane(const char *s);
/* A user id as API.md §2 has a JWT `sub` write it, and as an agent's
 * user_id must be written to ever match one: a positive decimal integer
 * of 1..SP_USER_ID_MAX digits, no sign, blank or leading zero. */
#define SP_USER_ID_MAX 64
bool sp_user_id_valid(const char *s);
/* A row id as paths, forms and filters write it: a positive decimal of
 * 1..18 digits, no sign, blank or leading zero (/tickets/05 names no
 * ticket: one resource, one address). The id, or 0 for anything else. */
long long sp_row_id_read(const char *s);
/* Hex-encodes n random bytes into out (2n+1 bytes). */
void sp_random_hex(char *out, size_t nbytes);

#endif
