/*
 * keyring: splitting a key-ring setting, "name:secret,name:secret,...",
 * into its entries. One home for the syntax shared by
 * SUPPORT_ENCRYPTION_KEYS (core/crypto.c), SUPPORT_JWT_KEYS
 * (http/auth_keys.c) and SUPPORT_ATTACHMENT_KEYS (http/signed_url.c).
 *
 * Grammar: entries are separated by ',' or line breaks (a file of one
 * key a line, the newest first); an entry is a name, ':', and a secret
 * that runs to the next separator or the end (it may hold further ':').
 * Line breaks after a ',', blank lines ("\r\n" too) and those at the
 * end separate nothing more. Every other entry counts: "" is one empty
 * entry, and a trailing or doubled ',' makes an empty one, both refused.
 * A control character left in a name or a secret (a tab, an
 * escape) is refused: it would silently become part of the key
 * (QA: "dev:<hex>\nk2:<hex>" was one key, every token 401). A name is 1..name_max bytes of
 * the rules' name_chars. With SP_KEYRING_TRIM, ASCII whitespace around
 * each entry is ignored (not around the ':'); without it, it belongs to
 * the name (refused) or the secret. With SP_KEYRING_UNIQUE, a name met a
 * second time is refused. What a secret must be (base64, length) is the
 * caller's business.
 *
 * Entries point into the spec: splitting copies nothing. Error text
 * names the setting, the entry's number and (for a repeated one) the
 * name, never a malformed entry or a secret: an entry without ':' may be
 * a bare secret.
 *
 * The keys a caller keeps from its ring (struct sp_keyring_keys) are the
 * one place that holds copies: plain heap for the process's lifetime,
 * looked up by name, the material wiped when freed. All three rings keep
 * their keys so.
 * Must not: log, or know what the secrets are for.
 */
#ifndef SP_KEYRING_H
#define SP_KEYRING_H

#include <stdbool.h>
#include <stddef.h>

enum {
    SP_KEYRING_TRIM   = 1u << 0,   /* ignore whitespace around each entry */
    SP_KEYRING_UNIQUE = 1u << 1,   /* refuse a name used twice */
};

/* How one setting spells its ring, and the words its errors use:
 *   "<setting>: entry <i> is not <name_word>:<secret_word> (<name_word> of
 *    1-<name_max> <name_chars_text>)"
 *   "<setting>: <name_word> "<name>" is used twice" */
struct sp_keyring_rules {
    const char *setting;          /* "SUPPORT_ENCRYPTION_KEYS" */
    const char *name_word;        /* "version", "kid" */
    const char *secret_word;      /* "base64key", "secret" */
    size_t name_max;
    const char *name_chars;       /* bytes a name may hold; NULL: visible
                                     ASCII (0x21-0x7e) but ',' and ':' */
    const char *name_chars_text;  /* "characters A-Z a-z 0-9 _ -" */
    unsigned flags;               /* SP_KEYRING_* */
};

/* One entry; name and secret point into the spec (not NUL-terminated). */
struct sp_keyring_entry {
    const char *name, *secret;
    size_t name_len, secret_len;
    size_t index;                 /* 1-based, as the error text counts */
};

/* Called for each entry in order; false (with err filled, naming the
 * setting and at most the entry's name) refuses the ring. */
typedef bool sp_keyring_entry_fn(void *ctx, const struct sp_keyring_entry *e, char *err,
                                 size_t errlen);

/* Splits spec (NULL reads as "") under rules and hands each entry to fn,
 * stopping at the first malformed entry, repeated name or refusal by fn.
 * True when every entry was accepted; otherwise err says why. */
bool sp_keyring_each(const struct sp_keyring_rules *rules, const char *spec,
                     sp_keyring_entry_fn *fn, void *ctx, char *err, size_t errlen);

/* Whether e's secret has at least min_len bytes; else false with err
 * "<setting>: the secret of <name_word> "<name>" is shorter than <min_len>
 * bytes", as every ring of shared secrets (HMAC keys) words it. */
bool sp_keyring_secret_min(const struct sp_keyring_rules *rules, const struct sp_keyring_entry *e,
                           size_t min_len, char *err, size_t errlen);

/* At most how many entries spec splits into (separators + 1): a bound
 * for allocation. */
size_t sp_keyring_count(const char *spec);

/* Whether s[0..n) is a valid name under rules (for names read elsewhere,
 * such as a kid in a URL or a file). */
bool sp_keyring_name_ok(const struct sp_keyring_rules *rules, const char *s, size_t n);

/* One kept key: copies of its name (NULL: a key without one, such as a
 * JWT public key without "kid:") and of its material, NUL-terminated so
 * text material (PEM) can be read as a string; len excludes the NUL. */
struct sp_keyring_key {
    char *name;
    unsigned char *material;
    size_t len;
    unsigned use;                 /* the caller's: what the key may do (a JWT algorithm) */
};

/* A ring's kept keys, in the order added (the first signs or encrypts). */
struct sp_keyring_keys {
    struct sp_keyring_key *keys;
    size_t n;
};

/* Appends copies of name[0..name_len) (name NULL: none) and
 * material[0..len); returns the new key. Aborts when out of memory: rings
 * are loaded at start-up (STYLE.md). */
struct sp_keyring_key *sp_keyring_keys_add(struct sp_keyring_keys *r, const char *name,
                                           size_t name_len, const void *material, size_t len);
/* The first key named name[0..name_len), or NULL. Names are not secret:
 * no constant-time compare. */
const struct sp_keyring_key *sp_keyring_keys_find(const struct sp_keyring_keys *r,
                                                  const char *name, size_t name_len);
/* A ring of shared secrets (HMAC keys) on the heap: every entry of spec
 * kept, in order, each secret at least min_len bytes; else NULL with err
 * "<setting>: the secret of kid "<name>" is shorter than <min_len> bytes".
 * The reply-address and signed-URL rings are this, as loaded (their
 * modules add only their setting's own checks); sp_keyring_keys_destroy
 * frees it. */
struct sp_keyring_keys *sp_keyring_keys_load(const struct sp_keyring_rules *rules,
                                             const char *spec, size_t min_len, char *err,
                                             size_t errlen);
/* Wipes every key's material, frees the keys and leaves r empty (a ring
 * held inside another struct). */
void sp_keyring_keys_free(struct sp_keyring_keys *r);
/* sp_keyring_keys_free, then r itself (a ring from sp_keyring_keys_load);
 * NULL is fine. */
void sp_keyring_keys_destroy(struct sp_keyring_keys *r);

#endif
