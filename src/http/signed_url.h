/*
 * signed_url: capability URLs for attachment uploads and downloads
 * (API.md §10, docs/API.md "Attachments"). The query of such a URL is
 *   ?kid=<key id>&expires=<unix seconds>&size=<bytes>&sig=<64 hex>
 * where sig = HMAC-SHA256(key, "support-attachment-v1\n" METHOD "\n" ID
 * "\n" SIZE "\n" EXPIRES): the URL is bound to one attachment, one method,
 * one size and one deadline, and whoever holds it needs no other
 * credential. ID is signed and verified in its canonical form when it is
 * a public id (core/ids.h sp_public_id_read): the URL's path may write it
 * in any letter case, as every public id (docs/API.md §4, §10), and still
 * names the one attachment it was signed for; no other id verifies.
 * Keys come from SUPPORT_ATTACHMENT_KEYS ("kid:secret,...", secrets of at
 * least 32 bytes): the first signs, all verify, so a key is rotated by
 * putting a new one in front and reloading (SIGHUP).
 * Signatures are compared in constant time.
 * Must not: log or echo key material, or know what an attachment is
 * beyond its id and size.
 */
#ifndef SP_SIGNED_URL_H
#define SP_SIGNED_URL_H

#include <stdbool.h>
#include <stddef.h>

struct sp_arena;
struct sp_keyring_keys;   /* core/keyring.h; loaded in the master, read-only in workers */

#define SP_SIGNED_KID_MAX 64
#define SP_SIGNED_SIG_LEN 64   /* hex of 32 bytes */

/* The parameters of a signed URL's query, as parsed (not yet verified). */
struct sp_signed {
    char kid[SP_SIGNED_KID_MAX + 1];
    long long expires;     /* unix seconds */
    long long size;        /* bytes */
    char sig[SP_SIGNED_SIG_LEN + 1];
};

enum sp_signed_check { SP_SIGNED_OK, SP_SIGNED_BAD, SP_SIGNED_EXPIRED };

/* NULL with err filled (naming the setting, never a secret) when spec is
 * not a list of kid:secret with unique kids and 32-byte secrets. Freed by
 * sp_keyring_keys_destroy. */
struct sp_keyring_keys *sp_url_keys_load(const char *spec, char *err, size_t errlen);

/* Parses the query (without '?'): kid, expires, size and sig exactly once
 * each, in any order, and nothing else; false for anything malformed. */
bool sp_signed_parse(const char *query, struct sp_signed *out);

/* path + "?" + the signed query for (method, id, size, expires), signed
 * with the first key. Owned by a. */
const char *sp_signed_url(struct sp_arena *a, const struct sp_keyring_keys *k, const char *method,
                          const char *path, const char *id, long long size, long long expires);

/* Whether s signs (method, id, s->size) with a key of k and is not past
 * its deadline at now (unix seconds). A bad signature wins over expiry. */
enum sp_signed_check sp_signed_verify(const struct sp_keyring_keys *k, const char *method,
                                      const char *id, const struct sp_signed *s, long long now);

/* The Content-Disposition value for a download of filename (RFC 6266):
 * attachment; filename="<ASCII fallback>"; filename*=UTF-8''<encoded>.
 * The fallback replaces each non-ASCII character, control, quote and
 * backslash with '_'. Owned by a. */
const char *sp_content_disposition(struct sp_arena *a, const char *filename);

#endif
