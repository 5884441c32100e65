/*
 * mail_in: a customer's mail taken in (docs/API.md §11 "Mail in"): a
 * reply to one of our mails becomes the customer's reply on the ticket
 * (when that one is closed: on its follow-up while that is not closed,
 * else a new follow-up, one per thread at a time under the closed
 * ticket's lock); a new mail from a known
 * customer's address becomes a ticket (source email) when
 * SUPPORT_MAIL_NEW_TICKETS allows. Auto-replies, bounces and our own
 * mail are dropped, so two robots never answer each other; a delivery
 * status notification that returns a customer's mail of ours marks its
 * outbox row failed (domain/mail_bounce), and is never a ticket or a
 * reply.
 * Who a mail speaks for: a reply, the signed reply address
 * (domain/reply_address) AND a From that is the ticket customer's stored
 * email; without a (valid) reply address, a ticket its References,
 * In-Reply-To or subject tag names (domain/mail_thread) whose customer's
 * stored email From is; else a new mail, the one customer whose stored
 * email From is (the blind index, domain/contacts). From itself is
 * trusted only as far as the receiving MTA vouches for it: with an
 * authserv_id, the topmost Authentication-Results header of that id
 * must pass DMARC (or, without a DMARC verdict, aligned DKIM or SPF;
 * core/auth_results), else the mail is refused as unverified_sender;
 * without one, From is taken as written. A mail taken twice (the MTA retries a
 * delivery, a mail sent to two of our addresses) is taken once: its
 * Message-ID with a hash of its subject and body is the customer's
 * idempotency key (another mail reusing a Message-ID is its own mail).
 * The mail's files (up to 10, each of an accepted type and at most 25
 * MiB) become attachments of its message, owned by the customer, pending
 * until support-scan's verdict; the others are named in the message for
 * the agent, with the reason. A text longer than a message may be is
 * kept whole as the file mail.txt of its message, under the same rules,
 * and the message gets its head and a word that the rest is there.
 * A new ticket counts against the customer's ticket create limits, an
 * answer on a ticket against their reply limit, in the buckets the web
 * counts in (API.md §1), inside the take (a repeat counts nothing).
 * Each take is one command with one transaction (sp_idem_run).
 * Must not: parse mail (core/mail_parse), know the MTA or exit codes
 * (cgi-bin/support-mail-in), log PII.
 */
#ifndef SP_MAIL_IN_H
#define SP_MAIL_IN_H

#include <stdbool.h>

#include "core/mail_parse.h"
#include "core/problem.h"
#include "domain/ctx.h"
#include "domain/ratelimit.h"

struct sp_arena;
struct sp_attachment_files;
struct sp_crypto;
struct sp_keyring_keys;

struct sp_mail_in_env {
    const struct sp_crypto *crypto;          /* required: the email blind index */
    const struct sp_keyring_keys *reply_keys;  /* NULL: no reply address verifies */
    const char *own_address;                 /* SUPPORT_MAIL_FROM: mail from it is a loop */
    bool new_tickets;                        /* SUPPORT_MAIL_NEW_TICKETS */
    struct sp_rate_window ticket_limits[2];  /* the ticket create limits (API.md §1) */
    struct sp_rate_window reply_limit;       /* the customer reply limit (API.md §1) */
    const struct sp_attachment_files *files; /* where a mail's files are kept; NULL: not */
    const char *attachment_types;            /* SUPPORT_ATTACHMENT_TYPES */
    const char *authserv_id;                 /* SUPPORT_MAIL_AUTHSERV_ID; NULL: From is
                                                not verified */
};

/* What the MTA says of the delivery (NULL: not told). */
struct sp_mail_envelope {
    const char *sender;       /* "" = a bounce (MAIL FROM:<>) */
    const char *recipient;    /* the address it was delivered to */
    const char *digest;       /* sp_mail_in_digest: the mail's idempotency key */
};

/* What makes a mail the same mail (hex SHA-256, arena-owned): its
 * Message-ID with its subject and body bytes (raw[m->body_offset..len),
 * line ends made LF: CRLF or LF, it is the same mail), else, without a
 * Message-ID, its From, Date, subject and those body bytes. */
const char *sp_mail_in_digest(struct sp_arena *a, const struct sp_mail_in *m, const char *raw,
                              size_t len);

enum sp_mail_in_outcome {
    SP_MAIL_IN_REPLY,         /* the customer's reply on the ticket */
    SP_MAIL_IN_TICKET,        /* a new ticket */
    SP_MAIL_IN_FOLLOW_UP,     /* a new ticket: the one replied to is closed */
    SP_MAIL_IN_DUPLICATE,     /* taken before: nothing done */
    SP_MAIL_IN_IGNORED,       /* dropped: see why */
    SP_MAIL_IN_BOUNCE,        /* a DSN: a mail of ours marked failed (domain/mail_bounce) */
};

struct sp_mail_in_result {
    enum sp_mail_in_outcome outcome;
    const char *ticket;       /* the ticket's public id (not IGNORED) */
    const char *why;          /* IGNORED: auto_reply, bounce, own_address, or a DSN's
                                 (domain/mail_bounce: bounce_not_failed,
                                 bounce_unmatched, bounce_not_sent); BOUNCE: bounced;
                                 refused
                                 rate_limited: the limit, ticket_reply or ticket_create;
                                 for the log of a mail not parsed, its refused_why */
    size_t files;             /* REPLY, TICKET, FOLLOW_UP: files kept as attachments */
    const char *via;          /* what named the ticket answered: "reply_address",
                                 "references" or "subject"; NULL: a new mail */
    long long outbox_id;      /* a DSN: the outbox row it named (BOUNCE, or IGNORED
                                 bounce_not_sent); else 0 */
    bool suppressed;          /* a DSN: its recipient failed hard, the address is
                                 suppressed (domain/mail_bounce) */
    const char *sender_auth;  /* with an authserv_id, what our Authentication-Results
                                 header said of From (sp_auth_verdict_name), also when
                                 refused; NULL: not checked */
};

/* Refusals, each with a detail meant for the sender's bounce:
 *   SP_NOT_FOUND unknown_reply_address, unknown_sender, unverified_sender,
 *   no_reply_address;
 *   SP_FORBIDDEN not_the_customer; SP_CONFLICT ambiguous_sender,
 *   ticket_closed (closed meanwhile: try again); SP_INVALID empty,
 *   too_long (and not kept as mail.txt); SP_RATE_LIMITED; and the
 *   database's errors. */
enum sp_rc sp_mail_in_take(struct sp_ctx *ctx, const struct sp_mail_in_env *env,
                           const struct sp_mail_envelope *envelope,
                           const struct sp_mail_in *mail, struct sp_mail_in_result *out,
                           struct sp_problem *p);

/* The outcome's name for logs ("reply", "ticket", ...). */
const char *sp_mail_in_outcome_name(enum sp_mail_in_outcome o);

#endif
