/*
 * attachments: metadata rows, storing uploads, attaching. See
 * attachments.h.
 *
 * The uploaded file arrives as a file nginx wrote
 * (client_body_in_file_only): it is checked through its descriptor
 * (fstat for the size, libmagic on its first bytes, SHA-256 in 64 KiB
 * pieces) and renamed into the storage directory, so a worker's memory
 * never holds the upload. The storage key is the id plus a random
 * suffix: two racing uploads of one id never write the same file, and
 * the one that loses the row update deletes its own copy.
 */
#include "domain/attachments.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <magic.h>

#include "core/arena.h"
#include "core/ascii.h"
#include "core/crypto.h"
#include "core/fd.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/media_type.h"
#include "core/utf8.h"
#include "db/db.h"
#include "domain/attachment_files.h"

#define SNIFF_BYTES (64 * 1024)   /* magic numbers and a text verdict need far less */

#define ATTACHMENT_COLUMNS(C, SEP)                                                           \
    C(AT_ID, "a.id", str, id) SEP C(AT_OWNER, "a.owner_sub", str, owner_sub)                 \
    SEP C(AT_FILENAME, "a.filename", str, filename)                                          \
    SEP C(AT_TYPE, "a.content_type", str, content_type)                                      \
    SEP C(AT_SIZE, "a.size", int, size) SEP C(AT_STATUS, "a.status", str, status)            \
    SEP C(AT_SHA256, "a.sha256", str, sha256)                                                \
    SEP C(AT_STORAGE, "a.storage_key", str, storage_key)                                     \
    SEP C(AT_UPLOADED, "a.uploaded_at IS NOT NULL", bool, uploaded)                          \
    SEP C(AT_MESSAGE, "coalesce(a.message_id, 0)", int, message_id)                          \
    SEP C(AT_CREATED, "support_ts(a.created_at)", str, created_at)                           \
    SEP C(AT_REDACTED, "support_ts(a.redacted_at)", str, redacted_at)
#define ATTACHMENT_COLS ATTACHMENT_COLUMNS(SP_COL_SQL, ", ")
enum attachment_column { ATTACHMENT_COLUMNS(SP_COL_ENUM, ) AT_COUNT };

static struct sp_stmt create_stmt = SP_STMT(
    "attachment_create",
    "INSERT INTO support_attachments AS a (id, owner_sub, owner_role, filename, content_type,"
    " size) VALUES ($1, $2, $3, $4, $5, $6::bigint) RETURNING " ATTACHMENT_COLS,
    6);

/* Agents see every attachment; a customer their own (a customer's: an
 * agent with the same sub is someone else) and those publicly attached
 * to their tickets or to messages of their chats. */
static struct sp_stmt get_for_stmt = SP_STMT_READ(
    "attachment_get_for",
    "SELECT " ATTACHMENT_COLS " FROM support_attachments a"
    " WHERE a.id = $1 AND ($3::boolean OR (a.owner_sub = $2 AND a.owner_role = 'customer')"
    " OR EXISTS ("
    "  SELECT 1 FROM support_ticket_messages m JOIN support_tickets t ON t.id = m.ticket_id"
    "  WHERE m.id = a.message_id AND NOT m.is_internal AND t.customer_id = $2)"
    " OR EXISTS (SELECT 1 FROM support_chat_messages cm"
    "  JOIN support_chat_sessions s ON s.id = cm.session_id"
    "  WHERE cm.id = a.chat_message_id AND s.customer_id = $2))",
    3);

/* A row still waiting for its upload is looked at by the scanner's next
 * pass, which the NOTIFY starts now; at most once a second per row
 * (sql/072): a client polling in a loop would otherwise make the scanner
 * request the bucket, and this statement write the row, on every poll. */
static struct sp_stmt look_now_stmt = SP_STMT(
    "attachment_look_now",
    "UPDATE support_attachments SET next_scan_at = NULL, look_asked_at = now()"
    " WHERE id = $1 AND uploaded_at IS NULL AND status = 'pending' AND redacted_at IS NULL"
    "   AND (look_asked_at IS NULL OR look_asked_at <= now() - interval '1 second')"
    " RETURNING pg_notify('support_attachment_scan', id)",
    1);

static struct sp_stmt get_stmt = SP_STMT_READ(
    "attachment_get", "SELECT " ATTACHMENT_COLS " FROM support_attachments a WHERE a.id = $1",
    1);

/* The scanner is woken by the notification (support-scan --loop). */
static struct sp_stmt uploaded_stmt = SP_STMT(
    "attachment_uploaded",
    "UPDATE support_attachments a SET uploaded_at = now(), sha256 = $2, storage_key = $3,"
    " next_scan_at = NULL"
    " WHERE a.id = $1 AND a.uploaded_at IS NULL AND a.redacted_at IS NULL"
    " RETURNING " ATTACHMENT_COLS ", pg_notify('support_attachment_scan', a.id)",
    3);

/* One statement: link the rows, count them, copy their metadata into the
 * message (in the order the caller listed them). An upload is attached
 * once, to a ticket message or a chat message (attached_at), by its
 * owner: $3 its sub, $4 its side (staff: support_agent or support_admin,
 * one person across a promotion). attached_at IS NULL is also what keeps
 * an attach and attachment-cleanup's delete of an unattached upload from
 * both succeeding: whichever locks the row first wins, the other finds
 * it changed (re-checked) or gone. */
/* The uploads of the owner whose sub is parameter sub and whose side
 * (staff or not) is parameter staff, attached to nothing yet. */
#define OWNED_FREE(sub, staff)                                                                \
    "owner_sub = " sub " AND (owner_role <> 'customer') = " staff "::boolean"                \
    " AND attached_at IS NULL"
