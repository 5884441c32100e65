/*
 * idempotency: Idempotency-Key records (API.md §1). The key row is claimed
 * inside the caller's transaction, before the resource is created, and
 * filled with the response in the same transaction: a concurrent request
 * with the same key blocks on the row and then sees the finished response,
 * so a replay can never create a second resource.
 * Must not: know HTTP beyond storing a status, Location, ETag and body.
 */
#ifndef SP_IDEMPOTENCY_H
#define SP_IDEMPOTENCY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/problem.h"
#include "domain/ctx.h"
#include "domain/party.h"

enum sp_idem_state { SP_IDEM_NEW, SP_IDEM_REPLAY, SP_IDEM_MISMATCH };

struct sp_idem_record {
    int status;
    const char *location;      /* may be NULL */
    const char *etag;          /* may be NULL */
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

/* A creating command and how its answer is kept. create() runs the
 * command and fills the answer (status, Location, ETag, body); it must not open
 * a transaction of its own. replay (NULL: the stored answer is replayed as
 * it is) rebuilds the answer of a replay from the stored Location, for
 * answers that carry a secret shown once: only status, Location and ETag
 * are then stored with the key. The replay may set answer->etag (the
 * rebuilt resource's own version); else the stored ETag is answered. */
struct sp_idem_command {
    enum sp_rc (*create)(struct sp_ctx *ctx, void *arg, struct sp_idem_record *answer,
                         struct sp_problem *p);
    enum sp_rc (*replay)(struct sp_ctx *ctx, void *arg, const char *location,
                         struct sp_idem_record *answer, struct sp_problem *p);
    void *arg;
};

/* Runs cmd under the Idempotency-Key (NULL: none) of who in one
 * transaction that this function owns (API.md §1). Keys are who's: a
 * customer and a staff member with the same sub never share one
 * (sp_party_key is the user of the key row). A new key runs the
 * command and keeps its answer with the key; the key of a finished
 * request with the same request_hash runs nothing and answers the first
 * answer (*replayed); the key with another request is 422
 * idempotency_key_reused. */
enum sp_rc sp_idem_run(struct sp_ctx *ctx, struct sp_party who, const char *key,
                       const unsigned char request_hash[32], const struct sp_idem_command *cmd,
                       struct sp_idem_record *answer, bool *replayed, struct sp_problem *p);

#endif
