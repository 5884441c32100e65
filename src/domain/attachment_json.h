/*
 * attachment_json: an attachment's metadata (API.md §10) as every answer
 * lists it — GET /support/attachments/:id and its create and upload, and
 * the attachments of a ticket or chat message (views, replies, frames,
 * the chat history) — with the one JSON writer, in one member order. A
 * message stores its list as jsonb (its keys reordered, ", " and ": "
 * between them, QA): that text is read here and written again, never
 * passed through.
 * Must not: know HTTP (the download URL is signed by the caller), or
 * read the database.
 */
#ifndef SP_ATTACHMENT_JSON_H
#define SP_ATTACHMENT_JSON_H

struct sp_attachment;
struct sp_jw;

/* A download link of the metadata (the GET's): its URL and its expiry
 * (RFC 3339), NULL each for none. */
struct sp_attachment_link {
    const char *url;
    const char *expires_at;
};

/* The metadata's members, inside an object the caller opened: id,
 * filename, content_type, size, sha256, status, created_at, with link
 * download_url and download_expires_at (link NULL: neither member, as in
 * a message's list), then redacted and redacted_at. */
void sp_attachment_json_members(struct sp_jw *w, const struct sp_attachment *a,
                                const struct sp_attachment_link *link);

/* Member name: the array of a message's stored attachments (json, the
 * jsonb text of its list; NULL: none), each item as
 * sp_attachment_json_members writes it without a link. A text that is
 * no such list (never stored by us) is written as []. */
void sp_attachment_json_list(struct sp_jw *w, const char *name, const char *json);

#endif