/* Why each id of the list (ids, text[]) that the statement did not take
 * was refused, in list order, comma-separated ("" for one taken): the
 * uploads looked at are the owner's (sub, staff) only, so another's and
 * none are one answer, unknown_attachment (no existence leak). taken is
 * the condition of an id taken. Codes: sp_attachment_refusals. */
#define WHY_SQL(ids, sub, staff, taken)                                                       \
    "(SELECT string_agg(CASE WHEN " taken " THEN ''"                                          \
    "   WHEN s.id IS NULL THEN 'unknown_attachment'"                                          \
    "   WHEN s.attached_at IS NOT NULL THEN 'attachment_in_use'"                              \
    "   WHEN s.redacted_at IS NOT NULL THEN 'attachment_redacted'"                            \
    "   WHEN s.status = 'infected' THEN 'attachment_infected'"                                \
    "   WHEN s.status = 'failed' THEN 'attachment_scan_failed'"                               \
    "   WHEN s.uploaded_at IS NULL THEN 'attachment_not_uploaded'"                            \
    "   WHEN s.status = 'pending' THEN 'attachment_not_ready'"                                \
    "   ELSE 'unknown_attachment' END, ',' ORDER BY i.ord)"                                   \
    "  FROM unnest(" ids "::text[]) WITH ORDINALITY AS i(id, ord)"                            \
    "  LEFT JOIN support_attachments s ON s.id = i.id AND s.owner_sub = " sub                 \
    "   AND (s.owner_role <> 'customer') = " staff "::boolean)"
#define ATTACH_SQL(link_column, message_table, ready)                                         \
    "WITH a AS (UPDATE support_attachments SET " link_column " = $1::bigint,"                 \
    "   attached_at = now()"                                                                  \
    "  WHERE id = ANY($2::text[]) AND " OWNED_FREE("$3", "$4") " AND " ready                  \
    "  RETURNING id, filename, content_type, size, sha256, status, created_at),"              \
    " j AS (SELECT count(*) AS n, coalesce(jsonb_agg(jsonb_build_object("                     \
    "   'id', id, 'filename', filename, 'content_type', content_type, 'size', size,"          \
    "   'sha256', sha256, 'status', status, 'created_at', support_ts(created_at))"            \
    "   ORDER BY array_position($2::text[], id)), '[]'::jsonb) AS list FROM a),"              \
    " m AS (UPDATE " message_table " SET attachments = j.list FROM j"                         \
    "  WHERE " message_table ".id = $1::bigint RETURNING 1)"                                  \
    " SELECT j.n, j.list::text AS list,"                                                      \
    WHY_SQL("$2", "$3", "$4", "i.id IN (SELECT id FROM a)") " AS why FROM j"

#define CLEAN "status = 'clean' AND uploaded_at IS NOT NULL AND redacted_at IS NULL"
/* What attach_stmt would link, counted and left as it is: only on the
 * way to a 422 (sp_attachments_check). */
static struct sp_stmt usable_stmt = SP_STMT_READ(
    "attachment_usable",
    "SELECT " WHY_SQL("$1", "$2", "$3",
                      "s.attached_at IS NULL AND s.status = 'clean' AND s.uploaded_at IS NOT NULL"
                      " AND s.redacted_at IS NULL"),
    3);
static struct sp_stmt attach_stmt =
    SP_STMT("attachment_attach", ATTACH_SQL("message_id", "support_ticket_messages", CLEAN), 4);
static struct sp_stmt attach_chat_stmt = SP_STMT(
    "attachment_attach_chat", ATTACH_SQL("chat_message_id", "support_chat_messages", CLEAN), 4);
/* A mail's files, kept by us and not yet scanned (in a bucket, not even
 * taken in): the verdict updates the message (domain/attachment_scan). */
static struct sp_stmt attach_unscanned_stmt = SP_STMT(
    "attachment_attach_unscanned",
    ATTACH_SQL("message_id", "support_ticket_messages", "status IN ('pending', 'clean')"), 4);

SP_ROW_READER(read_row, struct sp_attachment, ATTACHMENT_COLUMNS)

const char *
sp_attachment_filename_trim(struct sp_arena *a, const char *name)
{
    const char *b = name, *e = name + strlen(name);
    /* A bidirectional control is refused wherever it stands, at the ends
     * too (docs/API.md §10 Attachment names): trimming it there would
     * take a name the caller meant to show otherwise. */
    size_t n = (size_t)(e - b);
    if (!sp_utf8_valid(name, n) || sp_utf8_any(name, n, sp_utf8_bidi_control))
        return name; /* refused as it is (sp_attachment_filename_ok) */
    sp_utf8_trim_blank(&b, &e);
    return b == name && *e == '\0' ? name : sp_arena_strndup(a, b, (size_t)(e - b));
}

/* Whether the name is blank: nothing but spaces and invisible characters,
 * which messages and mails would list as an empty name. */
static bool
filename_blank(const char *s, size_t n)
{
    const char *b = s, *e = s + n;
    sp_utf8_trim_blank(&b, &e);
    return b == e;
}

/* Whether cp shows as a character of its own, or is part of one: not
 * blank but a variation selector (an emoji's U+FE0F), no format
 * character. */
static bool
visible(uint32_t cp)
{
    return !sp_utf8_format(cp) && (!sp_utf8_blank(cp) || (cp >= 0xfe00 && cp <= 0xfe0f));
}

/* Whether the code point cp at s[i..i+len) of s[0..n) may stand in a
 * name: no control (C0, DEL, C1, the line and paragraph separators), no
 * path separator, and no format character (Cf: bidirectional controls,
 * U+206A, U+FFF9, U+0600, U+180E...), which make a name show otherwise
 * than it is, but ZWJ and ZWNJ between two visible characters, which
 * emoji sequences (a family) and scripts (Persian, the Indic ones) need
 * to be written at all. */
