/*
 * attachment_harness: what the attachment tests share (API.md §10) — a
 * PNG, creating an attachment, the signed PUT of its bytes, waiting for
 * the scan.
 */
#ifndef SP_T_ATTACHMENT_HARNESS_H
#define SP_T_ATTACHMENT_HARNESS_H

#include <stddef.h>

#include "harness.h"

/* A 1x1 PNG (67 bytes). */
extern const unsigned char sp_t_png[67];

struct sp_t_upload {
    const char *id;
    const char *url;   /* the signed upload path + query */
};

/* PUT of raw bytes to path (a signed URL: no token); status and body. */
long sp_t_put_bytes(const char *path, const void *data, size_t len, const char **body);
/* The same to an absolute URL (a bucket's presigned URL). */
long sp_t_put_url(const char *url, const void *data, size_t len, const char **body);
/* sp_t_put_url with one more request header (NULL: none), e.g. "Expect:"
 * or "Transfer-Encoding: chunked"; *sent (unless NULL): the body bytes
 * curl sent before the answer. */
long sp_t_put_sent(const char *url, const void *data, size_t len, const char *header,
                   long long *sent, const char **body);
/* POST /support/attachments as token; asserts 201 and the shape, and
 * (_new) that the upload URL is ours, not a bucket's. */
struct sp_t_upload sp_t_attachment_post(const char *token, const char *filename, const char *type,
                                        size_t size);
struct sp_t_upload sp_t_attachment_new(const char *token, const char *filename, const char *type,
                                       size_t size);
/* A member of the metadata as token sees it (NULL when null). */
const char *sp_t_attachment_field(const char *token, const char *id, const char *field);
/* GET the metadata as token until its status is not pending (or seconds
 * pass); returns the last status. */
const char *sp_t_attachment_wait(const char *token, const char *id, int seconds);
/* Files of the local attachment directory (SP_TEST_ATTACHMENT_DIR) whose
 * names start with prefix. */
int sp_t_attachment_local_files(const char *prefix);
/* Creates, uploads and waits for a clean file of token's; its id. */
const char *sp_t_attachment_clean(const char *token, const char *filename, const char *type,
                                  const void *data, size_t len);
/* The same for a PNG (screenshot.png). */
const char *sp_t_attachment_clean_png(const char *token);
/* A ticket of customer c with subject whose first message carries
 * attachment id (a clean upload of c's); its public id. */
const char *sp_t_ticket_with_attachment(const struct sp_t_user *c, const char *subject,
                                        const char *id);

#endif
