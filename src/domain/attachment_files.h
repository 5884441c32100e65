/*
 * attachment_files: where the bytes of attachments live (API.md §10) —
 * a directory (SUPPORT_ATTACHMENT_DIR, the default; nginx writes uploads
 * and serves downloads) or an S3-compatible bucket (SUPPORT_S3_BUCKET;
 * clients upload and download with presigned URLs). The scanner and the
 * cleanup read and remove bytes through here, whichever holds them.
 * Must not: know HTTP, SQL or the rows' rules (domain/attachments).
 */
#ifndef SP_ATTACHMENT_FILES_H
#define SP_ATTACHMENT_FILES_H

#include <stdbool.h>
#include <stddef.h>

struct sp_arena;
struct sp_s3;

struct sp_attachment_files {
    const char *dir;           /* the directory; with s3, where fetched copies live while read */
    const struct sp_s3 *s3;    /* NULL: the directory holds the attachments */
    const char *prefix;        /* s3: the objects' key prefix */
};

/* The store the settings name (SUPPORT_S3_BUCKET, else
 * SUPPORT_ATTACHMENT_DIR); s3 is where its bucket settings are kept (out
 * points to it and into c). false with a message, also logged
 * (config_invalid), for incomplete S3 settings. */
struct sp_config;
bool sp_attachment_files_from_config(const struct sp_config *c, struct sp_s3 *s3,
                                     struct sp_attachment_files *out, char *err, size_t errlen);
/* The bucket's two keys of attachment id. Clients PUT to the incoming
 * key (prefix + "incoming/" + id) with a presigned URL they keep until it
 * expires, so its object may change after it was checked: the checked
 * bytes are stored by us under a key no URL can write (prefix + id + "."
 * + random), and the incoming object is deleted. A bucket lifecycle rule
 * on prefix + "incoming/" removes what a client PUTs again later. */
const char *sp_attachment_files_incoming_key(struct sp_arena *a,
                                             const struct sp_attachment_files *f, const char *id);
const char *sp_attachment_files_stored_key(struct sp_arena *a,
                                           const struct sp_attachment_files *f, const char *id);
/* Whether name is a stored key's name in the directory (no prefix): an
 * attachment id, '.', and the random part stored_key gives it. The
 * cleanup deletes no other file of the directory (someone else's, or a
 * directory set wrong, is never ours to delete). */
bool sp_attachment_files_stored_name(const char *name);
/* Stores size bytes of fd (from its start) under key in the bucket. */
bool sp_attachment_files_put(const struct sp_attachment_files *f, const char *key, int fd,
                             long long size, const char *content_type, char *err,
                             size_t errlen);
/* The bytes stored under key, open for reading from their start: the
 * file itself, or (s3) a fetched copy in an already unlinked file of dir
 * (at most max bytes). -1 with err when they cannot be had; *missing
 * tells "not there" (no such file or object) from a failure to read. */
int sp_attachment_files_open(const struct sp_attachment_files *f, const char *key,
                             long long max, bool *missing, char *err, size_t errlen);
/* Removes what key names; one that is already gone counts as removed. */
bool sp_attachment_files_remove(const struct sp_attachment_files *f, struct sp_arena *a,
                                const char *key, char *err, size_t errlen);

#endif
