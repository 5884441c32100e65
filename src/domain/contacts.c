/*
 * contacts: sealing, opening and storing contact PII. See contacts.h.
 */
#include "domain/contacts.h"

#include <stddef.h>
#include <string.h>

#include "core/arena.h"
#include "core/crypto.h"
#include "db/db.h"

static const char *
aad(struct sp_arena *a, const char *field, const char *customer_id)
{
    return sp_arena_sprintf(a, "contact:%s:%s", field, customer_id);
}

static const char *
seal(const struct sp_crypto *c, struct sp_arena *a, const char *field, const char *customer_id,
     const char *plain)
{
    if (c == NULL || plain == NULL || *plain == '\0')
        return NULL;
    return sp_crypto_encrypt(c, a, plain, strlen(plain), aad(a, field, customer_id));
}

static const char *
open_field(const struct sp_crypto *c, struct sp_arena *a, const char *field,
           const char *customer_id, const char *sealed)
{
    if (c == NULL || sealed == NULL)
        return NULL;
    return sp_crypto_decrypt(c, a, sealed, aad(a, field, customer_id));
}

/* The sealed fields, each with the name its AAD binds it to: sealing and
 * opening walk this one list, so a field never opens under another name
 * than it was sealed with. Offsets of its member in each struct. */
static const struct {
    const char *field;
    size_t plain, sealed;
} sealed_fields[] = {
    {"name", offsetof(struct sp_contact, name), offsetof(struct sp_contact_sealed, name_enc)},
    {"email", offsetof(struct sp_contact, email), offsetof(struct sp_contact_sealed, email_enc)},
    {"phone", offsetof(struct sp_contact, phone), offsetof(struct sp_contact_sealed, phone_enc)},
};
#define NSEALED (sizeof(sealed_fields) / sizeof(sealed_fields[0]))

/* The string member at offset off of the struct at s: its value, its slot. */
static const char *
value_at(const void *s, size_t off)
{
    return *(const char *const *)((const char *)s + off);
}

static const char **
slot_at(void *s, size_t off)
{
    return (const char **)((char *)s + off);
}

void
sp_contact_seal(const struct sp_crypto *c, struct sp_arena *a, const char *customer_id,
                const struct sp_contact *in, struct sp_contact_sealed *out)
{
    for (size_t i = 0; i < NSEALED; i++)
        *slot_at(out, sealed_fields[i].sealed) =
            seal(c, a, sealed_fields[i].field, customer_id, value_at(in, sealed_fields[i].plain));
    out->email_index = c != NULL && in->email != NULL ? sp_crypto_email_index(c, a, in->email)
                                                      : NULL;
    out->tier = in->tier;
    /* An address whose index is no longer the one it had before the
     * canonical form (a non-ASCII one) adds to the claims what its index
     * is over: a row stored before is sealed again, with the new index, on
     * the customer's next request (docs/API.md §2). */
    const char *claims[5] = {in->name, in->email, in->phone, in->tier, "email_index:canonical"};
    const char *legacy = out->email_index ? sp_crypto_email_index_legacy(c, a, in->email) : NULL;
    size_t n = legacy != NULL && strcmp(legacy, out->email_index) != 0 ? 5 : 4;
    out->fingerprint = c != NULL ? sp_crypto_fingerprint(c, a, claims, n) : NULL;
}

void
sp_contact_open(const struct sp_crypto *c, struct sp_arena *a, const char *customer_id,
                const struct sp_contact_sealed *in, struct sp_contact *out)
{
    for (size_t i = 0; i < NSEALED; i++)
        *slot_at(out, sealed_fields[i].plain) =
            open_field(c, a, sealed_fields[i].field, customer_id,
                       value_at(in, sealed_fields[i].sealed));
    out->tier = in->tier ? in->tier : "standard";
}

static struct sp_stmt store_stmt = SP_STMT(
    "contact_store", SP_CONTACT_UPSERT_SQL("$1", "$2", "$3", "$4", "$5", "$6", "$7", "true"), 7);

enum sp_rc
sp_contact_store(struct sp_ctx *ctx, const char *customer_id, const struct sp_contact_sealed *s,
                 struct sp_problem *p)
{
    const char *params[7] = {customer_id, s->name_enc, s->email_enc, s->phone_enc,
                             s->email_index, s->tier, s->fingerprint};
    return sp_db_exec(ctx->db, ctx->arena, &store_stmt, params, p) != NULL ? SP_OK : p->rc;
}
