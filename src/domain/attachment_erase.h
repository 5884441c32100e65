/*
 * attachment_erase: taking a file back (docs/API.md §10 "Deleting and
 * redacting") — its owner deleting an upload attached to nothing yet (a
 * passport scan picked by mistake), and an agent redacting any attachment
 * (the row stays, its bytes are erased). Both forget the stored key in
 * the statement that changes the row, noting it in
 * support_attachment_deletions (sql/049), then remove the bytes at once
 * through sp_attachment_drop_stored, the cleanup's own way: a removal
 * that fails is logged and left to attachment-cleanup.
 * Must not: know HTTP.
 */
#ifndef SP_ATTACHMENT_ERASE_H
#define SP_ATTACHMENT_ERASE_H

#include "core/problem.h"
#include "domain/attachments.h"
#include "domain/ctx.h"
#include "domain/party.h"

/* Deletes owner's upload id (its sub and side, as attaching counts
 * them), its row and its bytes (with a bucket, the incoming object too,
 * should a client's PUT have landed): SP_NOT_FOUND for no such upload
 * of owner's (another's, the other side's), SP_CONFLICT
 * attachment_attached when it is attached to a message. */
enum sp_rc sp_attachment_delete(struct sp_ctx *ctx, const struct sp_attachment_files *files,
                                struct sp_party owner, const char *id, struct sp_problem *p);

/* Redacts attachment id for agent_sub, in one statement: the row's name
 * becomes "redacted", its sha256 and storage key are forgotten, a
 * pending one is failed (its bytes will never be scanned), each message
 * listing it (ticket, chat) lists it so, and the ticket whose message
 * lists it gets an attachment_redacted event (actor the agent) and a new
 * version; then its bytes are removed. Redacting it again changes
 * nothing. out is the row after it; SP_NOT_FOUND when there is none. */
enum sp_rc sp_attachment_redact(struct sp_ctx *ctx, const struct sp_attachment_files *files,
                                const char *agent_sub, const char *id,
                                struct sp_attachment *out, struct sp_problem *p);

#endif