static bool
filename_char_ok(const char *s, size_t n, size_t i, size_t len, uint32_t cp)
{
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
        cp == '/' || cp == '\\')
        return false;
    if (!sp_utf8_format(cp))
        return true;
    if ((cp != 0x200c && cp != 0x200d) || i == 0 || i + len >= n)
        return false;
    size_t prev = sp_utf8_prev(s, i), next_len;
    return visible(sp_utf8_decode(s + prev, i - prev, &next_len)) &&
           visible(sp_utf8_decode(s + i + len, n - i - len, &next_len));
}

/* A name a file system and a Content-Disposition can carry, shown as
 * written: valid UTF-8, not blank, no control or format characters
 * (filename_char_ok), no path separators, not "." or "..". */
bool
sp_attachment_filename_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SP_ATTACHMENT_FILENAME_MAX || !sp_utf8_valid(s, n) ||
        filename_blank(s, n) || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    size_t len;
    for (size_t i = 0; i < n; i += len)
        if (!filename_char_ok(s, n, i, len, sp_utf8_decode(s + i, n - i, &len)))
            return false;
    return true;
}

/* The extensions that name each type of the default list, the usual one
 * first. */
static const struct {
    const char *type;
    const char *ext[4];
} type_exts[] = {
    {"image/png", {"png"}},
    {"image/jpeg", {"jpg", "jpeg", "jpe", "jfif"}},
    {"image/gif", {"gif"}},
    {"image/webp", {"webp"}},
    {"application/pdf", {"pdf"}},
    {"text/plain", {"txt", "text", "log"}},
    {"text/csv", {"csv"}},
};

const char *
sp_attachment_download_name(struct sp_arena *a, const char *filename, const char *type)
{
    const char *dot = strrchr(filename, '.');
    const char *ext = dot != NULL ? dot + 1 : "";
    for (size_t i = 0; i < sizeof(type_exts) / sizeof(type_exts[0]); i++) {
        if (strcmp(type_exts[i].type, type) != 0)
            continue;
        for (size_t k = 0; k < 4 && type_exts[i].ext[k] != NULL; k++)
            if (strcasecmp(ext, type_exts[i].ext[k]) == 0)
                return filename;
        return sp_arena_sprintf(a, "%s.%s", filename, type_exts[i].ext[0]);
    }
    /* Another configured type: its subtype when that reads as an
     * extension ("application/zip": .zip), else the name as given. */
    const char *sub = strchr(type, '/');
    sub = sub != NULL ? sub + 1 : "";
    size_t n = strlen(sub);
    if (n == 0 || n > 8 || strspn(sub, "abcdefghijklmnopqrstuvwxyz0123456789") != n ||
        strcasecmp(ext, sub) == 0)
        return filename;
    return sp_arena_sprintf(a, "%s.%s", filename, sub);
}

const char *
sp_attachment_bucket_type(const char *type)
{
    size_t n = strlen(type);
    bool markup = (strncmp(type, "text/", 5) == 0 && strcmp(type, "text/plain") != 0 &&
                   strcmp(type, "text/csv") != 0) ||
                  strcmp(type, "application/xml") == 0 ||
                  (n > 4 && strcmp(type + n - 4, "+xml") == 0);
    return markup ? "application/octet-stream" : type;
}

/* A declared Content-Type as it is checked, stored and served: the media
 * type "type/subtype" (RFC 9110 §8.3.1: two tokens) lower-cased, since
 * media types are case-insensitive, and its parameters (after ';') and
 * the spaces around it dropped — what is served is then always exactly
 * one of the allowed types, never a charset or anything else a client
 * wrote. NULL when it is no media type (or holds bytes outside printable
 * ASCII). */
