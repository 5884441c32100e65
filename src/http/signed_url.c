/*
 * signed_url: signing and checking attachment URLs. See signed_url.h.
 * Keys live for the process (plain heap, wiped on free); everything a
 * request gets back is in its arena.
 */
#include "http/signed_url.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/hex.h"
#include "core/ids.h"
#include "core/keyring.h"

#define SECRET_MIN 32
#define SETTING "SUPPORT_ATTACHMENT_KEYS"

/* Kids are also read from URLs (sp_signed_parse); entries are not trimmed. */
static const struct sp_keyring_rules RULES = {
    .setting = SETTING, .name_word = "kid", .secret_word = "secret",
    .name_max = SP_SIGNED_KID_MAX,
    .name_chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.",
    .name_chars_text = "of A-Z a-z 0-9 - _ .", .flags = SP_KEYRING_UNIQUE,
};

static bool
kid_ok(const char *s, size_t n)
{
    return sp_keyring_name_ok(&RULES, s, n);
}

/* keys[0] signs; every key verifies. */
struct sp_keyring_keys *
sp_url_keys_load(const char *spec, char *err, size_t errlen)
{
    if (spec == NULL || *spec == '\0') {
        snprintf(err, errlen, "%s is not set", SETTING);
        return NULL;
    }
    return sp_keyring_keys_load(&RULES, spec, SECRET_MIN, err, errlen);
}

/* A decimal 0..10^15 with no sign, spaces or leading zeros. */
static bool
parse_num(const char *s, size_t n, long long *out)
{
    if (n == 0 || n > 15 || (n > 1 && s[0] == '0'))
        return false;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static bool
parse_sig(const char *s, size_t n, char out[SP_SIGNED_SIG_LEN + 1])
{
    if (n != SP_SIGNED_SIG_LEN || strspn(s, sp_hex_lower) < n)
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

/* One name=value pair of the query into out; seen marks each name once. */
static bool
parse_pair(const char *s, size_t n, struct sp_signed *out, unsigned *seen)
{
    const char *eq = memchr(s, '=', n);
    if (eq == NULL)
        return false;
    size_t klen = (size_t)(eq - s), vlen = n - klen - 1;
    const char *v = eq + 1;
    static const char *const names[] = {"kid", "expires", "size", "sig"};
    for (unsigned i = 0; i < 4; i++) {
        if (klen != strlen(names[i]) || memcmp(s, names[i], klen) != 0)
            continue;
        if (*seen & (1u << i))
            return false;
        *seen |= 1u << i;
        switch (i) {
        case 0:
            if (!kid_ok(v, vlen))
                return false;
            memcpy(out->kid, v, vlen);
            out->kid[vlen] = '\0';
            return true;
        case 1: return parse_num(v, vlen, &out->expires);
        case 2: return parse_num(v, vlen, &out->size);
        default: return parse_sig(v, vlen, out->sig);
        }
    }
    return false;
}

bool
sp_signed_parse(const char *query, struct sp_signed *out)
{
    memset(out, 0, sizeof(*out));
    if (query == NULL)
        return false;
    unsigned seen = 0;
    for (const char *s = query;;) {
        const char *end = strchrnul(s, '&');
        if (!parse_pair(s, (size_t)(end - s), out, &seen))
            return false;
        if (*end == '\0')
            break;
        s = end + 1;
    }
    return seen == 0xf;
}

/* The hex HMAC of (method, id, size, expires) under key. */
static void
mac_hex(const struct sp_keyring_key *key, const char *method, const char *id, long long size,
        long long expires, char out[SP_SIGNED_SIG_LEN + 1])
{
    /* A public id is signed in its canonical form: the URL's path may
     * name it in any case and still name the one attachment signed for,
     * while no other id can verify (signed_url.h). */
    char canon[SP_PUBLIC_ID_LEN + 1];
    if (sp_public_id_read(id, canon))
        id = canon;
    char msg[512];
    int n = snprintf(msg, sizeof(msg), "support-attachment-v1\n%s\n%s\n%lld\n%lld", method, id,
                     size, expires);
    if (n < 0 || (size_t)n >= sizeof(msg))
        n = 0;  /* ids are short; an overlong one signs nothing that verifies */
    sp_crypto_hmac_hex(key->material, key->len, msg, (size_t)n, out, SP_SIGNED_SIG_LEN);
}

const char *
sp_signed_url(struct sp_arena *a, const struct sp_keyring_keys *k, const char *method,
              const char *path, const char *id, long long size, long long expires)
{
    char sig[SP_SIGNED_SIG_LEN + 1];
    const struct sp_keyring_key *key = &k->keys[0];
    mac_hex(key, method, id, size, expires, sig);
    return sp_arena_sprintf(a, "%s?kid=%s&expires=%lld&size=%lld&sig=%s", path, key->name,
                            expires, size, sig);
}

enum sp_signed_check
sp_signed_verify(const struct sp_keyring_keys *k, const char *method, const char *id,
                 const struct sp_signed *s, long long now)
{
    const struct sp_keyring_key *key = sp_keyring_keys_find(k, s->kid, strlen(s->kid));
    if (key == NULL)
        return SP_SIGNED_BAD;
    char want[SP_SIGNED_SIG_LEN + 1];
    mac_hex(key, method, id, s->size, s->expires, want);
    if (strlen(s->sig) != SP_SIGNED_SIG_LEN || CRYPTO_memcmp(want, s->sig, SP_SIGNED_SIG_LEN) != 0)
        return SP_SIGNED_BAD;
    return now > s->expires ? SP_SIGNED_EXPIRED : SP_SIGNED_OK;
}

/* RFC 5987 attr-char: sent as is in filename*. */
static bool
attr_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$&+-.^_`|~", c) != NULL);
}

const char *
sp_content_disposition(struct sp_arena *a, const char *filename)
{
    size_t n = strlen(filename);
    struct sp_buf b;
    sp_buf_init(&b, a, 64 + n * 4);
    sp_buf_puts(&b, "attachment; filename=\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)filename[i];
        if ((c & 0xc0) == 0x80)
            continue;   /* one '_' per non-ASCII character, not per byte */
        sp_buf_putc(&b, c < 0x20 || c >= 0x7f || c == '"' || c == '\\' ? '_' : (char)c);
    }
    sp_buf_puts(&b, "\"; filename*=UTF-8''");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)filename[i];
        if (attr_char(c)) {
            sp_buf_putc(&b, (char)c);
        } else {
            sp_buf_putc(&b, '%');
            sp_buf_putc(&b, sp_hex_upper[c >> 4]);
            sp_buf_putc(&b, sp_hex_upper[c & 15]);
        }
    }
    return b.data;
}
