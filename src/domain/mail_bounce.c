/*
 * mail_bounce: a DSN's failed mail of ours marked failed (see the header).
 */
#include "domain/mail_bounce.h"

#include <string.h>

#include "core/arena.h"
#include "core/crypto.h"
#include "db/db.h"
#include "domain/mail_thread.h"
#include "domain/notifications.h"

/* $1 the outbox row, $2 the blind indexes of the failed recipients (all
 * of each, sp_crypto_email_indexes, as every lookup by email: a contact
 * stored before the canonical form holds a legacy one), $4 those of the
 * ones that failed hard and $5 their status codes (one each, "" for
 * none): the row when it is a customer's mail to one of them, locked;
 * made failed when it is sent, with its ticket's event
 * (notification_failed, written by the INSERT support-dispatch uses for a
 * row it gives up). A hard failure suppresses the address as the contact
 * stores it (its index, sql/081) with its status code (sql/085): a
 * repeat of the DSN too, since the address is no better for it, and a
 * later bounce's code replaces the earlier's. */
enum { BOUNCE_TICKET, BOUNCE_MARKED, BOUNCE_SUPPRESSED };
static struct sp_stmt bounce_stmt = SP_STMT(
    "mail_bounce",
    "WITH hit AS ("
    "  SELECT o.id, t.public_id, ct.email_index, ct.email_index = ANY ($4::text[]) AS hard,"
    "   (SELECT nullif(f.status, '') FROM unnest($4::text[], $5::text[]) AS f(i, status)"
    "    WHERE f.i = ct.email_index ORDER BY f.status DESC LIMIT 1) AS dsn_status"
    "  FROM support_outbox o"
    "  JOIN support_tickets t ON t.id = o.ticket_id"
    "  JOIN support_contacts ct ON ct.customer_id = coalesce(o.recipient, t.customer_id)"
    "  WHERE o.id = $1::bigint AND o.kind = 'notification' AND o.channel = 'email'"
    "   AND ct.email_index = ANY ($2::text[])"
    "   AND (NOT $3::boolean OR " SP_MAIL_THREAD_SENT_UNSEALED("o") ")"
    "  FOR UPDATE OF o"
    "), u AS ("
    "  UPDATE support_outbox s SET status = 'failed', last_error = 'bounced'"
    "  FROM hit WHERE s.id = hit.id AND s.status = 'sent'"
    "  RETURNING s.id, s.ticket_id, s.kind, s.channel, s.recipient, s.event_type, s.status,"
    "   s.last_error"
    "), e AS (" SP_NOTIFICATION_FAILED_EVENT("u") "), sup AS ("
    "  INSERT INTO support_mail_suppressions (email_index, outbox_id, dsn_status)"
    "  SELECT email_index, id, dsn_status FROM hit WHERE hard"
    "  ON CONFLICT (email_index) DO UPDATE SET outbox_id = EXCLUDED.outbox_id,"
    "   dsn_status = EXCLUDED.dsn_status, created_at = now()"
    "  RETURNING 1"
    ")"
    " SELECT hit.public_id, EXISTS (SELECT 1 FROM u), EXISTS (SELECT 1 FROM sup) FROM hit",
    5);

/* $1 the blind indexes of an address mail came from: no longer suppressed. */
static struct sp_stmt lift_stmt = SP_STMT(
    "mail_bounce_lift",
    "DELETE FROM support_mail_suppressions WHERE email_index = ANY ($1::text[])", 1);

/* The outbox row the DSN's returned mail, else its In-Reply-To, else its
 * References (newest first) name on our domain; 0 when none does.
 * *legacy: named by its old, guessable form (sp_mail_thread_outbox). */
static long long
outbox_row(const struct sp_mail_in *m, const char *domain, const struct sp_token_key *k,
           bool *legacy)
{
    long long id;
    if (sp_mail_thread_outbox(m->dsn.original_id, domain, k, &id, legacy) ||
        sp_mail_thread_outbox(m->in_reply_to, domain, k, &id, legacy))
        return id;
    for (size_t i = m->nreferences; i > 0; i--)
        if (sp_mail_thread_outbox(m->references[i - 1], domain, k, &id, legacy))
            return id;
    return 0;
}

enum sp_rc
sp_mail_bounce_take(struct sp_ctx *ctx, const struct sp_crypto *crypto, const char *own_address,
                    const struct sp_mail_in *m, struct sp_mail_bounce *out,
                    struct sp_problem *p)
{
    struct sp_arena *a = ctx->arena;
    const char *at = own_address != NULL ? strrchr(own_address, '@') : NULL;
    *out = (struct sp_mail_bounce){.why = "bounce_not_failed"};
    if (!m->dsn.failed)
        return SP_OK;
    out->why = "bounce_unmatched";
    /* The sealed Message-IDs' key, as support-dispatch derives it. */
    struct sp_token_key key;
    bool keyed = sp_mail_thread_key(crypto, &key);
    bool legacy = false;
    long long row = at != NULL ? outbox_row(m, at + 1, keyed ? &key : NULL, &legacy) : 0;
    explicit_bzero(&key, sizeof(key));
    const char *index[SP_CRYPTO_EMAIL_INDEXES * SP_MAIL_DSN_RECIPIENTS];
    const char *hard[SP_CRYPTO_EMAIL_INDEXES * SP_MAIL_DSN_RECIPIENTS];
    const char *status[SP_CRYPTO_EMAIL_INDEXES * SP_MAIL_DSN_RECIPIENTS];
    size_t n = 0, nhard = 0;
    for (size_t i = 0; i < m->dsn.nfailed_to; i++) {
        size_t k = sp_crypto_email_indexes(crypto, a, m->dsn.failed_to[i], index + n);
        for (size_t j = 0; m->dsn.failed_hard[i] && j < k; j++) {
            status[nhard] = m->dsn.status[i] != NULL ? m->dsn.status[i] : "";
            hard[nhard++] = index[n + j];
        }
        n += k;
    }
    if (row == 0 || n == 0)
        return SP_OK;
    const char *params[5] = {sp_arena_sprintf(a, "%lld", row), sp_db_text_array(a, index, n),
                             legacy ? "true" : "false", sp_db_text_array(a, hard, nhard),
                             sp_db_text_array(a, status, nhard)};
    PGresult *r = sp_db_exec(ctx->db, a, &bounce_stmt, params, p);
    if (r == NULL)
        return p->rc;
    if (PQntuples(r) == 0)
        return SP_OK;
    out->ticket = sp_arena_strdup(a, sp_db_str(r, 0, BOUNCE_TICKET));
    out->outbox_id = row;
    out->why = sp_db_bool(r, 0, BOUNCE_MARKED) ? "bounced" : "bounce_not_sent";
    out->suppressed = sp_db_bool(r, 0, BOUNCE_SUPPRESSED);
    return SP_OK;
}

enum sp_rc
sp_mail_bounce_lift(struct sp_ctx *ctx, const char *const *index, size_t n,
                    struct sp_problem *p)
{
    if (n == 0)
        return SP_OK;
    const char *params[1] = {sp_db_text_array(ctx->arena, index, n)};
    return sp_db_exec(ctx->db, ctx->arena, &lift_stmt, params, p) != NULL ? SP_OK : p->rc;
}