static const char *
media_type(struct sp_arena *a, const char *declared)
{
    for (const char *c = declared; *c != '\0'; c++)
        if ((sp_ascii_control(*c) && *c != '\t') || (unsigned char)*c >= 0x7f)
            return NULL;
    const char *t;
    size_t n = sp_media_type_essence(declared, &t);
    if (n == 0)
        return NULL;
    /* The parameters are dropped unread: none of them is kept. */
    const char *rest = t + n + strspn(t + n, " \t");
    if (*rest != '\0' && *rest != ';')
        return NULL;
    char *out = sp_arena_strndup(a, t, n);
    for (char *c = out; *c != '\0'; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    return out;
}

/* Whether declared names a charset other than UTF-8 (or its subset
 * US-ASCII): the file is served with its media type alone, which a
 * client reads as UTF-8 text, so UTF-16 bytes would show garbled (QA). A
 * parameter list that does not parse is dropped unread, as media_type
 * does. */
static bool
foreign_charset(const char *declared)
{
    const char *rest;
    size_t n = sp_media_type_essence(declared, &rest);
    struct sp_media_param prm;
    for (rest += n; sp_media_type_param(&rest, &prm) == SP_MEDIA_PARAM;)
        if (prm.name_len == 7 && strncasecmp(prm.name, "charset", 7) == 0 &&
            !sp_media_param_is(&prm, "utf-8") && !sp_media_param_is(&prm, "us-ascii"))
            return true;
    return false;
}

/* The next type of the comma-separated list at *s (blanks around it
 * dropped): its start, and its length in *len; NULL at the list's end. */
static const char *
next_type(const char **s, size_t *len)
{
    if (*s == NULL || **s == '\0')
        return NULL;
    const char *b = *s + strspn(*s, " ");
    const char *end = strchrnul(b, ',');
    const char *e = end;
    while (e > b && e[-1] == ' ')
        e--;
    *s = *end ? end + 1 : end;
    *len = (size_t)(e - b);
    return b;
}

/* Whether type is one of the comma-separated list (compared without
 * regard to case, as media types are). */
static bool
type_allowed(const char *list, const char *type)
{
    size_t n = strlen(type), len;
    for (const char *t; (t = next_type(&list, &len)) != NULL;)
        if (len == n && strncasecmp(t, type, n) == 0)
            return true;
    return false;
}

/* content_type's message: the allowed types named, so the caller can
 * pick one (msg: SP_PROBLEM_MESSAGE_MAX bytes). */
static const char *
types_message(struct sp_arena *a, const char *list, bool media_type, char *msg)
{
    size_t n = 0, len;
    for (const char *s = list; next_type(&s, &len) != NULL;)
        n++;
    const char **names = sp_arena_calloc(a, n + 1, sizeof(*names));
    n = 0;
    for (const char *s = list, *t; (t = next_type(&s, &len)) != NULL;)
        if (len > 0)
            names[n++] = sp_arena_strndup(a, t, len);
    return sp_problem_list_text(msg, media_type ? "must be one of: "
                                                : "must be a media type, one of: ",
                                names, n);
}

const char *
sp_attachment_check(struct sp_arena *a, const struct sp_attachment_new *in, bool size_given,
                    struct sp_problem *p)
{
    /* The limit is in bytes whatever the characters (QA: 256 ASCII ones
     * were "at most 255 characters", 258 bytes of UTF-8 "1 to 255
     * bytes…", invalid): one code and one message for a name too long. */
    const char *name = in->filename ? sp_attachment_filename_trim(a, in->filename) : NULL;
    if (name != NULL && filename_blank(name, strlen(name)))
        sp_problem_field(p, "filename", "invalid",
                         "must not be blank (only spaces or invisible characters)");
    else if (name != NULL && strlen(name) > SP_ATTACHMENT_FILENAME_MAX)
        sp_problem_fieldf(p, "filename", "too_long",
                          "must be at most %d bytes of UTF-8 (a character outside ASCII takes"
                          " 2 to 4)", SP_ATTACHMENT_FILENAME_MAX);
    else if (name != NULL && !sp_attachment_filename_ok(name))
        sp_problem_field(p, "filename", "invalid",
                         "must be UTF-8 without control or format characters (bidirectional"
                         " ones included, anywhere), / or \\, and not . or ..");
    const char *type = in->content_type ? media_type(a, in->content_type) : NULL;
    if (in->content_type != NULL && (type == NULL || !type_allowed(in->allowed_types, type))) {
        char msg[SP_PROBLEM_MESSAGE_MAX];
        sp_problem_field(p, "content_type", "unsupported_type",
                         types_message(a, in->allowed_types, type != NULL, msg));
        type = NULL;
    } else if (type != NULL && foreign_charset(in->content_type)) {
        sp_problem_field(p, "content_type", "unsupported_type",
                         "must have no charset, or charset=utf-8: files are served as their"
                         " media type alone, read as UTF-8 (convert the text to UTF-8)");
        type = NULL;
    }
    if (size_given && (in->size < 1 || in->size > SP_ATTACHMENT_MAX_BYTES))
        sp_problem_field(p, "size", "out_of_range", SP_ATTACHMENT_SIZE_RANGE);
    return type;
}

enum sp_rc
sp_attachment_create(struct sp_ctx *ctx, const struct sp_attachment_new *in,
                     struct sp_attachment *out, struct sp_problem *p)
{
    const char *type = sp_attachment_check(ctx->arena, in, true, p);
    if (p->nerrors > 0 || type == NULL)
        return sp_problem_set(p, SP_INVALID, "validation_failed", SP_PROBLEM_BODY_DETAIL);
    char id[SP_PUBLIC_ID_LEN + 1];
    sp_public_id(id);
    const char *params[6] = {id, in->owner_sub, in->owner_role,
                             sp_attachment_filename_trim(ctx->arena, in->filename), type,
                             sp_arena_sprintf(ctx->arena, "%lld", in->size)};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &create_stmt, params, p);
    if (r == NULL)
        return p->rc;
    read_row(r, 0, out);
    return SP_OK;
}

enum sp_rc
sp_attachment_get_for(struct sp_ctx *ctx, const char *id, const char *sub, bool agent,
                      struct sp_attachment *out, struct sp_problem *p)
{
    if (!sp_public_id_valid(id))
        return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such attachment");
    const char *params[3] = {id, sub, agent ? "true" : "false"};
    return sp_db_one(ctx->db, ctx->arena, &get_for_stmt, params, "attachment", read_row, out, p);
}

enum sp_rc
sp_attachment_get(struct sp_ctx *ctx, const char *id, struct sp_attachment *out,
                  struct sp_problem *p)
{
    if (!sp_public_id_valid(id))
        return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such attachment");
    const char *params[1] = {id};
    return sp_db_one(ctx->db, ctx->arena, &get_stmt, params, "attachment", read_row, out, p);
}

/* The worker's libmagic handle: loaded on first use, kept for the worker
 * (like its prepared statements). */
static magic_t
magic_handle(void)
{
    static magic_t m;
    if (m != NULL)
        return m;
    magic_t h = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR);
    if (h == NULL || magic_load(h, NULL) != 0) {
        sp_log_msg(SP_LOG_ERROR, "magic_load_failed", "libmagic: %s",
                   h ? magic_error(h) : "out of memory");
        if (h != NULL)
            magic_close(h);
        return NULL;
    }
    size_t max = SNIFF_BYTES;
    magic_setparam(h, MAGIC_PARAM_BYTES_MAX, &max);
    /* libmagic builds its text tests on first use (~9 MB): do it now, in
     * the master, so the workers share them rather than each growing on
     * its first upload. */
    magic_buffer(h, "warm-up\n", 8);
    magic_buffer(h, "\x89PNG\r\n\x1a\n", 8);
    m = h;
    return m;
}

