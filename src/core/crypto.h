/*
 * crypto: application-layer encryption of contact PII (API.md §2) and the
 * few hashing helpers around it, on OpenSSL 3 EVP.
 *
 *   SUPPORT_ENCRYPTION_KEYS  "v2:<base64>,v1:<base64>" - each key exactly 32
 *       bytes after standard (padded) base64; labels [A-Za-z0-9_-]{1,16},
 *       unique; whitespace around entries is ignored. The FIRST key
 *       encrypts, every key decrypts. Rotation: put a new key in front
 *       (where more than one process reads the values, first behind the
 *       old one everywhere: docs/operations.md, "Key rotation"), keep
 *       the old ones until every row has been re-encrypted lazily
 *       (sp_crypto_needs_rotation() after a successful sp_crypto_decrypt(),
 *       then sp_crypto_encrypt() and write back). Rotate each key long
 *       before 2^32 encryptions (random 96-bit GCM nonces).
 *   SUPPORT_PII_INDEX_KEY    "<base64>" of 32 bytes, the blind-index key.
 *
 * !!! The blind index key MUST stay stable across key rotations: every stored
 * !!! email index was computed with it, and changing it silently breaks lookup
 * !!! by email. When SUPPORT_PII_INDEX_KEY is unset (NULL or blank) it is
 * !!! derived with HKDF-SHA256 (info "support-pii-blind-index-v1") from the
 * !!! LAST (oldest) key of the ring, so dropping that key changes it.
 * !!! Production should set SUPPORT_PII_INDEX_KEY (or never drop the oldest
 * !!! key): `support-api --print-pii-index-key` prints the one in force.
 *
 * Ciphertext text format (safe for a TEXT column):
 *   "<version>:<base64(nonce[12] || ciphertext || tag[16])>"  (AES-256-GCM)
 * The aad binds a value to its place, e.g. "contact:email:<customer_id>", so
 * it cannot be swapped between rows or fields; NULL aad means "".
 *
 * Must not: know about SQL or HTTP, put key material into error messages,
 * or log more than the version label of a value sp_crypto_decrypt could
 * not open (a warn line, once per label per ring: a node that lacks a
 * key another node encrypts with shows in its log). Plaintext returned
 * lives in the caller's arena like any other request data.
 * sp_crypto_sha256_hex is for high-entropy tokens only, never
 * for passwords (no salt, no stretching).
 */
#ifndef SP_CRYPTO_H
#define SP_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

struct sp_arena;
struct sp_crypto;   /* opaque; built once per worker, read-only afterwards (but for
                     * the labels sp_crypto_decrypt has warned of) */

/* enc_keys: the SUPPORT_ENCRYPTION_KEYS value; index_key_b64: the
 * SUPPORT_PII_INDEX_KEY value, NULL or blank to derive it (see above).
 * Returns a malloc'ed key ring owned by the caller (sp_crypto_free), or NULL
 * with a message in err naming the setting, never any key material. */
struct sp_crypto *sp_crypto_new(const char *enc_keys, const char *index_key_b64, char *err,
                                size_t errlen);
/* Wipes every key (OPENSSL_cleanse) and frees; NULL is fine. */
void sp_crypto_free(struct sp_crypto *c);

/* Encrypts len bytes under the current (first) key. Returns arena-owned
 * text in the format above, or NULL only if OpenSSL fails (RNG, OOM) or len
 * is absurd (> INT_MAX / 2). */
const char *sp_crypto_encrypt(const struct sp_crypto *c, struct sp_arena *a,
                              const char *plaintext, size_t len, const char *aad);
/* Returns arena-owned NUL-terminated plaintext, or NULL when the version is
 * unknown, the text is malformed or non-canonical, the aad differs or
 * anything was tampered with; a NULL for a non-NULL ciphertext logs a
 * pii_decrypt_failed warn line (the label and why, once per label per
 * ring: per process, and again after a reload). */
const char *sp_crypto_decrypt(const struct sp_crypto *c, struct sp_arena *a,
                              const char *ciphertext, const char *aad);
/* True when the ciphertext's version label is not the current key's (also
 * for labels the ring does not know; decrypt tells those apart). False for
 * NULL. */
bool sp_crypto_needs_rotation(const struct sp_crypto *c, const char *ciphertext);

/* HMAC-SHA256 with the blind index key over the email's canonical form
 * (sp_mail_addr_canonical: ASCII whitespace trimmed, lower-cased, an
 * internationalized domain as its A-label) as 64 lowercase hex
 * characters, arena-owned. NULL for a NULL or blank email (store no
 * index for those), or if OpenSSL fails. */
const char *sp_crypto_email_index(const struct sp_crypto *c, struct sp_arena *a,
                                  const char *email);
/* The same over the email lower-cased in ASCII alone, as every index was
 * computed before the canonical form: a lookup tries it as well, for the
 * rows of a non-ASCII address stored then and not sealed again since
 * (docs/API.md §2). For an ASCII address it is sp_crypto_email_index. */
const char *sp_crypto_email_index_legacy(const struct sp_crypto *c, struct sp_arena *a,
                                         const char *email);
