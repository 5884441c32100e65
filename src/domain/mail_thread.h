/*
 * mail_thread: which of our tickets a mail without a (valid) reply
 * address says it answers (docs/API.md §11 "Mail in", Threading). Our
 * mails about a ticket carry its thread id
 *     ticket-<PUBLICID>@<domain of SUPPORT_MAIL_FROM>
 * in In-Reply-To and References, and "[PUBLICID]" at the end of their
 * subject; a mail program answering one copies the ids into References
 * (and its In-Reply-To), and keeps the subject. Neither is signed: what
 * they name is only a candidate, which domain/mail_in takes when the
 * ticket's customer is the sender.
 * Must not: know SQL or the MTA, or parse mail (core/mail_parse).
 */
#ifndef SP_MAIL_THREAD_H
#define SP_MAIL_THREAD_H

#include <stdbool.h>
#include <stddef.h>

#include "core/ids.h"

struct sp_arena;

#define SP_MAIL_THREAD_MAX 8   /* candidates looked at per mail, at most */

/* Ticket public_id's thread id for mail from domain: "ticket-<id>@<domain>"
 * (without <>; arena-owned). */
const char *sp_mail_thread_id(struct sp_arena *a, const char *public_id, const char *domain);

/* The ticket msg_id (without <>) is the thread id of: "ticket-" (any
 * case), a public id (any case: public_id gets the stored form), '@' and
 * domain (compared without regard to ASCII case, as domains are; a
 * trailing dot on either side is the same domain). False for anything
 * else, and when domain is NULL or empty. */
bool sp_mail_thread_ticket(const char *msg_id, const char *domain,
                           char public_id[SP_PUBLIC_ID_LEN + 1]);

/* Outbox row id's Message-ID for mail from domain: "outbox-<id>@<domain>"
 * (without <>; arena-owned): support-dispatch's mails carry it, the same
 * on every attempt, and a DSN returns it (domain/mail_bounce). */
const char *sp_mail_thread_outbox_id(struct sp_arena *a, long long id, const char *domain);

/* The outbox row msg_id (without <>) is the Message-ID of: "outbox-"
 * (any case), 1 to 18 digits without a leading zero, '@' and domain (as
 * sp_mail_thread_ticket compares it). False for anything else. */
bool sp_mail_thread_outbox(const char *msg_id, const char *domain, long long *id);

/* The tickets a mail names, most likely first, each once, at most max:
 * its In-Reply-To's (in_reply_to, may be NULL) and then its References'
 * (refs[0..nrefs), newest, i.e. last, first) thread ids of ours; then
 * the "[PUBLICID]" tags of its subject (may be NULL), last first (ours
 * is the last: a ticket's subject may hold another's). Returns how many. */
size_t sp_mail_thread_tickets(const char *in_reply_to, const char *const *refs, size_t nrefs,
                              const char *subject, const char *domain,
                              char (*out)[SP_PUBLIC_ID_LEN + 1], size_t max);

#endif
