/*
 * reply_address: signed reply subaddresses (see the header).
 */
#include "domain/reply_address.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/crypto.h"
#include "core/keyring.h"

#define SECRET_MIN 32
#define MAC_HEX 20
#define TAG "+t-"

static const struct sp_keyring_rules RULES = {
    .setting = "SUPPORT_MAIL_REPLY_KEYS", .name_word = "kid", .secret_word = "secret",
    .name_max = 32,
    .name_chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.",
    .name_chars_text = "of A-Z a-z 0-9 - _ .", .flags = SP_KEYRING_UNIQUE | SP_KEYRING_TRIM,
};

struct sp_keyring_keys *
sp_reply_keys_load(const char *spec, const char *from, char *err, size_t errlen)
{
    if (errlen > 0)
        err[0] = '\0';
    if (spec == NULL || *spec == '\0')
        return NULL;
    if (from != NULL && sp_reply_address_looks_signed(from)) {
        snprintf(err, errlen, "SUPPORT_MAIL_FROM must not hold \"" TAG "\": the reply addresses"
                              " of SUPPORT_MAIL_REPLY_KEYS add it");
        return NULL;
    }
    return sp_keyring_keys_load(&RULES, spec, SECRET_MIN, err, errlen);
}

static void
mac_hex(const struct sp_keyring_key *key, const char *public_id, char out[MAC_HEX + 1])
{
    char msg[64];
    int n = snprintf(msg, sizeof(msg), "support-mail-reply-v1\n%s", public_id);
    if (n < 0 || (size_t)n >= sizeof(msg))
        abort();   /* a public id is 12 characters: a caller's bug */
    sp_crypto_hmac_hex(key->material, key->len, msg, (size_t)n, out, MAC_HEX);
}

const char *
sp_reply_address(const struct sp_keyring_keys *k, struct sp_arena *a, const char *from,
                 const char *public_id)
{
    char mac[MAC_HEX + 1];
    mac_hex(&k->keys[0], public_id, mac);
    const char *at = strrchr(from, '@');
    int local = at != NULL ? (int)(at - from) : (int)strlen(from);
    return sp_arena_sprintf(a, "%.*s" TAG "%s-%s%s", local, from, public_id, mac,
                            at != NULL ? at : "");
}

/* The first tag of addr if it is in the local part (before the last '@':
 * a domain holds none), else NULL. Looking signed and naming a ticket
 * both read the tag here, so an address names a ticket only if it looks
 * signed. */
static const char *
find_tag(const char *addr)
{
    const char *at = strrchr(addr, '@');
    const char *tag = strcasestr(addr, TAG);
    return tag != NULL && (at == NULL || tag < at) ? tag : NULL;
}

bool
sp_reply_address_looks_signed(const char *addr)
{
    return find_tag(addr) != NULL;
}

/* The "<id>-<mac>" after the tag, up to the '@' (or a further '+'): the id
 * upper-cased, the mac lower-cased. */
static bool
split_token(const char *addr, char id[SP_PUBLIC_ID_LEN + 1], char mac[MAC_HEX + 1])
{
    const char *t = find_tag(addr);
    if (t == NULL)
        return false;
    t += strlen(TAG);
    size_t n = strcspn(t, "@+");
    if (n != SP_PUBLIC_ID_LEN + 1 + MAC_HEX || t[SP_PUBLIC_ID_LEN] != '-')
        return false;
    for (size_t i = 0; i < SP_PUBLIC_ID_LEN; i++)
        id[i] = (char)toupper((unsigned char)t[i]);
    id[SP_PUBLIC_ID_LEN] = '\0';
    for (size_t i = 0; i < MAC_HEX; i++)
        mac[i] = (char)tolower((unsigned char)t[SP_PUBLIC_ID_LEN + 1 + i]);
    mac[MAC_HEX] = '\0';
    return sp_public_id_valid(id);
}

bool
sp_reply_address_ticket(const struct sp_keyring_keys *k, const char *addr,
                        char public_id[SP_PUBLIC_ID_LEN + 1])
{
    char id[SP_PUBLIC_ID_LEN + 1], got[MAC_HEX + 1];
    if (k == NULL || !split_token(addr, id, got))
        return false;
    bool ok = false;
    for (size_t i = 0; i < k->n; i++) {
        char want[MAC_HEX + 1];
        mac_hex(&k->keys[i], id, want);
        ok |= CRYPTO_memcmp(want, got, MAC_HEX) == 0;
    }
    if (ok)
        memcpy(public_id, id, sizeof(id));
    return ok;
}
