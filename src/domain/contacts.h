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
/* Stores the customer's contact (insert or refresh), in the caller's
 * transaction. Does nothing when there is nothing to store, and leaves
 * the row alone when the same claims were stored under the same key (every
 * ticket of a returning customer would otherwise rewrite it: fresh nonces). */
enum sp_rc sp_contact_save(struct sp_ctx *ctx, const char *customer_id,
                           const struct sp_contact_sealed *s, struct sp_problem *p);

#endif