/* The indexes a lookup by email tries, each once, so a contact stored
 * before the canonical form is found too, in either form of its domain:
 * out[0] sp_crypto_email_index, then the index of each older form the
 * contact may have been stored in (sp_mail_addr_lookup_forms, core/
 * mail_idn: the address as given, sp_crypto_email_index_legacy, and with
 * its domain as U-labels and as its A-label). At most
 * SP_CRYPTO_EMAIL_INDEXES; one for an ASCII address that names no
 * "xn--" domain. Returns how many: 0 for a blank email or if OpenSSL
 * fails. */
#define SP_CRYPTO_EMAIL_INDEXES 4
size_t sp_crypto_email_indexes(const struct sp_crypto *c, struct sp_arena *a, const char *email,
                               const char *out[SP_CRYPTO_EMAIL_INDEXES]);

/* HMAC-SHA256 with the blind index key over the current key's label and
 * the values (NULL is absent, unlike ""), as 64 lowercase hex characters,
 * arena-owned; NULL if OpenSSL fails. The same values under the same
 * current key give the same fingerprint, so a writer can skip rewriting
 * sealed values that would differ only in their random nonces, and still
 * rewrite everything once a new key is put in front. */
const char *sp_crypto_fingerprint(const struct sp_crypto *c, struct sp_arena *a,
                                  const char *const *values, size_t n);

/* A 32-byte key for one purpose of the server's own (the admin login
 * form's CSRF tokens: "support-admin-login-csrf-v1"), HKDF-SHA256 of the
 * blind index key with purpose as info, into out. The index key is the
 * ring's one stable secret (see above), so the derived key survives key
 * rotations and is the same on every host of a deployment; HKDF's extract
 * step makes it unrelated to every email index and fingerprint (HMACs
 * under the index key itself), whatever purpose says. false for a NULL or
 * empty purpose or if OpenSSL fails (out then holds nothing usable). */
bool sp_crypto_derive_key(const struct sp_crypto *c, const char *purpose, unsigned char out[32]);

/* The blind index key in force, SUPPORT_PII_INDEX_KEY's or the one
 * derived from the oldest key, as padded base64 and a NUL into out: the
 * value that keeps every stored index when set as SUPPORT_PII_INDEX_KEY
 * before the oldest key is dropped (support-api --print-pii-index-key).
 * A secret: out is the caller's to wipe. */
#define SP_CRYPTO_INDEX_KEY_B64 45
void sp_crypto_index_key_b64(const struct sp_crypto *c, char out[SP_CRYPTO_INDEX_KEY_B64]);

/* Constant-time comparison (CRYPTO_memcmp) of the contents; different
 * lengths compare unequal at once (only the length leaks). */
bool sp_crypto_equal(const void *a, size_t alen, const void *b, size_t blen);
/* n bytes as 2n lowercase hex characters, arena-owned. */
char *sp_crypto_hex(struct sp_arena *a, const unsigned char *p, size_t n);
/* The first hex_digits (even, at most 64) lowercase hex characters of
 * HMAC-SHA256(key, msg[0..n)) and a NUL into out (hex_digits + 1 bytes):
 * the MACs of signed attachment URLs, signed reply addresses and webhook
 * signatures, under keys their callers keep. The whole MAC is wiped from
 * the stack. Aborts if OpenSSL cannot compute it (nothing could be signed
 * or checked) or hex_digits is odd or over 64 (a caller's bug). */
void sp_crypto_hmac_hex(const void *key, size_t keylen, const void *msg, size_t n, char *out,
                        size_t hex_digits);
/* Sealed tokens: values the server hands out and reads back (pagination
 * cursors), which the holder may neither read nor change. AES-256-GCM
 * with a synthetic nonce, HMAC-SHA256 of the aad and the message (as
 * SIV): the same aad and message seal to the same bytes, so a token
 * tells its holder only what comparing answers would, and two different
 * ones never share a nonce. The aad binds a token to where it is valid.
 * Both keys come from one 32-byte secret (HKDF-SHA256); the token grows
 * by SP_CRYPTO_TOKEN_OVERHEAD bytes (nonce and tag). */
struct sp_token_key {
    unsigned char enc[32];
    unsigned char nonce[32];
};
#define SP_CRYPTO_TOKEN_OVERHEAD 28
/* The token keys of secret; false if OpenSSL fails. */
bool sp_crypto_token_key(const unsigned char secret[32], struct sp_token_key *out);
/* msg (len bytes) sealed into out (len + SP_CRYPTO_TOKEN_OVERHEAD
 * bytes). Aborts if OpenSSL cannot (nothing could be handed out). */
void sp_crypto_token_seal(const struct sp_token_key *k, const void *aad, size_t aadlen,
                          const void *msg, size_t len, unsigned char *out);
/* The message of a token sealed under k with this aad, into out (inlen -
 * SP_CRYPTO_TOKEN_OVERHEAD bytes); false for anything else, out then
 * wiped. */
bool sp_crypto_token_open(const struct sp_token_key *k, const void *aad, size_t aadlen,
                          const unsigned char *in, size_t inlen, unsigned char *out);
/* SHA-256 of data as 64 lowercase hex characters, arena-owned (session
 * tokens are stored as their hashes); NULL only if OpenSSL fails. */
const char *sp_crypto_sha256_hex(struct sp_arena *a, const void *data, size_t len);
/* SHA-256 of everything fd reads from its current offset, in hex, read in
 * 64 KiB pieces (a 25 MiB file never sits in memory). false on a read
 * error. */
bool sp_crypto_sha256_fd(int fd, char out[65]);

#endif
