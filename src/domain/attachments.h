/*
 * attachments: files customers and agents upload (API.md §10) — the
 * metadata rows, their rules (allowlisted types, 1 byte to 25 MiB, the
 * owner's access), storing an uploaded file (size and magic-number
 * checks, the move into SUPPORT_ATTACHMENT_DIR, queueing the scan), and
 * attaching clean uploads to messages. Scanning and cleanup are
 * domain/attachment_scan.
 *
 * Lifecycle: created pending and not uploaded; the signed PUT stores the
 * file (uploaded, still pending) and NOTIFYs support_attachment_scan; the
 * scanner makes it clean, infected (file deleted) or failed. Only clean,
 * unattached uploads of the caller can be attached, once: to a ticket
 * message or a chat message (whose attachments follow to the ticket the
 * chat becomes).
 * Must not: know HTTP (signed URLs, headers and the nginx hand-over are
 * api/attachments.c and http/signed_url.c), or read a whole file into
 * memory.
 */
#ifndef SP_ATTACHMENTS_H
#define SP_ATTACHMENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/problem.h"
#include "domain/ctx.h"
#include "domain/party.h"

#define SP_ATTACHMENT_MAX_BYTES (25LL * 1024 * 1024)
/* size's range as a refusal says it, whoever refuses it (the body reader
 * for a number past 64 bits, the domain for the rest). */
#define SP_ATTACHMENT_SIZE_RANGE "must be 1 byte to 25 MiB"
#define SP_ATTACHMENT_FILENAME_MAX 255   /* bytes */
#define SP_ATTACHMENT_ID_MAX 32
#define SP_ATTACHMENTS_PER_MESSAGE 10   /* a ticket or chat message's files, at most */

struct sp_attachment_files;

struct sp_attachment {
    const char *id;
    const char *owner_sub;
    const char *filename;
    const char *content_type;
    long long size;
    const char *status;        /* pending|clean|infected|failed */
    const char *sha256;        /* NULL until uploaded */
    const char *storage_key;   /* file name in the storage directory; NULL until uploaded */
    bool uploaded;
    long long message_id;      /* 0: not attached */
    const char *created_at;
    const char *redacted_at;   /* NULL: not redacted (its file erased by an agent) */
};

struct sp_attachment_new {
    const char *owner_sub;
    const char *owner_role;    /* customer|support_agent|support_admin */
    const char *filename;
    const char *content_type;
    long long size;
    const char *allowed_types; /* SUPPORT_ATTACHMENT_TYPES */
};

/* name as it is kept: valid UTF-8 without the blank characters
 * (sp_utf8_blank: spaces, invisible ones) at its ends, as a file's name
 * is shown and saved; anything else as given, for the checks to refuse.
 * Arena-owned or name. */
const char *sp_attachment_filename_trim(struct sp_arena *a, const char *name);

/* Whether s is a name an attachment may have: 1 to 255 bytes of UTF-8,
 * not blank (only spaces and invisible characters), without control
 * characters or format characters (Unicode Cf: the bidirectional
 * controls U+061C, U+200E/F, U+202A–E, U+2066–9, and U+0600, U+180E,
 * U+206A, U+FFF9...; ZWJ and ZWNJ only between two visible characters),
 * '/' or '\\', not "." or "..". A name holding a bidirectional control
 * is not trimmed (sp_attachment_filename_trim), so this refuses it. */
bool sp_attachment_filename_ok(const char *s);

/* The name a file of the stored media type is served under: filename
 * itself when its extension (after the last '.', any case) is one of the
 * type's, else filename + "." + the type's usual extension ("photo.html"
 * as image/gif: "photo.html.gif"), so a saved file opens as what it was
 * checked to be. A type outside the default list: its subtype as the
 * extension when that is 1-8 of [a-z0-9], else filename as given.
 * Arena-owned or filename. */
const char *sp_attachment_download_name(struct sp_arena *a, const char *filename,
                                        const char *type);

/* The Content-Type a file of the stored type is served with from a
 * bucket, which cannot add nosniff or a sandboxing CSP: text/\* other
 * than text/plain and text/csv, XML and any +xml type (SVG, XHTML) as
 * application/octet-stream, which no browser renders (a type configured
 * outside the default list); anything else as stored. Static or type. */
const char *sp_attachment_bucket_type(const char *type);