bool
sp_attachment_sniffer_load(void)
{
    return magic_handle() != NULL;
}

static const char *
sniff_fd(struct sp_arena *a, int fd)
{
    magic_t m = magic_handle();
    if (m == NULL)
        return NULL;
    const char *t = magic_descriptor(m, fd);
    return t ? sp_arena_strndup(a, t, strlen(t)) : NULL;
}

const char *
sp_attachment_sniff(struct sp_ctx *ctx, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    const char *t = sniff_fd(ctx->arena, fd);
    close(fd);
    return t;
}

/* Whether libmagic's type for some bytes says they are text of a kind:
 * text/\* (text/html, text/xml, text/x-c, ...) and the textual types it
 * names outside text/ (XML, SVG, JSON, CSV). */
static bool
textual(const char *sniffed)
{
    static const char *const others[] = {"application/csv", "application/json",
                                         "application/xml", "image/svg+xml"};
    if (strncmp(sniffed, "text/", 5) == 0)
        return true;
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        if (strcmp(sniffed, others[i]) == 0)
            return true;
    return false;
}

bool
sp_attachment_type_matches(const char *declared, const char *sniffed)
{
    if (sniffed == NULL)
        return false;
    if (strcmp(declared, sniffed) == 0)
        return true;
    /* libmagic tells text kinds apart by guessing from tokens: a log line
     * naming <script>, a CSV cell "<a href=x>" is "text/html" to it (QA).
     * Any text is acceptable as declared plain text or CSV: it is stored
     * and served as the declared type, as an attachment, with nosniff and
     * a sandboxing CSP (API.md §10), so no browser renders it as markup.
     * Binary bytes under a text type stay refused. */
    bool text_declared = strcmp(declared, "text/plain") == 0 || strcmp(declared, "text/csv") == 0;
    return text_declared && textual(sniffed);
}

/* Whether head[0..len) is UTF-8: the whole file, or its first bytes,
 * which may end inside a character (up to 3 of its bytes). */
static bool
utf8_head(const char *head, size_t len, bool whole)
{
    if (sp_utf8_valid(head, len))
        return true;
    for (size_t cut = 1; !whole && cut <= 3 && cut < len; cut++)
        if (sp_utf8_valid(head, len - cut))
            return true;
    return false;
}

/* Whether UTF-8 head[0..len) is plain text: no NUL or other control
 * (C0 but tab, CR, LF; DEL; C1 U+0080-U+009F, bytes C2 80-C2 9F). */
static bool
plain_text(const char *head, size_t len)
{
    const unsigned char *u = (const unsigned char *)head;
    for (size_t i = 0; i < len; i++) {
        if ((u[i] < 0x20 && u[i] != '\t' && u[i] != '\r' && u[i] != '\n') || u[i] == 0x7f)
            return false;
        if (u[i] == 0xc2 && i + 1 < len && u[i + 1] <= 0x9f)
            return false;
    }
    return true;
}

/* Whether head[0..len) looks like UTF-16 text of Latin letters: NULs in
 * at least half the bytes at even or at odd offsets. */
static bool
utf16_like(const char *head, size_t len)
{
    size_t zeros[2] = {0, 0};
    for (size_t i = 0; i < len; i++)
        zeros[i % 2] += head[i] == '\0';
    return len >= 2 && (zeros[0] * 4 >= len || zeros[1] * 4 >= len);
}

/* Whether libmagic's verdict is that the bytes are binary: a type of its
 * own that is no text (image/png, an executable). Its
 * application/octet-stream says only that it does not know: UTF-16
 * without a BOM is among those, so there NUL-spaced bytes read as text. */
static bool
binary(const char *sniffed, const char *head, size_t len)
{
    if (sniffed == NULL || textual(sniffed))
        return false;
    return strcmp(sniffed, "application/octet-stream") != 0 || !utf16_like(head, len);
}

enum sp_attachment_match
sp_attachment_bytes_match(const char *declared, const char *sniffed, const char *head,
                          size_t len, bool whole)
{
    /* Served as the media type alone, text is read as UTF-8 (API.md §10
     * Attachment types): UTF-16 or Latin-1 would show garbled. Bytes that
     * are no text at all are told so, not to convert them (QA: a PNG
     * declared text/plain was told to convert UTF-16 or Latin-1). */
    if (strncmp(declared, "text/", 5) == 0 && !utf8_head(head, len, whole))
        return binary(sniffed, head, len) ? SP_ATTACHMENT_BINARY : SP_ATTACHMENT_NOT_UTF8;
    if (sp_attachment_type_matches(declared, sniffed))
        return SP_ATTACHMENT_MATCH;
    /* libmagic has no text verdict for a few bytes ("a", "\n": QA saw
     * application/octet-stream): UTF-8 without controls is text. */
    bool text_declared = strcmp(declared, "text/plain") == 0 || strcmp(declared, "text/csv") == 0;
    return text_declared && plain_text(head, len) ? SP_ATTACHMENT_MATCH : SP_ATTACHMENT_MISMATCH;
}

/* Copies src into a new file dst (rename across file systems), in
 * 64 KiB pieces. */
static bool
copy_file(int in, const char *dst)
{
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (out < 0)
        return false;
    static char buf[64 * 1024];
    bool ok = lseek(in, 0, SEEK_SET) == 0;
    for (ssize_t n; ok && (n = read(in, buf, sizeof(buf))) != 0;) {
        if (n < 0) {
            ok = errno == EINTR;
            continue;
        }
        ok = sp_fd_write_all(out, buf, (size_t)n);
    }
    ok = fsync(out) == 0 && ok;
    ok = close(out) == 0 && ok;
    if (!ok)
        unlink(dst);
    return ok;
}

