/*
 * mail_bounce: a delivery status notification (RFC 3464) that comes to
 * support-mail-in (docs/API.md §11 "Mail in", Bounces). It is never a
 * ticket or a reply. When it says that a customer's mail of ours could
 * not be delivered, that mail's outbox row becomes failed, as if
 * support-dispatch had given it up, and its ticket says so:
 *   - the mail it returns (its message/rfc822 or text/rfc822-headers
 *     part), else its In-Reply-To, else its References (newest first),
 *     has the Message-ID support-dispatch gave an outbox row,
 *     outbox-<id>@<domain of SUPPORT_MAIL_FROM> (domain/mail_thread);
 *   - that row is a customer's mail (kind notification, channel email);
 *   - a recipient whose Action is failed is that customer's stored email
 *     (any of its blind indexes, sp_crypto_email_indexes, as every
 *     lookup by email, so a contact stored before the canonical form is
 *     found too, by the xn-- form support-dispatch sent to as well): a
 *     DSN is anyone's word, and an outbox id is a number, so a forged
 *     one must also know whom the mail went to;
 *   - the row is sent: it becomes failed with last_error "bounced", and
 *     its ticket gets the event notification_failed ({"channel":"email",
 *     "reason":"bounced","outbox_id":<id>,"event_type":<the row's>}),
 *     agents' only (the ticket row itself is not touched), in the same
 *     statement;
 *   - that recipient's Status is permanent (5.x.x, a hard bounce): the
 *     address, as the contact stores it (its blind index), is suppressed
 *     (support_mail_suppressions, sql/081), with that Status's code, why
 *     (dsn_status, sql/085; a later bounce's replaces it): support-dispatch
 *     fails a mail to it, "suppressed", instead of sending it. A soft bounce (4.x.x,
 *     or no Status) still fails the row but suppresses nothing. The
 *     customer's mail taken from the address lifts it
 *     (sp_mail_bounce_lift), as does an admin (domain/mail_suppressions);
 *     an address changed is another index, mailed.
 * Anything else is dropped, with why.
 * Must not: parse mail (core/mail_parse), know the MTA or exit codes,
 * log PII.
 */
#ifndef SP_MAIL_BOUNCE_H
#define SP_MAIL_BOUNCE_H

#include "core/mail_parse.h"
#include "core/problem.h"
#include "domain/ctx.h"

struct sp_crypto;

struct sp_mail_bounce {
    /* "bounced": the row is failed now; else why nothing was done:
     * bounce_not_failed (no recipient failed: a delay, a delivery),
     * bounce_unmatched (no mail of ours, or not to the recipient that
     * failed), bounce_not_sent (the row is not sent: a repeat of the DSN,
     * or given up already) */
    const char *why;
    const char *ticket;     /* bounced, bounce_not_sent: the row's ticket (public id) */
    long long outbox_id;    /* bounced, bounce_not_sent: the row; else 0 */
    bool suppressed;        /* the address failed hard: not mailed from now on */
};

/* m->dsn.is_dsn: what the DSN m says of our mails (own_address:
 * SUPPORT_MAIL_FROM, whose domain our Message-IDs carry). One statement,
 * its own transaction; SP_OK unless the database fails. */
enum sp_rc sp_mail_bounce_take(struct sp_ctx *ctx, const struct sp_crypto *crypto,
                               const char *own_address, const struct sp_mail_in *m,
                               struct sp_mail_bounce *out, struct sp_problem *p);

/* Mail from the address whose blind indexes (sp_crypto_email_indexes) are
 * index[0..n) was taken: it arrives, so it is no longer suppressed. In
 * the caller's transaction. */
enum sp_rc sp_mail_bounce_lift(struct sp_ctx *ctx, const char *const *index, size_t n,
                               struct sp_problem *p);

#endif