/* Adds a field error for each of in's metadata a create refuses:
 * filename (as sp_attachment_filename_trim keeps it) too_long (over
 * SP_ATTACHMENT_FILENAME_MAX bytes, in whatever characters) or invalid
 * (blank, or not sp_attachment_filename_ok), content_type
 * unsupported_type (the message names the allowed types), size
 * out_of_range. A NULL filename or content_type,
 * and the size unless size_given, are not looked at: a caller that could
 * not read them has reported them, and the others are still checked, so
 * one 422 lists every fault (API.md §1). Returns the content type as it
 * is kept — its media type, lower-cased, parameters dropped: "Text/Plain;
 * charset=utf-8" is text/plain — arena-owned; NULL when refused or not
 * given. */
const char *sp_attachment_check(struct sp_arena *a, const struct sp_attachment_new *in,
                                bool size_given, struct sp_problem *p);
/* Checks the metadata (sp_attachment_check, every field given) and
 * stores a pending row with a fresh random id, its name trimmed
 * (sp_attachment_filename_trim). Runs inside the caller's
 * transaction when there is one (the create protocol). */
enum sp_rc sp_attachment_create(struct sp_ctx *ctx, const struct sp_attachment_new *in,
                                struct sp_attachment *out, struct sp_problem *p);
/* The row, for whoever may see it: agents (agent true: staff see every
 * upload), a customer sub its own (a customer's upload: staff's with the
 * same sub are another person's) and those publicly attached to its
 * tickets or to messages of its chats; anyone else SP_NOT_FOUND, as for
 * a missing id. */
enum sp_rc sp_attachment_get_for(struct sp_ctx *ctx, const char *id, const char *sub,
                                 bool agent, struct sp_attachment *out, struct sp_problem *p);
/* The row by id with no access rule: for callers holding a verified
 * capability (a signed URL). */
enum sp_rc sp_attachment_get(struct sp_ctx *ctx, const char *id, struct sp_attachment *out,
                             struct sp_problem *p);

/* Stores the upload of a (not yet uploaded) at temp_path, a file nginx
 * wrote: 409 already_uploaded, 422 size_mismatch when its size is not the
 * declared one, 422 type_mismatch when its bytes are not of the declared
 * type; else moves it into dir under a fresh storage key, records its
 * sha256 and queues the scan. out is the row after the upload. */
enum sp_rc sp_attachment_store(struct sp_ctx *ctx, const struct sp_attachment *a,
                               const char *dir, const char *temp_path,
                               struct sp_attachment *out, struct sp_problem *p);
/* The checks of an upload open as fd: 422 size_mismatch, 422
 * type_mismatch; SP_OK with its sha256 (hex) in sha. */
enum sp_rc sp_attachment_check_upload(struct sp_ctx *ctx, const struct sp_attachment *a, int fd,
                                      char sha[65], struct sp_problem *p);
/* Asks the scanner to look for id's upload now (a bucket's client asking
 * for the status after its PUT: nobody else tells us it happened). */
enum sp_rc sp_attachment_look_now(struct sp_ctx *ctx, const char *id, struct sp_problem *p);
/* Records that a's checked bytes are stored under key (a file name or an
 * object key) and queues the scan: 409 already_uploaded when another
 * upload was recorded first. out is the row after it. */
enum sp_rc sp_attachment_record_upload(struct sp_ctx *ctx, const struct sp_attachment *a,
                                       const char *sha, const char *key,
                                       struct sp_attachment *out, struct sp_problem *p);

/* The type a file whose declaration is a guess (a mail's part: most
 * mail programs call any file application/octet-stream) is kept as: the
 * declared type when allowed (SUPPORT_ATTACHMENT_TYPES) and len bytes of
 * data are of it, else the type the bytes are when that is allowed; NULL
 * when neither. */
const char *sp_attachment_type_for(struct sp_ctx *ctx, const char *allowed_types,
                                   const char *declared, const void *data, size_t len);

/* Inside the caller's transaction: keeps len bytes of data (a file that
 * came by mail) as an upload of in->owner_sub — the metadata checked as
 * sp_attachment_create does (in->size is len); in the directory the
 * bytes are written under a storage key, checked as an upload is,
 * recorded and queued for the scan; with a bucket they are PUT to the
 * row's incoming key, as a client's presigned PUT would be, for
 * support-scan to take in, check and scan like any upload (woken by a
 * NOTIFY at commit). out is the row,
 * pending. A rollback leaves bytes no row names: the directory's orphan
 * sweep, or the bucket's lifecycle rule on incoming/, removes them. */