/* Moves the checked upload (open as fd) to dir/key. */
static bool
move_upload(int fd, const char *temp_path, const char *dst)
{
    if (rename(temp_path, dst) == 0) {
        (void)chmod(dst, 0640);  /* nginx's own file: it serves it either way */
        return true;
    }
    if (errno != EXDEV || !copy_file(fd, dst))
        return false;
    unlink(temp_path);
    return true;
}

enum sp_rc
sp_attachment_check_upload(struct sp_ctx *ctx, const struct sp_attachment *a, int fd,
                           char sha[65], struct sp_problem *p)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return sp_problem_set(p, SP_ERROR, "internal", "upload file: %s", strerror(errno));
    if ((long long)st.st_size != a->size)
        return sp_problem_set(p, SP_INVALID, "size_mismatch",
                              "the upload has %lld bytes, the attachment declared %lld",
                              (long long)st.st_size, a->size);
    char *head = sp_arena_alloc(ctx->arena, SNIFF_BYTES);
    ssize_t got = pread(fd, head, SNIFF_BYTES, 0);
    magic_t m = magic_handle();
    const char *type = got > 0 && m != NULL ? magic_buffer(m, head, (size_t)got) : NULL;
    if (type == NULL)
        return sp_problem_set(p, SP_ERROR, "internal", "could not determine the file type");
    switch (sp_attachment_bytes_match(a->content_type, type, head, (size_t)got,
                                      (long long)got == a->size)) {
    case SP_ATTACHMENT_MATCH: break;
    case SP_ATTACHMENT_BINARY:
        return sp_problem_set(p, SP_INVALID, "type_mismatch",
                              "the bytes are not of the declared type %s: they are binary (%s),"
                              " not text", a->content_type, type);
    case SP_ATTACHMENT_NOT_UTF8:
        return sp_problem_set(p, SP_INVALID, "type_mismatch",
                              "the bytes are not of the declared type %s: text must be UTF-8"
                              " (convert UTF-16 or Latin-1 text to UTF-8)", a->content_type);
    default:
        return sp_problem_set(p, SP_INVALID, "type_mismatch",
                              "the bytes are not of the declared type %s", a->content_type);
    }
    if (lseek(fd, 0, SEEK_SET) != 0 || !sp_crypto_sha256_fd(fd, sha))
        return sp_problem_set(p, SP_ERROR, "internal", "could not read the upload");
    return SP_OK;
}

enum sp_rc
sp_attachment_store(struct sp_ctx *ctx, const struct sp_attachment *a, const char *dir,
                    const char *temp_path, struct sp_attachment *out, struct sp_problem *p)
{
    if (a->uploaded)
        return sp_problem_set(p, SP_CONFLICT, "already_uploaded",
                              "this attachment has been uploaded already");
    int fd = open(temp_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sp_problem_set(p, SP_ERROR, "internal", "cannot open the upload: %s",
                              strerror(errno));
    char sha[65];
    enum sp_rc rc = sp_attachment_check_upload(ctx, a, fd, sha, p);
    const struct sp_attachment_files local = {.dir = dir};
    const char *key = sp_attachment_files_stored_key(ctx->arena, &local, a->id);
    const char *dst = sp_arena_sprintf(ctx->arena, "%s/%s", dir, key);
    if (rc == SP_OK && !move_upload(fd, temp_path, dst))
        rc = sp_problem_set(p, SP_ERROR, "internal", "cannot move the upload into %s: %s", dir,
                            strerror(errno));
    close(fd);
    if (rc == SP_OK && sp_attachment_record_upload(ctx, a, sha, key, out, p) != SP_OK) {
        unlink(dst);
        rc = p->rc;
    }
    return rc;
}

const char *
sp_attachment_type_for(struct sp_ctx *ctx, const char *allowed_types, const char *declared,
                       const void *data, size_t len)
{
    magic_t m = magic_handle();
    const char *t = m != NULL ? magic_buffer(m, data, len) : NULL;
    const char *sniffed = t != NULL ? sp_arena_strdup(ctx->arena, t) : NULL;
    if (declared != NULL && type_allowed(allowed_types, declared) &&
        sp_attachment_bytes_match(declared, sniffed, data, len, true) == SP_ATTACHMENT_MATCH)
        return declared;
    return sniffed != NULL && type_allowed(allowed_types, sniffed) &&
                   sp_attachment_bytes_match(sniffed, sniffed, data, len, true) ==
                       SP_ATTACHMENT_MATCH
               ? sniffed
               : NULL;
}

/* Writes len bytes to fd, syncs them and rewinds: the checks read the
 * file from its start. */
static bool
write_file(int fd, const void *data, size_t len)
{
    return sp_fd_write_all(fd, data, len) && fsync(fd) == 0 && lseek(fd, 0, SEEK_SET) == 0;
}

/* Where keep_bytes writes: the file itself in the directory; with a
 * bucket, an unlinked copy in the directory while it is PUT to the
 * incoming key. A file in the directory is readable by all (0644,
 * whatever the umask): nginx's workers serve it and do not own it,
 * unlike the uploads they wrote themselves; the directory (2770
 * www-data:support, docs/operations.md) keeps everybody else out. */
static int
open_kept(struct sp_arena *a, const struct sp_attachment_files *files, const char *key,
          const char **path)
{
    if (files->s3 == NULL) {
        *path = sp_arena_sprintf(a, "%s/%s", files->dir, key);
        int fd = open(*path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0 && fchmod(fd, 0644) != 0) {
            close(fd);
            unlink(*path);
            fd = -1;
        }
        return fd;
    }
    char *tmp = sp_arena_sprintf(a, "%s/mail-XXXXXX", files->dir);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd >= 0)
        unlink(tmp);
    *path = NULL;
    return fd;
}

