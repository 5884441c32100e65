/*
 * idempotency: claim/replay of Idempotency-Key rows. See idempotency.h.
 */
#include "domain/idempotency.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/hex.h"
#include "db/db.h"

/* Inserts the key, or takes over a row older than 24 h; returns a row only
 * when this request now owns the key. */
static struct sp_stmt claim_stmt = SP_STMT(
    "idem_claim",
    "INSERT INTO support_idempotency_keys (user_id, key, request_hash)"
    " VALUES ($1, $2, decode($3, 'hex'))"
    " ON CONFLICT (user_id, key) DO UPDATE"
    "   SET request_hash = EXCLUDED.request_hash, status = NULL, location = NULL,"
    "       etag = NULL, response_body = NULL, created_at = now()"
    "   WHERE support_idempotency_keys.created_at < now() - interval '24 hours'"
    " RETURNING 1",
    3);

static struct sp_stmt fetch_stmt = SP_STMT_READ(
    "idem_fetch",
    "SELECT encode(request_hash, 'hex'), status, location, etag, response_body"
    " FROM support_idempotency_keys WHERE user_id = $1 AND key = $2",
    2);

static struct sp_stmt store_stmt = SP_STMT(
    "idem_store",
    "UPDATE support_idempotency_keys"
    " SET status = $3::int, location = $4, etag = $5, response_body = $6"
    " WHERE user_id = $1 AND key = $2",
    6);

enum sp_rc
sp_idem_claim(struct sp_ctx *ctx, const char *user_id, const char *key,
              const unsigned char request_hash[32], enum sp_idem_state *state,
              struct sp_idem_record *replay, struct sp_problem *p)
{
    char hex[65];
    sp_hex_encode(hex, request_hash, 32);
    const char *params[3] = {user_id, key, hex};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &claim_stmt, params, p);
    if (r == NULL)
        return p->rc;
    if (PQntuples(r) == 1) {
        *state = SP_IDEM_NEW;
        return SP_OK;
    }
    r = sp_db_exec(ctx->db, ctx->arena, &fetch_stmt, params, p);
    if (r == NULL)
        return p->rc;
    if (PQntuples(r) == 0 || sp_db_str(r, 0, 1) == NULL)
        return sp_problem_set(p, SP_CONFLICT, "conflict",
                              "a request with this Idempotency-Key is still in progress");
    if (strcmp(sp_db_str(r, 0, 0), hex) != 0) {
        *state = SP_IDEM_MISMATCH;
        return SP_OK;
    }
    *state = SP_IDEM_REPLAY;
    replay->status = (int)sp_db_int(r, 0, 1);
    replay->location = sp_db_str(r, 0, 2);
    replay->etag = sp_db_str(r, 0, 3);
    replay->body = sp_db_str(r, 0, 4);
    return SP_OK;
}

enum sp_rc
sp_idem_store(struct sp_ctx *ctx, const char *user_id, const char *key,
              const struct sp_idem_record *rec, struct sp_problem *p)
{
    char status[16];
    snprintf(status, sizeof(status), "%d", rec->status);
    const char *params[6] = {user_id, key, status, rec->location, rec->etag, rec->body};
    return sp_db_exec(ctx->db, ctx->arena, &store_stmt, params, p) == NULL ? p->rc : SP_OK;
}

/* A replay inside the claimed transaction: the stored answer, or the one
 * cmd->replay rebuilds from the stored Location. */
static enum sp_rc
replay_answer(struct sp_ctx *ctx, const struct sp_idem_command *cmd,
              const struct sp_idem_record *stored, struct sp_idem_record *answer,
              struct sp_problem *p)
{
    if (cmd->replay == NULL) {
        *answer = *stored;
        if (answer->body == NULL)
            answer->body = "";
        return SP_OK;
    }
    if (stored->location == NULL)
        return sp_problem_set(p, SP_ERROR, "internal", "replayed answer without Location");
    if (cmd->replay(ctx, cmd->arg, stored->location, answer, p) != SP_OK)
        return p->rc;
    answer->status = stored->status;
    if (answer->etag == NULL)   /* the rebuilt resource's own, if it has one */
        answer->etag = stored->etag;
    return SP_OK;
}

/* Claims the key; SP_OK with *replayed when an answer is ready. */
static enum sp_rc
claim(struct sp_ctx *ctx, const char *user_id, const char *key, const unsigned char hash[32],
      const struct sp_idem_command *cmd, struct sp_idem_record *answer, bool *replayed,
      struct sp_problem *p)
{
    enum sp_idem_state state;
    struct sp_idem_record stored;
    if (sp_idem_claim(ctx, user_id, key, hash, &state, &stored, p) != SP_OK)
        return p->rc;
    if (state == SP_IDEM_MISMATCH)
        return sp_problem_set(p, SP_INVALID, "idempotency_key_reused",
                              "this Idempotency-Key was used with a different request");
    if (state == SP_IDEM_REPLAY) {
        *replayed = true;
        return replay_answer(ctx, cmd, &stored, answer, p);
    }
    return SP_OK;
}

enum sp_rc
sp_idem_run(struct sp_ctx *ctx, struct sp_party who, const char *key,
            const unsigned char request_hash[32], const struct sp_idem_command *cmd,
            struct sp_idem_record *answer, bool *replayed, struct sp_problem *p)
{
    *replayed = false;
    const char *user_id = sp_party_key(ctx->arena, who);
    if (sp_db_begin(ctx->db, ctx->arena, p) != SP_OK)
        return p->rc;
    if (key != NULL && claim(ctx, user_id, key, request_hash, cmd, answer, replayed, p) != SP_OK)
        goto fail;
    if (!*replayed) {
        if (cmd->create(ctx, cmd->arg, answer, p) != SP_OK)
            goto fail;
        if (key != NULL) {
            /* An answer with a secret keeps only status, Location and ETag. */
            struct sp_idem_record rec = *answer;
            if (cmd->replay != NULL)
                rec.body = "";
            if (sp_idem_store(ctx, user_id, key, &rec, p) != SP_OK)
                goto fail;
        }
    }
    if (sp_db_commit(ctx->db, ctx->arena, p) != SP_OK)
        goto fail;
    return SP_OK;
fail:
    sp_db_rollback(ctx->db, ctx->arena);
    return p->rc;
}
