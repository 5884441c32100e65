/*
 * mail_thread: the tickets a mail's references and subject name (see the
 * header).
 */
#include "domain/mail_thread.h"

#include <string.h>
#include <strings.h>

#include "core/arena.h"
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

const char *
sp_mail_thread_outbox_id(struct sp_arena *a, long long id, const char *domain)
{
    return sp_arena_sprintf(a, OUTBOX_PREFIX "%lld@%s", id, domain);
}

bool
sp_mail_thread_outbox(const char *msg_id, const char *domain, long long *id)
{
    size_t plen = strlen(OUTBOX_PREFIX);
    if (msg_id == NULL || domain == NULL || strncasecmp(msg_id, OUTBOX_PREFIX, plen) != 0)
        return false;
    const char *d = msg_id + plen;
    size_t n = strspn(d, "0123456789");
    if (n == 0 || n > 18 || d[0] == '0' || d[n] != '@' || !sp_mail_domain_same(d + n + 1, domain))
        return false;
    long long v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (d[i] - '0');
    *id = v;
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