enum sp_rc
sp_attachment_keep_bytes(struct sp_ctx *ctx, const struct sp_attachment_files *files,
                         const struct sp_attachment_new *in, const void *data, size_t len,
                         struct sp_attachment *out, struct sp_problem *p)
{
    struct sp_attachment_new meta = *in;
    meta.size = (long long)len;
    struct sp_attachment row;
    if (sp_attachment_create(ctx, &meta, &row, p) != SP_OK)
        return p->rc;
    bool bucket = files->s3 != NULL;
    const char *key = bucket ? sp_attachment_files_incoming_key(ctx->arena, files, row.id)
                             : sp_attachment_files_stored_key(ctx->arena, files, row.id);
    const char *path;
    int fd = open_kept(ctx->arena, files, key, &path);
    if (fd < 0)
        return sp_problem_set(p, SP_ERROR, "internal", "cannot write into %s: %s", files->dir,
                              strerror(errno));
    char sha[65], err[256];
    enum sp_rc rc = SP_OK;
    if (!write_file(fd, data, len))
        rc = sp_problem_set(p, SP_ERROR, "internal", "cannot write into %s: %s", files->dir,
                            strerror(errno));
    else if (!bucket)
        rc = sp_attachment_check_upload(ctx, &row, fd, sha, p);
    /* a bucket's upload is a client's: support-scan checks it when it takes it in */
    else if (!sp_attachment_files_put(files, key, fd, row.size, row.content_type, err,
                                      sizeof(err)))
        rc = sp_problem_set(p, SP_ERROR, "internal", "cannot store the file: %s", err);
    close(fd);
    if (rc == SP_OK && bucket) {
        *out = row;
        rc = sp_attachment_look_now(ctx, row.id, p);
    } else if (rc == SP_OK) {
        rc = sp_attachment_record_upload(ctx, &row, sha, key, out, p);
    }
    if (rc != SP_OK && path != NULL)
        unlink(path);
    return rc;
}

enum sp_rc
sp_attachment_look_now(struct sp_ctx *ctx, const char *id, struct sp_problem *p)
{
    const char *params[1] = {id};
    return sp_db_exec(ctx->db, ctx->arena, &look_now_stmt, params, p) != NULL ? SP_OK : p->rc;
}

enum sp_rc
sp_attachment_record_upload(struct sp_ctx *ctx, const struct sp_attachment *a, const char *sha,
                            const char *key, struct sp_attachment *out, struct sp_problem *p)
{
    const char *params[3] = {a->id, sha, key};
    return sp_db_one_or(ctx->db, ctx->arena, &uploaded_stmt, params, SP_CONFLICT,
                        "already_uploaded", "this attachment has been uploaded already", read_row,
                        out, p);
}

static bool
any_id(const char *id)
{
    (void)id;
    return true;   /* whether it names an upload is the lookup's to say */
}

/* An upload listed again is an error of that item, as a tag listed twice
 * is (API.md §1), not an unknown one. The count is the field spec's. */
static const struct sp_list_rule ids_rule = {
    .field = "attachments",
    .max = SIZE_MAX,
    .ok = any_id,
    .items = "attachments",
    .bad_code = "unknown_attachment",
    .bad = "is not an attachment id",
    .duplicate = "lists an attachment already listed (ids are case-insensitive)",
};

/* What each refusal of WHY_SQL tells the caller, who can act on all but
 * the first (another's upload and none are one answer: no leak). */
static const struct {
    const char *code, *message;
} refusals[] = {
    {"unknown_attachment", "is not an upload of yours"},
    {"attachment_in_use", "is attached to a message already (an upload is attached once)"},
    {"attachment_redacted", "was redacted (its file erased) and cannot be attached"},
    {"attachment_infected", "was found infected and cannot be attached"},
    {"attachment_scan_failed", "could not be scanned for viruses; upload the file again"},
    {"attachment_not_uploaded", "has no content yet; upload it first"},
    {"attachment_not_ready", "is still being scanned for viruses; retry shortly"},
};

/* Whether ids[i] repeats an earlier id (reported as a duplicate). */
static bool
repeated(const char *const *ids, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (strcmp(ids[i], ids[j]) == 0)
            return true;
    return false;
}

/* The field errors attachments[i] of why (WHY_SQL's list: one code or ""
 * per id of ids[0..n)); a repeat is left to its duplicate error. Whether
 * any was added. */
static bool
refuse_items(struct sp_ctx *ctx, const char *why, const char *const *ids, size_t n,
             struct sp_problem *p)
{
    bool any = false;
    for (size_t i = 0; i < n && why != NULL; i++) {
        size_t len = strcspn(why, ",");
        for (size_t k = 0; k < sizeof(refusals) / sizeof(refusals[0]) && !repeated(ids, i); k++)
            if (len == strlen(refusals[k].code) && strncmp(why, refusals[k].code, len) == 0) {
                sp_problem_field(p, sp_arena_sprintf(ctx->arena, "attachments[%zu]", i),
                                 refusals[k].code, refusals[k].message);
                any = true;
            }
        why = why[len] == ',' ? why + len + 1 : NULL;
    }
    return any;
}

static void
unknown_attachment(struct sp_problem *p)
{
    sp_problem_field(p, "attachments", "unknown_attachment",
                     "lists an attachment that is not a clean, unattached upload of yours");
}

/* The item a field error of the list is on: i of "attachments[i]", -1 for
 * the list's own. */
static long
item_of(const char *field)
{
    const char *open = strchr(field, '[');
    return open != NULL ? strtol(open + 1, NULL, 10) : -1;
}

/* Orders p's errors from the from-th on by item, stably: the duplicates
 * are found before the lookup's refusals, but the first error must be
 * item 0's (QA: [P,P] listed [1] duplicate before [0]
 * attachment_not_uploaded; the chat error frame's code is the first's). */
