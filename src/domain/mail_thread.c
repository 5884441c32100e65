/*
 * mail_thread: the tickets a mail's references and subject name (see the
 * header).
 */
#include "domain/mail_thread.h"

#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/crypto.h"
#include "core/hex.h"
#include "core/mail_address.h"

#define PREFIX "ticket-"

const char *
sp_mail_thread_id(struct sp_arena *a, const char *public_id, const char *domain)
{
    return sp_arena_sprintf(a, PREFIX "%s@%s", public_id, domain);
}

/* s[0..n) as a public id in its stored form. */
static bool
public_id_at(const char *s, size_t n, char out[SP_PUBLIC_ID_LEN + 1])
{
    char id[SP_PUBLIC_ID_LEN + 1];
    if (n != SP_PUBLIC_ID_LEN)
        return false;
    memcpy(id, s, n);
    id[n] = '\0';
    return sp_public_id_read(id, out);
}

bool
sp_mail_thread_ticket(const char *msg_id, const char *domain,
                      char public_id[SP_PUBLIC_ID_LEN + 1])
{
    size_t plen = strlen(PREFIX);
    if (msg_id == NULL || domain == NULL || strncasecmp(msg_id, PREFIX, plen) != 0)
        return false;
    const char *at = strchr(msg_id + plen, '@');
    return at != NULL && sp_mail_domain_same(at + 1, domain) &&
           public_id_at(msg_id + plen, (size_t)(at - msg_id) - plen, public_id);
}

#define OUTBOX_PREFIX "outbox-"
#define SEALED_PREFIX "m-"
#define SEALED_AAD "support-mail-message-id"
#define SEALED_BYTES (8 + SP_CRYPTO_TOKEN_OVERHEAD)

bool
sp_mail_thread_key(const struct sp_crypto *crypto, struct sp_token_key *out)
{
    unsigned char secret[32];
    if (crypto != NULL) {
        if (!sp_crypto_derive_key(crypto, "support-mail-message-id-v1", secret))
            return false;
    } else {
        sp_random_bytes(secret, sizeof(secret));
    }
    bool ok = sp_crypto_token_key(secret, out);
    explicit_bzero(secret, sizeof(secret));
    return ok;
}

const char *
sp_mail_thread_outbox_id(struct sp_arena *a, const struct sp_token_key *k, long long id,
                         const char *domain)
{
    unsigned char msg[8], sealed[SEALED_BYTES];
    for (int i = 0; i < 8; i++)
        msg[i] = (unsigned char)((unsigned long long)id >> (56 - 8 * i));
    sp_crypto_token_seal(k, SEALED_AAD, strlen(SEALED_AAD), msg, sizeof(msg), sealed);
    return sp_arena_sprintf(a, SEALED_PREFIX "%s@%s", sp_crypto_hex(a, sealed, sizeof(sealed)),
                            domain);
}

/* d: the sealed id's hex and "@domain"; its row id into *id. */
static bool
sealed_outbox(const char *d, const char *domain, const struct sp_token_key *k, long long *id)
{
    unsigned char sealed[SEALED_BYTES], msg[8];
    for (size_t i = 0; i < sizeof(sealed); i++) {
        int hi = sp_hex_value((unsigned char)d[2 * i]);
        int lo = hi < 0 ? -1 : sp_hex_value((unsigned char)d[2 * i + 1]);
        if (lo < 0)
            return false;
        sealed[i] = (unsigned char)(hi << 4 | lo);
    }
    const char *at = d + 2 * sizeof(sealed);
    if (*at != '@' || !sp_mail_domain_same(at + 1, domain) ||
        !sp_crypto_token_open(k, SEALED_AAD, strlen(SEALED_AAD), sealed, sizeof(sealed), msg))
        return false;
    unsigned long long v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | msg[i];
    *id = (long long)v;
    return *id > 0;
}

