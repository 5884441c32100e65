/*
 * attachment_erase: deleting and redacting attachments. See
 * attachment_erase.h.
 */
#include "domain/attachment_erase.h"

#include "core/arena.h"
#include "core/ids.h"
#include "core/log.h"
#include "db/db.h"
#include "domain/attachment_files.h"
#include "domain/attachment_scan.h"

/* The owner's upload ($2 sub, $3 staff side), locked; deleted when it is
 * attached to nothing (re-checked on the locked row: an attach that
 * committed first wins), its key noted for removal in the same
 * statement. Columns: attached, the key deleted (NULL: none, or kept). */
static struct sp_stmt delete_stmt = SP_STMT(
    "attachment_delete",
    "WITH o AS (SELECT id, (attached_at IS NOT NULL OR message_id IS NOT NULL"
    "   OR chat_message_id IS NOT NULL) AS attached FROM support_attachments"
    "  WHERE id = $1 AND owner_sub = $2 AND (owner_role <> 'customer') = $3::boolean"
    "  FOR UPDATE),"
    " d AS (DELETE FROM support_attachments a USING o WHERE a.id = o.id AND NOT o.attached"
    "  RETURNING a.storage_key),"
    " k AS (INSERT INTO support_attachment_deletions (storage_key)"
    "  SELECT storage_key FROM d WHERE storage_key IS NOT NULL ON CONFLICT DO NOTHING)"
    " SELECT o.attached, (SELECT storage_key FROM d) FROM o",
    3);

/* The element of id in a message's attachments list ($1 the list) as a
 * redacted file is listed: its name replaced, no sha256, redacted. */
#define REDACTED_LIST(list)                                                                 \
    "(SELECT jsonb_agg(CASE WHEN x.e->>'id' = v.id THEN x.e || jsonb_build_object("         \
    "   'filename', 'redacted', 'sha256', NULL, 'redacted', true,"                            \
    "   'redacted_at', support_ts(v.redacted_at)) ELSE x.e END ORDER BY x.ord)"               \
    "  FROM jsonb_array_elements(" list ") WITH ORDINALITY AS x(e, ord))"

/* $1 the id, $2 the agent's sub. Only a row not redacted yet changes (a
 * second redact finds v empty: nothing written). Column: the key
 * forgotten (NULL: no file, or already redacted). */
static struct sp_stmt redact_stmt = SP_STMT(
    "attachment_redact",
    "WITH o AS (SELECT id, storage_key FROM support_attachments"
    "  WHERE id = $1 AND redacted_at IS NULL FOR UPDATE),"
    " v AS (UPDATE support_attachments a SET redacted_at = now(), redacted_by = $2,"
    "   filename = 'redacted', sha256 = NULL, storage_key = NULL,"
    "   status = CASE WHEN a.status = 'pending' THEN 'failed' ELSE a.status END,"
    "   scan_result = CASE WHEN a.status = 'pending' THEN 'redacted' ELSE a.scan_result END"
    "  FROM o WHERE a.id = o.id AND a.redacted_at IS NULL"
    "  RETURNING a.id, a.message_id, a.chat_message_id, a.redacted_at,"
    "   o.storage_key AS old_key),"
    " d AS (INSERT INTO support_attachment_deletions (storage_key)"
    "  SELECT old_key FROM v WHERE old_key IS NOT NULL ON CONFLICT DO NOTHING),"
    " m AS (UPDATE support_ticket_messages m SET attachments = " REDACTED_LIST("m.attachments")
    "  FROM v WHERE m.id = v.message_id AND jsonb_array_length(m.attachments) > 0"
    "  RETURNING m.ticket_id),"
    " c AS (UPDATE support_chat_messages m SET attachments = " REDACTED_LIST("m.attachments")
    "  FROM v WHERE m.id = v.chat_message_id AND jsonb_array_length(m.attachments) > 0"
    "  RETURNING 1),"
    " t AS (UPDATE support_tickets t SET version = t.version + 1 FROM m"
    "  WHERE t.id = m.ticket_id RETURNING t.id),"
    " e AS (INSERT INTO support_ticket_events (ticket_id, event_type, actor_type, performed_by,"
    "   metadata)"
    "  SELECT t.id, 'attachment_redacted', 'agent', $2,"
    "   jsonb_build_object('attachment_id', $1::text) FROM t)"
    " SELECT old_key FROM v",
    2);

/* Removes what key names, now; a failure is logged and left to the
 * cleanup (the key is noted). */
static void
drop(struct sp_ctx *ctx, const struct sp_attachment_files *files, const char *id,
     const char *key)
{
    char err[256];
    if (key == NULL || sp_attachment_drop_stored(ctx->db, ctx->arena, files, key, err,
                                                 sizeof(err)))
        return;
    struct sp_log_line *l = sp_log_begin(SP_LOG_ERROR, "attachment_unlink_failed");
    sp_log_str(l, "attachment_id", id);
    sp_log_str(l, "detail", err);
    sp_log_end(l);
}

/* With a bucket, what a client PUT to id's incoming key and support-scan
 * did not take in yet: no row names it any more (the bucket's lifecycle
 * rule on incoming/ takes it should this fail). */
static void
drop_incoming(struct sp_ctx *ctx, const struct sp_attachment_files *files, const char *id)
{
    char err[256];
    if (files->s3 != NULL)
        (void)sp_attachment_files_remove(files, ctx->arena,
                                         sp_attachment_files_incoming_key(ctx->arena, files, id),
                                         err, sizeof(err));
}

enum sp_rc
sp_attachment_delete(struct sp_ctx *ctx, const struct sp_attachment_files *files,
                     struct sp_party owner, const char *id, struct sp_problem *p)
{
    if (!sp_public_id_valid(id))
        return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such attachment");
    const char *params[3] = {id, owner.sub, owner.staff ? "true" : "false"};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &delete_stmt, params, p);
    if (r == NULL)
        return p->rc;
    if (PQntuples(r) == 0)
        return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such attachment");
    if (sp_db_bool(r, 0, 0))
        return sp_problem_set(p, SP_CONFLICT, "attachment_attached",
                              "the attachment is attached to a message and can no longer be"
                              " deleted; an agent can redact it");
    drop(ctx, files, id, sp_db_str(r, 0, 1));
    drop_incoming(ctx, files, id);
    return SP_OK;
}

enum sp_rc
sp_attachment_redact(struct sp_ctx *ctx, const struct sp_attachment_files *files,
                     const char *agent_sub, const char *id, struct sp_attachment *out,
                     struct sp_problem *p)
{
    if (sp_attachment_get(ctx, id, out, p) != SP_OK)
        return p->rc;
    if (out->redacted_at != NULL)
        return SP_OK;   /* idempotent: the same view, nothing written */
    const char *params[2] = {out->id, agent_sub};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &redact_stmt, params, p);
    if (r == NULL)
        return p->rc;
    if (PQntuples(r) > 0) {
        drop(ctx, files, out->id, sp_db_str(r, 0, 0));
        drop_incoming(ctx, files, out->id);
    }
    return sp_attachment_get(ctx, out->id, out, p);
}
