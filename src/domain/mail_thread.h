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

#include "core/crypto.h"
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

/* The key our mails' Message-IDs are sealed under: derived from the
 * stable index key of crypto (purpose support-mail-message-id-v1), so
 * every dispatcher and support-mail-in of a deployment agree and key
 * rotations keep it; crypto NULL (no SUPPORT_ENCRYPTION_KEYS: only staff
 * mails can go) a random key of the process. false if OpenSSL fails. */
bool sp_mail_thread_key(const struct sp_crypto *crypto, struct sp_token_key *out);

/* Outbox row id's Message-ID for mail from domain: "m-<hex>@<domain>"
 * (without <>; arena-owned), hex the row id sealed under k
 * (sp_crypto_token_seal, SIV): the same on every attempt, and a DSN
 * returns it (domain/mail_bounce); it tells its reader neither the id
 * nor how many mails we send (it was "outbox-<id>", the global outbox
 * sequence, until QA read the volume off it). */
const char *sp_mail_thread_outbox_id(struct sp_arena *a, const struct sp_token_key *k,
                                     long long id, const char *domain);

/* The outbox row msg_id (without <>) is the Message-ID of, on domain (as
 * sp_mail_thread_ticket compares it): a sealed one of k (*legacy false),
 * or the "outbox-<id>" (any case, 1 to 18 digits without a leading zero)
 * of mails sent before ids were sealed, whose DSNs and answers may still
 * come (*legacy true). False for anything else. Anyone can write the
 * old form for any id: the caller takes a legacy one only for a row that
 * SP_MAIL_THREAD_SENT_UNSEALED says was sent with it (QA: a forged
 * bounce naming <outbox-330@…> marked a row sent with a sealed id). */
bool sp_mail_thread_outbox(const char *msg_id, const char *domain, const struct sp_token_key *k,
                           long long *id, bool *legacy);

/* SQL: outbox row `o` went out before Message-IDs were sealed, i.e.
 * before migration 076, which came with the sealing, was applied: only
 * such a row is named by its "outbox-<id>". */
#define SP_MAIL_THREAD_SENT_UNSEALED(o)                                                            \
    "(" o ".delivered_at < (SELECT applied_at FROM schema_migrations WHERE version = 76))"

/* The tickets a mail names, most likely first, each once, at most max:
 * its In-Reply-To's (in_reply_to, may be NULL) and then its References'
 * (refs[0..nrefs), newest, i.e. last, first) thread ids of ours; then
 * the "[PUBLICID]" tags of its subject (may be NULL), last first (ours
 * is the last: a ticket's subject may hold another's). Returns how many. */
size_t sp_mail_thread_tickets(const char *in_reply_to, const char *const *refs, size_t nrefs,
                              const char *subject, const char *domain,
                              char (*out)[SP_PUBLIC_ID_LEN + 1], size_t max);

/* The subject of a follow-up a mail opens (the mail answered a closed
 * ticket): the mail's subject without the prefixes mail programs put in
 * front of an answer or a forward ("Re:", "AW:", "Fwd:", "Re[2]:", any
 * case, any number) and without the "[PUBLICID]" tags of ours at its end
 * (QA: "Re: with file [HB89DPQ7DFRE]" became the follow-up's subject, so
 * its mails carried two ticket tags). Arena-owned; "" when nothing is
 * left. */
const char *sp_mail_thread_subject(struct sp_arena *a, const char *subject);

#endif