enum sp_rc sp_attachment_keep_bytes(struct sp_ctx *ctx, const struct sp_attachment_files *files,
                                    const struct sp_attachment_new *in, const void *data,
                                    size_t len, struct sp_attachment *out,
                                    struct sp_problem *p);

/* Inside the caller's transaction (ticket create, replies): links the
 * clean, unattached uploads ids[0..n) of owner (its sub and its side:
 * a customer's uploads are never a staff member's) to message_id and
 * stores their metadata in the message; *json is that metadata (a JSON
 * array). Any id that is not such an upload of the caller: 422
 * validation_failed with the field error attachments[i] saying why
 * (unknown_attachment for none of the caller's, attachment_not_ready,
 * attachment_in_use, ...: API.md §10 Attaching), nothing attached; an
 * id listed again (ids canonical, sp_public_id_read): the item's error
 * attachments[i] duplicate, with the other ids checked as
 * sp_attachments_check does. n = 0 changes nothing (*json "[]"). */
enum sp_rc sp_attachments_attach(struct sp_ctx *ctx, struct sp_party owner,
                                 const char *const *ids, size_t n, long long message_id,
                                 const char **json, struct sp_problem *p);

/* The same for uploads kept from a mail (sp_attachment_keep_bytes), which
 * may still be pending: they are listed with their status, which the
 * scanner's verdict changes in the message too (they are served only
 * once clean, like any attachment). */
enum sp_rc sp_attachments_attach_unscanned(struct sp_ctx *ctx, struct sp_party owner,
                                           const char *const *ids, size_t n,
                                           long long message_id, const char **json,
                                           struct sp_problem *p);

/* The same for a chat message (API.md §7, frame field `attachments`),
 * inside the caller's transaction (the message's own). */
enum sp_rc sp_attachments_attach_chat(struct sp_ctx *ctx, struct sp_party owner,
                                      const char *const *ids, size_t n,
                                      long long chat_message_id, const char **json,
                                      struct sp_problem *p);
/* Only on the way to a 422 (p already holds the body's field errors):
 * whether sp_attachments_attach would take ids[0..n) of owner, asked
 * without attaching; when not, p gets each refused item's field error
 * attachments[i] too, as the attach gives it (and duplicate for an id listed
 * again), so one 422 lists it with the rest (API.md §1).
 * A lookup that fails adds nothing: the 422 stands, the write says it on
 * the next try. n = 0 adds nothing. */
void sp_attachments_check(struct sp_ctx *ctx, struct sp_party owner, const char *const *ids,
                          size_t n, struct sp_problem *p);
/* Inside the caller's transaction (a chat becoming a ticket): the
 * attachments of chat session_id's messages follow to the ticket message
 * message_id (linked to it and listed in it, in chat order, after those
 * it has already); *json is the message's whole list. */
enum sp_rc sp_attachments_follow_chat(struct sp_ctx *ctx, long long session_id,
                                      long long message_id, const char **json,
                                      struct sp_problem *p);

/* The libmagic MIME type of the file at path (first bytes only), or NULL
 * when it cannot be read; and whether it matches a declared type. */
const char *sp_attachment_sniff(struct sp_ctx *ctx, const char *path);
/* Loads libmagic's database now (it is kept for the process): called at
 * start-up, so the first upload a worker stores does not pay for it and
 * forked workers share it. false when it cannot be loaded (logged). */
bool sp_attachment_sniffer_load(void);
bool sp_attachment_type_matches(const char *declared, const char *sniffed);

enum sp_attachment_match {
    SP_ATTACHMENT_MATCH,
    SP_ATTACHMENT_MISMATCH,
    SP_ATTACHMENT_NOT_UTF8,   /* declared text, bytes not UTF-8 (UTF-16, Latin-1) */
    SP_ATTACHMENT_BINARY,     /* declared text, bytes neither UTF-8 nor text to libmagic */
};
/* Whether a file whose first len bytes are head (whole: all of it) and
 * which libmagic calls sniffed is of the declared type: any text/\* must
 * be UTF-8 (it is served as its media type alone, read as UTF-8; bytes
 * that are not and that libmagic calls no text are binary); then
 * sp_attachment_type_matches, or for text/plain and text/csv, UTF-8
 * without control characters but tab, CR and LF whatever libmagic says
 * (it has no text verdict for "a" or "\n"). */
enum sp_attachment_match sp_attachment_bytes_match(const char *declared, const char *sniffed,
                                                   const char *head, size_t len, bool whole);

#endif