bool
sp_mail_thread_outbox(const char *msg_id, const char *domain, const struct sp_token_key *k,
                      long long *id, bool *legacy)
{
    size_t plen = strlen(OUTBOX_PREFIX);
    *legacy = false;
    if (msg_id == NULL || domain == NULL)
        return false;
    if (strncasecmp(msg_id, SEALED_PREFIX, strlen(SEALED_PREFIX)) == 0)
        return k != NULL && sealed_outbox(msg_id + strlen(SEALED_PREFIX), domain, k, id);
    if (strncasecmp(msg_id, OUTBOX_PREFIX, plen) != 0)
        return false;
    const char *d = msg_id + plen;
    size_t n = strspn(d, "0123456789");
    if (n == 0 || n > 18 || d[0] == '0' || d[n] != '@' || !sp_mail_domain_same(d + n + 1, domain))
        return false;
    long long v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (d[i] - '0');
    *id = v;
    *legacy = true;
    return true;
}

/* Adds id to out[0..*n) unless it is there or out is full. */
static void
add(char (*out)[SP_PUBLIC_ID_LEN + 1], size_t *n, size_t max, const char *id)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(out[i], id) == 0)
            return;
    if (*n < max)
        memcpy(out[(*n)++], id, SP_PUBLIC_ID_LEN + 1);
}

size_t
sp_mail_thread_tickets(const char *in_reply_to, const char *const *refs, size_t nrefs,
                       const char *subject, const char *domain,
                       char (*out)[SP_PUBLIC_ID_LEN + 1], size_t max)
{
    size_t n = 0;
    char id[SP_PUBLIC_ID_LEN + 1];
    if (sp_mail_thread_ticket(in_reply_to, domain, id))
        add(out, &n, max, id);
    for (size_t i = nrefs; i > 0 && n < max; i--)
        if (sp_mail_thread_ticket(refs[i - 1], domain, id))
            add(out, &n, max, id);
    /* "[" 12 characters "]", from the end of the subject back */
    size_t len = subject != NULL ? strlen(subject) : 0;
    for (size_t end = len; end >= SP_PUBLIC_ID_LEN + 2 && n < max; end--)
        if (subject[end - 1] == ']' && subject[end - SP_PUBLIC_ID_LEN - 2] == '[' &&
            public_id_at(subject + end - SP_PUBLIC_ID_LEN - 1, SP_PUBLIC_ID_LEN, id))
            add(out, &n, max, id);
    return n;
}

/* The length of s's answer or forward prefix ("Re:", "re[2]: "), its
 * blanks after it included; 0 when it has none. */
static size_t
reply_prefix(const char *s)
{
    static const char *const words[] = {"re",  "aw", "sv", "vs", "antw", "ref", "fwd",
                                        "fw",  "wg", "tr", "rv", "doorst", NULL};
    size_t w = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
    size_t n = w;
    if (s[n] == '[' || s[n] == '(') { /* "Re[2]:", "AW(3):" */
        size_t d = strspn(s + n + 1, "0123456789");
        n = d > 0 && (s[n + 1 + d] == ']' || s[n + 1 + d] == ')') ? n + d + 2 : 0;
    }
    if (n == 0 || s[n] != ':')
        return 0;
    for (size_t k = 0; words[k] != NULL; k++)
        if (w == strlen(words[k]) && strncasecmp(s, words[k], w) == 0)
            return n + 1 + strspn(s + n + 1, " \t");
    return 0;
}

const char *
sp_mail_thread_subject(struct sp_arena *a, const char *subject)
{
    const char *s = subject != NULL ? subject : "";
    s += strspn(s, " \t");
    for (size_t n; (n = reply_prefix(s)) > 0;)
        s += n;
    size_t len = strlen(s);
    char id[SP_PUBLIC_ID_LEN + 1];
    for (;;) {
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
        if (len < SP_PUBLIC_ID_LEN + 2 || s[len - 1] != ']' ||
            s[len - SP_PUBLIC_ID_LEN - 2] != '[' ||
            !public_id_at(s + len - SP_PUBLIC_ID_LEN - 1, SP_PUBLIC_ID_LEN, id))
            break;
        len -= SP_PUBLIC_ID_LEN + 2;
    }
    return sp_arena_strndup(a, s, len);
}
