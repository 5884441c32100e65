/*
 * contacts: customer contact PII from the JWT (name, email, phone) sealed
 * with AES-256-GCM for support_contacts, plus the email blind index
 * (API.md §2). Each ciphertext is bound to its customer and field (AAD
 * "contact:<field>:<customer_id>"), so a value copied to another row or
 * column does not open. Decrypted values exist only in request memory.
 * Must not: log or return PII anywhere but the agent view.
 */
#ifndef SP_CONTACTS_H
#define SP_CONTACTS_H

#include "core/problem.h"
#include "domain/ctx.h"

struct sp_crypto;

struct sp_contact {
    const char *name, *email, *phone;  /* plaintext, NULL when unknown */
    const char *tier;                  /* standard | premium | vip */
};

struct sp_contact_sealed {
    const char *name_enc, *email_enc, *phone_enc;
    const char *email_index;
    const char *tier;
    const char *fingerprint;    /* of the claims and the current key; NULL without keys */
};

void sp_contact_seal(const struct sp_crypto *c, struct sp_arena *a, const char *customer_id,
                     const struct sp_contact *in, struct sp_contact_sealed *out);
/* Fields that do not open (tampered, unknown key) come back NULL. */
void sp_contact_open(const struct sp_crypto *c, struct sp_arena *a, const char *customer_id,
                     const struct sp_contact_sealed *in, struct sp_contact *out);
/* Stores the customer's contact (insert or refresh): the statement, for
 * the statement that writes it in its own round trip (the ticket create):
 * placeholders for the customer id, the sealed fields, the tier and the
 * fingerprint, and a condition (nothing is stored unless it holds).
 * Fresh claims replace stored ones; a claim the token no longer carries
 * keeps the stored value (tokens need not repeat every claim). Writing
 * with the current key also re-encrypts rows of retired keys (lazy
 * rotation, API.md §2). The row is left alone when the same claims were
 * stored under the same key (every ticket of a returning customer would
 * otherwise rewrite it: fresh nonces). A CTE's writes are invisible to the
 * rest of its statement: a join to support_contacts there reads the row
 * as it was before. */
#define SP_CONTACT_UPSERT_SQL(id, name, email, phone, index, tier, fp, cond)                      \
    "INSERT INTO support_contacts (customer_id, name_enc, email_enc, phone_enc, email_index,"       \
    "  tier, claims_fingerprint)"                                                                   \
    " SELECT " id ", " name ", " email ", " phone ", " index ", coalesce(" tier ", 'standard'), " fp \
    " WHERE " cond                                                                                  \
    " ON CONFLICT (customer_id) DO UPDATE SET"                                                      \
    "  name_enc = coalesce(EXCLUDED.name_enc, support_contacts.name_enc),"                          \
    "  email_enc = coalesce(EXCLUDED.email_enc, support_contacts.email_enc),"                       \
    "  phone_enc = coalesce(EXCLUDED.phone_enc, support_contacts.phone_enc),"                       \
    "  email_index = coalesce(EXCLUDED.email_index, support_contacts.email_index),"                 \
    "  tier = coalesce(" tier ", support_contacts.tier),"                                           \
    "  claims_fingerprint = EXCLUDED.claims_fingerprint, updated_at = now()"                        \
    " WHERE EXCLUDED.claims_fingerprint IS NULL"                                                    \
    "    OR support_contacts.claims_fingerprint IS DISTINCT FROM EXCLUDED.claims_fingerprint"

/* The contact stored in a statement of its own (SP_CONTACT_UPSERT_SQL):
 * a chat's start, which has no ticket create to carry it. */
enum sp_rc sp_contact_store(struct sp_ctx *ctx, const char *customer_id,
                            const struct sp_contact_sealed *s, struct sp_problem *p);

#endif
