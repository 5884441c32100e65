/*
 * idempotency: Idempotency-Key records (API.md §1). The key row is claimed
 * inside the caller's transaction, before the resource is created, and
 * filled with the response in the same transaction: a concurrent request
 * with the same key blocks on the row and then sees the finished response,
 * so a replay can never create a second resource.
 * Must not: know HTTP beyond storing a status, Location and body.
 */
#ifndef SP_IDEMPOTENCY_H
#define SP_IDEMPOTENCY_H

#include <stddef.h>

#include "core/problem.h"
#include "domain/ctx.h"

enum sp_idem_state { SP_IDEM_NEW, SP_IDEM_REPLAY, SP_IDEM_MISMATCH };

struct sp_idem_record {
    int status;
    const char *location;      /* may be NULL */
    const char *body;
};

/* Claims (user, key) for a request whose method+path+body hash to
 * request_hash (32 bytes). Must run inside a transaction. Keys older than
 * 24 h are reclaimed. */
enum sp_rc sp_idem_claim(struct sp_ctx *ctx, const char *user_id, const char *key,
                         const unsigned char request_hash[32], enum sp_idem_state *state,
                         struct sp_idem_record *replay, struct sp_problem *p);
/* Stores the response of a claimed key (same transaction). */
enum sp_rc sp_idem_store(struct sp_ctx *ctx, const char *user_id, const char *key,
                         const struct sp_idem_record *rec, struct sp_problem *p);

#endif
