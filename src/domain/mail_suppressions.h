/*
 * mail_suppressions: the addresses a hard bounce suppressed
 * (support_mail_suppressions, sql/081; domain/mail_bounce adds and its
 * inbound mail lifts them) as admins see them (API.md §11 "Bounces"):
 * the list, and an admin's lift of one — a customer who never writes
 * mail (the web portal only) has no other way back (QA).
 * Must not: show or log an address, even its blind index (PII: a
 * suppression is named by its id, and by the customers whose contact
 * address it is); know HTTP.
 */
#ifndef SP_DOMAIN_MAIL_SUPPRESSIONS_H
#define SP_DOMAIN_MAIL_SUPPRESSIONS_H

#include <stddef.h>

#include "core/problem.h"
#include "core/versions.h"
#include "domain/ctx.h"

struct sp_mail_suppression {
    long long id;
    const char *customer_ids_json; /* a JSON array of the customer ids whose contact
                                      address it is (sorted; [] when none is now) */
    long long outbox_id;           /* the mail whose bounce suppressed it (the latest) */
    const char *ticket_id;         /* that mail's ticket (public id); NULL: row deleted */
    const char *dsn_status;        /* that bounce's status code ("5.1.1", sql/085); NULL:
                                      none readable, or a bounce of before it was kept */
    const char *created_at;        /* when that bounce came */
};

/* Newest first, after the id `after` (0: from the newest), at most
 * limit; *next is the id to continue after (0: last page). */
enum sp_rc sp_mail_suppressions_list(struct sp_ctx *ctx, long long after, int limit,
                                     struct sp_mail_suppression **items, size_t *n,
                                     long long *next, struct sp_problem *p);

/* Lifts suppression id: the address is mailed again. SP_NOT_FOUND for an
 * id that is not (or no longer) suppressed. A suppression has no
 * versions (no ETag): if_match naming any is SP_PRECONDITION, only any
 * (no If-Match, or *) lifts. One statement. */
enum sp_rc sp_mail_suppression_lift(struct sp_ctx *ctx, long long id,
                                    struct sp_versions if_match, struct sp_problem *p);

#endif