static void
sort_items(struct sp_problem *p, size_t from)
{
    for (size_t i = from + 1; i < p->nerrors; i++) {
        struct sp_field_error e = p->errors[i];
        size_t j = i;
        for (; j > from && item_of(p->errors[j - 1].field) > item_of(e.field); j--)
            p->errors[j] = p->errors[j - 1];
        p->errors[j] = e;
    }
}

void
sp_attachments_check(struct sp_ctx *ctx, struct sp_party owner, const char *const *ids,
                     size_t n, struct sp_problem *p)
{
    if (n == 0)
        return;
    size_t from = p->nerrors;
    sp_problem_check_items(p, ctx->arena, &ids_rule, ids, n);
    const char *params[3] = {sp_db_text_array(ctx->arena, ids, n), owner.sub,
                             owner.staff ? "true" : "false"};
    struct sp_problem q;   /* a failed lookup leaves the 422 as it is */
    sp_problem_init(&q);
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &usable_stmt, params, &q);
    if (r != NULL)
        (void)refuse_items(ctx, sp_db_str(r, 0, 0), ids, n, p);
    sort_items(p, from);
}

/* Links ids[0..n) of owner to the message through stmt. */
static enum sp_rc
attach(struct sp_ctx *ctx, struct sp_stmt *stmt, struct sp_party owner,
       const char *const *ids, size_t n, long long message_id, const char **json,
       struct sp_problem *p)
{
    *json = "[]";
    if (n == 0)
        return SP_OK;
    bool any_repeat = false;
    for (size_t i = 1; i < n; i++)
        any_repeat = any_repeat || repeated(ids, i);
    if (any_repeat) {
        /* A repeated id: reported with whatever else the list has wrong
         * (its other ids looked up), as on the way to a 422. */
        sp_attachments_check(ctx, owner, ids, n, p);
        return sp_problem_set(p, SP_INVALID, "validation_failed", SP_PROBLEM_BODY_DETAIL);
    }
    const char *params[4] = {sp_arena_sprintf(ctx->arena, "%lld", message_id),
                             sp_db_text_array(ctx->arena, ids, n), owner.sub,
                             owner.staff ? "true" : "false"};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, stmt, params, p);
    if (r == NULL)
        return p->rc;
    *json = sp_arena_strndup(ctx->arena, sp_db_str(r, 0, 1), strlen(sp_db_str(r, 0, 1)));
    if (sp_db_int(r, 0, 0) == (long long)n)
        return SP_OK;
    /* Each id not taken says why (the caller's transaction rolls back
     * those that were); one taken by a concurrent attach meanwhile is
     * reported by the list as a whole, should the snapshot not tell. */
    if (!refuse_items(ctx, sp_db_str(r, 0, 2), ids, n, p))
        unknown_attachment(p);
    return sp_problem_set(p, SP_INVALID, "validation_failed", SP_PROBLEM_BODY_DETAIL);
}

enum sp_rc
sp_attachments_attach(struct sp_ctx *ctx, struct sp_party owner, const char *const *ids,
                      size_t n, long long message_id, const char **json, struct sp_problem *p)
{
    return attach(ctx, &attach_stmt, owner, ids, n, message_id, json, p);
}

enum sp_rc
sp_attachments_attach_unscanned(struct sp_ctx *ctx, struct sp_party owner,
                                const char *const *ids, size_t n, long long message_id,
                                const char **json, struct sp_problem *p)
{
    return attach(ctx, &attach_unscanned_stmt, owner, ids, n, message_id, json, p);
}

enum sp_rc
sp_attachments_attach_chat(struct sp_ctx *ctx, struct sp_party owner, const char *const *ids,
                           size_t n, long long chat_message_id, const char **json,
                           struct sp_problem *p)
{
    return attach(ctx, &attach_chat_stmt, owner, ids, n, chat_message_id, json, p);
}

/* The chat's attachments follow its transcript: every attachment of the
 * session's messages (chat order, then each message's own order) is
 * linked to the ticket message too and listed in it, after the files the
 * message has already (the customer's own, on a create naming the chat). */
static struct sp_stmt follow_stmt = SP_STMT(
    "attachment_follow_chat",
    "WITH l AS (SELECT x.e, m.id AS mid, x.ord FROM support_chat_messages m,"
    "   jsonb_array_elements(m.attachments) WITH ORDINALITY AS x(e, ord)"
    "  WHERE m.session_id = $1::bigint),"
    " a AS (UPDATE support_attachments SET message_id = $2::bigint"
    "  WHERE id IN (SELECT e->>'id' FROM l) AND message_id IS NULL RETURNING id),"
    " j AS (SELECT coalesce(jsonb_agg(e ORDER BY mid, ord), '[]'::jsonb) AS list FROM l),"
    " m AS (UPDATE support_ticket_messages"
    "  SET attachments = support_ticket_messages.attachments || j.list FROM j"
    "  WHERE support_ticket_messages.id = $2::bigint RETURNING support_ticket_messages.attachments)"
    " SELECT coalesce((SELECT attachments FROM m), j.list)::text FROM j",
    2);

enum sp_rc
sp_attachments_follow_chat(struct sp_ctx *ctx, long long session_id, long long message_id,
                           const char **json, struct sp_problem *p)
{
    const char *params[2] = {sp_arena_sprintf(ctx->arena, "%lld", session_id),
                             sp_arena_sprintf(ctx->arena, "%lld", message_id)};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &follow_stmt, params, p);
    if (r == NULL)
        return p->rc;
    *json = sp_arena_strndup(ctx->arena, sp_db_str(r, 0, 0), strlen(sp_db_str(r, 0, 0)));
    return SP_OK;
}
